//! An API key's `permittedIP` and `permittedReferer` restrictions, parsed once per key.

use std::net::IpAddr;

use http::HeaderValue;
use ipnet::IpNet;

use crate::rejection::TokenError;

/// `permittedIP`: addresses and CIDR ranges, IPv4 or IPv6. Empty: every address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermittedIps(Box<[IpNet]>);

/// `permittedReferer`: patterns where `*` stands for any run of characters. Empty: every
/// request, with or without a `Referer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermittedReferers(Box<[Box<str>]>);

// === impl PermittedIps ===

impl PermittedIps {
    /// Comma-separated entries, each an address (`10.0.0.7`, `::1`) or a range
    /// (`10.0.0.0/8`, `2001:db8::/32`); blanks around entries and empty entries are ignored.
    /// Anything else is [`TokenError::MalformedClaims`].
    pub fn parse(list: &str) -> Result<Self, TokenError> {
        let entries = list.split(',').map(str::trim).filter(|entry| !entry.is_empty());
        entries.map(entry).collect::<Result<_, _>>().map(PermittedIps)
    }

    /// Whether `ip` is allowed: the list is empty or an entry contains it. An IPv4 address
    /// seen as IPv4-mapped IPv6 (a dual-stack listener) is compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.is_empty() || self.0.iter().any(|net| net.contains(&ip))
    }
}

fn entry(text: &str) -> Result<IpNet, TokenError> {
    match text.contains('/') {
        true => text.parse::<IpNet>().map_err(|_| TokenError::MalformedClaims),
        false => text.parse::<IpAddr>().map(IpNet::from).map_err(|_| TokenError::MalformedClaims),
    }
}

// === impl PermittedReferers ===

impl PermittedReferers {
    /// Comma-separated patterns; blanks around them and empty ones are ignored.
    pub fn parse(list: &str) -> Self {
        let patterns = list.split(',').map(str::trim).filter(|pattern| !pattern.is_empty());
        PermittedReferers(patterns.map(Box::from).collect())
    }

    /// Whether a request with this `Referer` is allowed: no patterns, or the header is present
    /// and matches one of them whole (case-sensitively).
    pub fn admit(&self, referer: Option<&HeaderValue>) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let referer = referer.and_then(|value| std::str::from_utf8(value.as_bytes()).ok());
        referer.is_some_and(|referer| self.0.iter().any(|pattern| wildcard_match(pattern, referer)))
    }
}

/// Whether `text` matches `pattern` whole, `*` matching any run of characters (none too).
///
/// Hand-written rather than a glob or regex crate: `*` is the only metacharacter, and this
/// greedy matcher with one backtrack point runs in O(pattern × text) at worst, so a hostile
/// pattern or header cannot blow up the way a backtracking regex could.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                resume = Some((p + 1, t));
                p += 1;
            }
            Some(&byte) if byte == text[t] => (p, t) = (p + 1, t + 1),
            Some(_) | None => match resume {
                Some((after_star, from)) => (p, t, resume) = (after_star, from + 1, Some((after_star, from + 1))),
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn addresses_and_ranges_of_both_families() {
        let permitted = PermittedIps::parse(" 127.0.0.2 , 10.0.0.0/8,2001:db8::/32,::1,").unwrap_or_default();
        for allowed in ["127.0.0.2", "10.255.0.1", "2001:db8::7", "::1", "::ffff:10.1.2.3"] {
            assert!(permitted.contains(ip(allowed)), "{allowed}");
        }
        for refused in ["127.0.0.1", "11.0.0.1", "2001:db9::1", "::2", "::ffff:127.0.0.1"] {
            assert!(!permitted.contains(ip(refused)), "{refused}");
        }
        assert!(PermittedIps::parse("").is_ok_and(|empty| empty.contains(IpAddr::V6(Ipv6Addr::LOCALHOST))));
        let host_bits = PermittedIps::parse("192.168.1.77/24").unwrap_or_default();
        assert!(host_bits.contains(ip("192.168.1.3")), "a range with host bits set is its network");
    }

    #[test]
    fn garbage_entries_are_malformed_claims() {
        for garbage in ["localhost", "10.0.0.0/33", "10.0.0", "1.2.3.4/", "::1/129", "10.0.0.1-10.0.0.9", "*"] {
            assert_eq!(PermittedIps::parse(garbage), Err(TokenError::MalformedClaims), "{garbage}");
            let among_good = format!("127.0.0.1, {garbage}");
            assert_eq!(PermittedIps::parse(&among_good), Err(TokenError::MalformedClaims), "{among_good}");
        }
    }

    #[test]
    fn wildcards_match_any_run_and_the_whole_header() {
        let cases = [
            ("https://app.example.com/*", "https://app.example.com/page?x=1", true),
            ("https://app.example.com/*", "https://app.example.com/", true),
            ("https://app.example.com/*", "https://app.example.com", false),
            ("*.example.com/*", "https://shop.example.com/a", true),
            ("*.example.com/*", "https://example.org/.example.com/", true),
            ("https://app.example.com", "https://app.example.com/", false),
            ("https://app.example.com", "https://APP.example.com", false),
            ("*", "", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("**a", "a", true),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, matches) in cases {
            assert_eq!(wildcard_match(pattern, text), matches, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn a_restricted_key_needs_a_matching_referer() {
        let referers = PermittedReferers::parse("https://a.example/*, https://b.example/*");
        let header = |text: &'static str| HeaderValue::from_static(text);
        assert!(referers.admit(Some(&header("https://b.example/x"))));
        assert!(!referers.admit(Some(&header("https://c.example/x"))));
        assert!(!referers.admit(None), "no Referer");
        assert!(PermittedReferers::parse(" , ").admit(None), "no patterns: anything");
        let binary = HeaderValue::from_bytes(b"https://a.example/\xff").unwrap_or(header("x"));
        assert!(!referers.admit(Some(&binary)), "not UTF-8: no match");
    }

    #[test]
    fn a_pathological_pattern_stays_linear_enough() {
        let pattern = "*a".repeat(200);
        let text = "a".repeat(4_000) + "b";
        assert!(!wildcard_match(&pattern, &text));
    }
}
