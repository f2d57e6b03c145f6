//! API-key claim parsing on arbitrary claims must never panic: `ApiKeyGrant::from_claims`
//! (the `application`, `keytype`, `subscribedAPIs`, `permittedIP` and `permittedReferer`
//! claims), then the per-request decision on an Api, from an IPv4 and an IPv6 client, with and
//! without a `Referer`. The `permittedIP` and `permittedReferer` parsers are also fed the raw
//! input directly.
//!
//! The input is the claims JSON; it is wrapped in a token with a fixed RS256 header, so that
//! the fuzzer works on the JSON and the claims rather than on base64.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use tollgate_enforcer::token::{ApiKeyGrant, PermittedIps, PermittedReferers, parse_unverified};
use tollgate_enforcer::{ApiGuard, SecuritySchemes};

/// `{"alg":"RS256"}`.
const HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";

fuzz_target!(|data: &[u8]| {
    let token = format!("{HEADER}.{}.c2ln", URL_SAFE_NO_PAD.encode(data));
    if let Ok(parsed) = parse_unverified(&token)
        && let Ok(grant) = ApiKeyGrant::from_claims(parsed.claims())
    {
        decide(&grant);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(ips) = PermittedIps::parse(text) {
            let _ = (ips.contains(IpAddr::V4(Ipv4Addr::LOCALHOST)), ips.contains(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        }
        let referers = PermittedReferers::parse(text);
        let _ = referers.admit(HeaderValue::from_str(text).ok().as_ref());
    }
});

fn decide(grant: &ApiKeyGrant) {
    let api = ApiGuard {
        id: "pizza".into(),
        name: "PizzaShackAPI".into(),
        version: "1.0.0".into(),
        blocked: false,
        throttling_policy: None,
        schemes: SecuritySchemes::API_KEY,
        base_paths: Box::new([Arc::from("/pizzashack/1.0.0"), Arc::from("/pizzashack")]),
        client_certificates: Default::default(),
    };
    let referer = HeaderValue::from_static("https://shop.example/cart");
    for ip in [IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), IpAddr::V6(Ipv6Addr::LOCALHOST)] {
        let _ = grant.admit(&api, ip, Some(&referer));
        let _ = grant.admit(&api, ip, None);
    }
}
