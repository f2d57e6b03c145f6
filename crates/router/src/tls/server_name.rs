//! Configured SNI names, parsed once at load.

use std::fmt;
use std::net::IpAddr;

use rustls_pki_types::DnsName;

use super::TlsError;

/// A server name a certificate is served for, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SniName {
    /// Matches exactly this name.
    Exact(Box<str>),
    /// `*.{suffix}`: matches one label followed by `.{suffix}`, not `suffix` itself nor deeper names.
    Wildcard(Box<str>),
}

// === impl SniName ===

impl SniName {
    pub(crate) fn parse(raw: &str) -> Result<SniName, TlsError> {
        let bad = |reason| TlsError::BadServerName { name: raw.to_owned(), reason };
        if raw.parse::<IpAddr>().is_ok() {
            return Err(bad("an IP address; clients never send one as SNI, so it is served the default certificate"));
        }
        if raw.ends_with('.') {
            return Err(bad("trailing dot; SNI names are sent without one"));
        }
        let name = raw.to_ascii_lowercase();
        match name.strip_prefix("*.") {
            Some(suffix) if !suffix.contains('.') => Err(bad("a wildcard needs at least two labels after `*.`")),
            Some(suffix) => dns_name(suffix).map(SniName::Wildcard).ok_or_else(|| bad("not a DNS name")),
            None => dns_name(&name).map(SniName::Exact).ok_or_else(|| bad("not a DNS name")),
        }
    }

    /// Whether a certificate naming `san` (a dNSName from its subjectAltName) covers this name.
    pub(crate) fn covered_by(&self, san: &str) -> bool {
        let san = san.to_ascii_lowercase();
        match (self, san.strip_prefix("*.")) {
            (SniName::Exact(name), None) => **name == *san,
            (SniName::Exact(name), Some(san_suffix)) => parent(name) == Some(san_suffix),
            (SniName::Wildcard(suffix), Some(san_suffix)) => **suffix == *san_suffix,
            (SniName::Wildcard(_), None) => false,
        }
    }
}

impl fmt::Display for SniName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SniName::Exact(name) => f.write_str(name),
            SniName::Wildcard(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

/// `name` without its leftmost label: the key a `*.` wildcard covering `name` is stored under.
pub(crate) fn parent(name: &str) -> Option<&str> {
    name.split_once('.').map(|(_, rest)| rest)
}

fn dns_name(name: &str) -> Option<Box<str>> {
    DnsName::try_from(name).ok().map(|_| name.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(name: &str) -> SniName {
        SniName::Exact(name.into())
    }

    #[test]
    fn parses_exact_names_lowercased() {
        assert_eq!(SniName::parse("API.Example.com").ok(), Some(exact("api.example.com")));
        assert_eq!(SniName::parse("localhost").ok(), Some(exact("localhost")));
    }

    #[test]
    fn parses_wildcards() {
        assert_eq!(SniName::parse("*.Example.com").ok(), Some(SniName::Wildcard("example.com".into())));
        assert_eq!(SniName::parse("*.example.com").map(|n| n.to_string()).ok().as_deref(), Some("*.example.com"));
    }

    #[test]
    fn rejects_what_sni_never_carries() {
        for raw in ["", "127.0.0.1", "::1", "example.com.", "*.com", "a.*.example.com", "*", "bad name", "x_.-"] {
            assert!(matches!(SniName::parse(raw), Err(TlsError::BadServerName { .. })), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn coverage_follows_certificate_wildcard_rules() {
        let name = exact("a.example.com");
        assert!(name.covered_by("A.example.com"));
        assert!(name.covered_by("*.example.com"));
        assert!(!name.covered_by("*.a.example.com"));
        assert!(!name.covered_by("b.example.com"));
        let wildcard = SniName::Wildcard("example.com".into());
        assert!(wildcard.covered_by("*.example.com"));
        assert!(!wildcard.covered_by("a.example.com"));
    }
}
