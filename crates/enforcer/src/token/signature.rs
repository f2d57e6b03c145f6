//! The canonical form of a JWS signature, in which revocation compares signatures
//! (model.md, "RevokedToken"): one spelling per signature, so that a revoked token cannot come
//! back under another one.
//!
//! Spellings that denote the same signature:
//! - base64url with or without `=` padding, and with non-zero unused bits in the last
//!   character (both decode to the same bytes);
//! - for ECDSA, `(r, s)` and `(r, n - s)`: both verify over the same content, and anyone holding
//!   a token can compute the second offline. The canonical form is the low-S one
//!   (`s <= (n - 1) / 2`, as in Bitcoin's BIP 62 and `ecdsa::Signature::normalize_s`).
//!
//! Where it is computed: once per revocation entry when the snapshot's
//! [`Revocations`](crate::Revocations) index is built, and once per verified token (kept in
//! the verified-token cache with it); never per request.
//!
//! A revocation entry does not name its algorithm, so the curve is told by the length of the
//! decoded signature: 64 bytes are P-256 (ES256), 96 bytes P-384 (ES384); JWS encodes `r || s`
//! at fixed width (RFC 7518 §3.4) and no RSA signature is that short. An Ed25519 signature is
//! also 64 bytes and is folded the same way: that can only merge it with a signature sharing
//! its `R`, which no one without the signing key can make, and a merge can only refuse a
//! token, never admit one.

use std::sync::Arc;

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use p256::elliptic_curve::ff::PrimeField;
use p256::elliptic_curve::scalar::IsHigh;
use p256::elliptic_curve::{CurveArithmetic, FieldBytes};

/// A JWS signature (a token's third part) in canonical form: base64url without padding of the
/// decoded bytes, the ECDSA ones in low-S form. Equal for every spelling of one signature.
///
/// A spelling that is not base64url at all is kept verbatim: it can never equal the canonical
/// form of a decodable one (those always decode), and no token with such a third part parses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalSignature(Arc<str>);

/// Base64url that accepts what a strict decoder refuses but still means the same bytes:
/// padding or none, and non-zero unused bits in the last character.
const LENIENT_BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decoded lengths of `r || s` (RFC 7518 §3.4).
const P256_SIGNATURE_LEN: usize = 64;
const P384_SIGNATURE_LEN: usize = 96;

// === impl CanonicalSignature ===

impl CanonicalSignature {
    /// The canonical form of `spelling`, a signature as a token or a revocation entry spells it.
    /// Pure, total and idempotent: `new(new(x).as_str()) == new(x)`.
    pub fn new(spelling: &str) -> Self {
        match LENIENT_BASE64URL.decode(spelling) {
            Ok(mut bytes) => {
                lower_ecdsa_s(&mut bytes);
                CanonicalSignature(URL_SAFE_NO_PAD.encode(bytes).into())
            }
            Err(_) => CanonicalSignature(spelling.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_inner(self) -> Arc<str> {
        self.0
    }
}

/// Replaces a high `s` by `n - s` in place when `signature` has the length of an ES256 or
/// ES384 signature; anything else is left as it is.
fn lower_ecdsa_s(signature: &mut [u8]) {
    match signature.len() {
        P256_SIGNATURE_LEN => lower_s::<p256::NistP256>(signature),
        P384_SIGNATURE_LEN => lower_s::<p384::NistP384>(signature),
        _ => {}
    }
}

/// The curve arithmetic is RustCrypto's (`p256`/`p384`): aws-lc-rs, which verifies the
/// signatures, exposes no scalar arithmetic. An `s` that is not below the curve order is no
/// valid signature and is left unchanged.
fn lower_s<C: CurveArithmetic>(signature: &mut [u8]) {
    let (_, s) = signature.split_at_mut(signature.len() / 2);
    let Some(repr) = FieldBytes::<C>::from_exact_iter(s.iter().copied()) else { return };
    let Some(scalar) = Option::<C::Scalar>::from(C::Scalar::from_repr(repr)) else { return };
    if bool::from(scalar.is_high()) {
        s.copy_from_slice(&(-scalar).to_repr());
    }
}

#[cfg(test)]
mod tests {
    use p256::elliptic_curve::ops::Reduce;

    use super::*;

    /// `r || s` with `s` = `value` reduced mod the curve order, and its twin `r || n - s`.
    fn p256_pair(value: u8) -> (Vec<u8>, Vec<u8>) {
        let s = <p256::Scalar as Reduce<p256::U256>>::reduce_bytes(p256::FieldBytes::from_slice(&[value; 32]));
        let signature = |s: p256::Scalar| [[7u8; 32].as_slice(), s.to_repr().as_slice()].concat();
        (signature(s), signature(-s))
    }

    fn p384_pair(value: u8) -> (Vec<u8>, Vec<u8>) {
        let s = <p384::Scalar as Reduce<p384::U384>>::reduce_bytes(p384::FieldBytes::from_slice(&[value; 48]));
        let signature = |s: p384::Scalar| [[7u8; 48].as_slice(), s.to_repr().as_slice()].concat();
        (signature(s), signature(-s))
    }

    fn canonical(bytes: &[u8]) -> CanonicalSignature {
        CanonicalSignature::new(&URL_SAFE_NO_PAD.encode(bytes))
    }

    #[test]
    fn an_ecdsa_signature_and_its_high_s_twin_are_one() {
        for (signature, twin) in [p256_pair(0x11), p256_pair(0xee), p384_pair(0x11), p384_pair(0xee)] {
            assert_ne!(signature, twin);
            assert_eq!(canonical(&signature), canonical(&twin), "{} bytes", signature.len());
        }
        let (low, high) = p256_pair(0x11);
        assert_eq!(canonical(&high).as_str(), URL_SAFE_NO_PAD.encode(&low), "the low-S form is kept");
    }

    #[test]
    fn padding_and_unused_bits_do_not_make_another_signature() {
        let (signature, _) = p256_pair(0x42);
        let plain = URL_SAFE_NO_PAD.encode(&signature);
        let padded = format!("{plain}==");
        let last = plain.as_bytes()[plain.len() - 1];
        assert!(b"AQgw".contains(&last), "86 characters for 64 bytes: the last one's 4 low bits are unused");
        let noisy = format!("{}{}", &plain[..plain.len() - 1], char::from(last + 1));
        for spelling in [padded.as_str(), noisy.as_str()] {
            assert_eq!(CanonicalSignature::new(spelling), CanonicalSignature::new(&plain), "{spelling}");
        }
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        let (_, high) = p384_pair(0xee);
        let rsa_sized = URL_SAFE_NO_PAD.encode([0xab; 256]);
        for spelling in [URL_SAFE_NO_PAD.encode(&high), rsa_sized, "not base64!".to_owned(), String::new()] {
            let once = CanonicalSignature::new(&spelling);
            assert_eq!(CanonicalSignature::new(once.as_str()), once, "{spelling}");
        }
    }

    #[test]
    fn what_is_no_ecdsa_signature_keeps_its_bytes() {
        let rsa_sized = URL_SAFE_NO_PAD.encode([0xff; 256]);
        assert_eq!(CanonicalSignature::new(&rsa_sized).as_str(), rsa_sized);
        let s_above_the_order = URL_SAFE_NO_PAD.encode([0xff; 64]);
        assert_eq!(CanonicalSignature::new(&s_above_the_order).as_str(), s_above_the_order);
        assert_eq!(CanonicalSignature::new("a+b/").as_str(), "a+b/", "not base64url: verbatim");
    }
}
