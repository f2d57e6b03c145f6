//! The canonical form revocation compares signatures in (model.md, "RevokedToken"), on
//! arbitrary input:
//! - it never panics and is a fixed point: canonicalising a canonical form changes nothing;
//! - every spelling of one signature has one canonical form: padded, with the unused bits of
//!   the last character set, and, for ES256/ES384-sized input, the ECDSA twin `(r, n - s)`;
//! - the canonical form of ES256/ES384-sized input is the low-S one.
//!
//! The input is tried as a spelling (text) and as the bytes of a signature; the second byte
//! picks P-256 (64 bytes) or P-384 (96 bytes) for the twin, so the fuzzer need not find lengths.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use p256::elliptic_curve::ff::PrimeField;
use p256::elliptic_curve::scalar::IsHigh;
use p256::elliptic_curve::{CurveArithmetic, FieldBytes};
use tollgate_enforcer::token::CanonicalSignature;

fuzz_target!(|data: &[u8]| {
    if let Ok(spelling) = std::str::from_utf8(data) {
        assert_fixed_point(spelling);
    }
    let Some((&selector, bytes)) = data.split_first() else { return };
    let len = if selector & 1 == 0 { 64 } else { 96 };
    let signature: Vec<u8> = bytes.iter().copied().cycle().take(len).collect();
    assert_spellings_agree(&signature);
    if signature.len() == len {
        match len {
            64 => assert_twin_agrees::<p256::NistP256>(&signature),
            _ => assert_twin_agrees::<p384::NistP384>(&signature),
        }
    }
});

fn assert_fixed_point(spelling: &str) {
    let once = CanonicalSignature::new(spelling);
    assert_eq!(CanonicalSignature::new(once.as_str()), once, "{spelling:?}");
}

/// Padding and the unused bits of the last character do not make another signature.
fn assert_spellings_agree(signature: &[u8]) {
    let plain = URL_SAFE_NO_PAD.encode(signature);
    let canonical = CanonicalSignature::new(&plain);
    assert_fixed_point(&plain);
    let padding = "=".repeat((4 - plain.len() % 4) % 4);
    assert_eq!(CanonicalSignature::new(&format!("{plain}{padding}")), canonical, "padded");
    if let Some(noisy) = with_unused_bits_set(&plain) {
        assert_eq!(CanonicalSignature::new(&noisy), canonical, "unused bits");
    }
}

/// `(r, s)` and `(r, n - s)` have one canonical form, and it is the low-S one.
fn assert_twin_agrees<C: CurveArithmetic>(signature: &[u8]) {
    let (r, s) = signature.split_at(signature.len() / 2);
    let Some(repr) = FieldBytes::<C>::from_exact_iter(s.iter().copied()) else { return };
    let Some(scalar) = Option::<C::Scalar>::from(C::Scalar::from_repr(repr)) else { return };
    let twin = [r, (-scalar).to_repr().as_slice()].concat();
    let canonical = CanonicalSignature::new(&URL_SAFE_NO_PAD.encode(signature));
    assert_eq!(CanonicalSignature::new(&URL_SAFE_NO_PAD.encode(&twin)), canonical, "twin");
    let low = if bool::from(scalar.is_high()) { twin } else { signature.to_vec() };
    assert_eq!(canonical.as_str(), URL_SAFE_NO_PAD.encode(low), "low-S");
}

/// `plain` with the last character's unused low bits set, when it has any.
fn with_unused_bits_set(plain: &str) -> Option<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused_mask = match plain.len() % 4 {
        2 => 0b1111,
        3 => 0b11,
        _ => return None,
    };
    let (head, last) = plain.split_at(plain.len() - 1);
    let value = ALPHABET.iter().position(|c| last.as_bytes() == [*c])?;
    Some(format!("{head}{}", char::from(ALPHABET[value | unused_mask])))
}
