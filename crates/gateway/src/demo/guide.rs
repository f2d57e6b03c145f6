//! What `tollgate demo` prints once the gateway is ready: copy-paste `curl` commands.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use super::issuer::TOKEN_LIFETIME_SECONDS;

/// The first line of the guide.
pub const GUIDE_START: &str = "== tollgate demo: the gateway is ready ==";
/// The last line of the guide.
pub const GUIDE_END: &str = "== stop the demo with Ctrl-C ==";
/// Requests sent by the throttling example: more than the sample subscription policy
/// (DemoFivePerMinute) admits in a minute, so the last ones are 429.
const BURST: u32 = 8;
/// A path of the sample API (config/apis/petstore.yaml).
const PETS: &str = "/petstore/1.0.0/pets";

/// The commands, with every address and the CA file filled in.
#[derive(Debug, Clone)]
pub struct Guide {
    apis: String,
    https: String,
    admin: String,
    issuer: String,
    cacert: String,
    token: String,
}

// === impl Guide ===

impl Guide {
    pub fn new(apis: &Path, https: SocketAddr, admin: SocketAddr, issuer: &str, cacert: &Path, token: String) -> Self {
        Guide {
            apis: apis.display().to_string(),
            https: format!("https://{}", reachable(https)),
            admin: format!("http://{}", reachable(admin)),
            issuer: issuer.to_owned(),
            cacert: shell_quote(&cacert.to_string_lossy()),
            token,
        }
    }

    fn curl(&self, flags: &str, authorized: bool) -> String {
        let auth = if authorized { format!(" -H 'Authorization: Bearer {}'", self.token) } else { String::new() };
        format!("curl {flags} --cacert {}{auth} {}{PETS}", self.cacert, self.https)
    }
}

impl fmt::Display for Guide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = TOKEN_LIFETIME_SECONDS / 60;
        writeln!(f, "{GUIDE_START}")?;
        writeln!(f, "The APIs in {} are served at {}; the sample one at {}{PETS}.", self.apis, self.https, self.https)?;
        writeln!(f, "\n# 1. Without a token: 401 (code 900902)")?;
        writeln!(f, "{}", self.curl("-sS -i", false))?;
        writeln!(
            f,
            "\n# 2. With a token of the demo issuer (ES256, valid {minutes} minutes): 200 from the echo upstream"
        )?;
        writeln!(f, "{}", self.curl("-sS -i", true))?;
        writeln!(f, "\n# 3. Past the subscription's limit (DemoFivePerMinute: 5 a minute): 429 (code 900804)")?;
        writeln!(f, "for i in $(seq {BURST}); do {}; done", self.curl("-sS -o /dev/null -w '%{http_code}\\n'", true))?;
        writeln!(f, "\n# 4. Prometheus metrics, then the running configuration")?;
        writeln!(f, "curl -sS {}/metrics", self.admin)?;
        writeln!(f, "curl -sS {}/config", self.admin)?;
        writeln!(f, "\n# A fresh token: curl -sS {}/token   (JWKS: {}/jwks)", self.issuer, self.issuer)?;
        writeln!(f, "{GUIDE_END}")
    }
}

/// An address a local client can connect to: the wildcard becomes loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        ip if !ip.is_unspecified() => addr,
        std::net::IpAddr::V4(_) => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        std::net::IpAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
    }
}

/// `text` as one POSIX shell word.
fn shell_quote(text: &str) -> String {
    let plain = text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+:".contains(&b));
    match plain && !text.is_empty() {
        true => text.to_owned(),
        false => format!("'{}'", text.replace('\'', "'\\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_become_loopback_and_paths_are_quoted() {
        let any = SocketAddr::from(([0, 0, 0, 0], 8443));
        let guide = Guide::new(
            Path::new("apis"),
            any,
            any,
            "http://127.0.0.1:9081",
            Path::new("/tmp/a b/ca.pem"),
            "t0k".into(),
        );
        let text = guide.to_string();
        assert!(
            text.contains("curl -sS -i --cacert '/tmp/a b/ca.pem' https://127.0.0.1:8443/petstore/1.0.0/pets"),
            "{text}"
        );
        assert!(text.contains("-H 'Authorization: Bearer t0k'"), "{text}");
        assert!(text.starts_with(GUIDE_START) && text.trim_end().ends_with(GUIDE_END), "{text}");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
