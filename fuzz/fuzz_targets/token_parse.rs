//! Token parsing on arbitrary input must never panic: `parse_unverified` and every claims
//! accessor the authenticator uses.
//!
//! The input is tried twice: as a compact token, and as `header JSON 0xFF claims JSON 0xFF
//! signature` whose JSON parts are base64url-encoded here, so that the fuzzer reaches the
//! JSON and claim handling without having to discover base64 first.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tollgate_enforcer::token::parse_unverified;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        exercise(text);
    }
    let mut parts = data.splitn(3, |byte| *byte == 0xff);
    let (header, claims, signature) = (parts.next().unwrap_or_default(), parts.next(), parts.next());
    if let (Some(claims), Some(signature)) = (claims, signature) {
        let signature = String::from_utf8_lossy(signature);
        exercise(&format!("{}.{}.{signature}", base64url(header), base64url(claims)));
    }
});

fn exercise(token: &str) {
    let Ok(parsed) = parse_unverified(token) else { return };
    let claims = parsed.claims();
    let _ = (parsed.algorithm(), parsed.kid(), claims.issuer(), claims.subject(), claims.token_id());
    let _ = (claims.has_audience(&["api://a".into()]), claims.has_audience(&[]));
    let _ = (claims.consumer_key("azp"), claims.scopes("scope"), claims.scopes("scp"));
    if let Ok(lifetime) = claims.lifetime() {
        let _ = lifetime.check(0, Duration::ZERO);
        let _ = lifetime.check(u64::MAX, Duration::MAX);
    }
}

/// Base64url without padding (RFC 4648 §5), written out to keep the fuzz crate's
/// dependencies as they are.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, byte)| n | (u32::from(*byte) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}
