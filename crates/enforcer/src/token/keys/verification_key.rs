use std::fmt;

use jsonwebtoken::{DecodingKey, DecodingKeyKind};

use crate::model::Algorithm;
use crate::rejection::TokenError;
use crate::token::parsed::ParsedToken;

/// What a public key is, which decides the algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// `kty: RSA`: RS256/384/512 and PS256/384/512.
    Rsa,
    /// `kty: EC, crv: P-256`: ES256.
    P256,
    /// `kty: EC, crv: P-384`: ES384.
    P384,
    /// `kty: OKP, crv: Ed25519`: EdDSA.
    Ed25519,
}

/// A public key ready to verify signatures, decoded once when its JWKS or PEM was read.
pub(crate) struct VerificationKey {
    kid: Option<Box<str>>,
    kind: KeyKind,
    /// The JWK's own `alg`: when set, it is the only algorithm this key verifies.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

/// Why a published key cannot be used; the key is skipped, the rest of its set still serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("unsupported key type {0:?}")]
    UnsupportedKeyType(String),
    #[error("unsupported curve {0:?}")]
    UnsupportedCurve(String),
    #[error("unsupported or mismatched algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    #[error("the key is not for signatures (use or key_ops)")]
    NotForSignatures,
    #[error("missing or badly encoded field {0}")]
    BadField(&'static str),
    #[error("RSA modulus of {0} bits (2048 to 8192 are accepted) or bad exponent")]
    BadRsaKey(usize),
    #[error("EC point of the wrong size or not uncompressed")]
    BadEcPoint,
    #[error("Ed25519 key of the wrong size")]
    BadEd25519Key,
    #[error("not a PEM public key or certificate: {0}")]
    BadPem(&'static str),
}

const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

// === impl KeyKind ===

impl KeyKind {
    /// Whether this kind of key can verify `alg` (RFC 7518 §3.1, RFC 8037).
    pub(crate) fn verifies(self, alg: Algorithm) -> bool {
        match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => self == KeyKind::Rsa,
            Algorithm::ES256 => self == KeyKind::P256,
            Algorithm::ES384 => self == KeyKind::P384,
            Algorithm::EdDSA => self == KeyKind::Ed25519,
        }
    }

    /// The length of one coordinate of an EC point, for the EC kinds.
    fn coordinate_len(self) -> Option<usize> {
        match self {
            KeyKind::P256 => Some(32),
            KeyKind::P384 => Some(48),
            KeyKind::Rsa | KeyKind::Ed25519 => None,
        }
    }
}

// === impl VerificationKey ===

impl VerificationKey {
    /// An RSA key from its big-endian modulus and exponent.
    pub(crate) fn rsa(kid: Option<Box<str>>, alg: Option<Algorithm>, n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let (n, e) = (strip_leading_zeros(n), strip_leading_zeros(e));
        let bits = n.first().map_or(0, |first| n.len() * 8 - first.leading_zeros() as usize);
        let exponent_ok = (1..=4).contains(&e.len()) && e.last().is_some_and(|last| last & 1 == 1) && e != [1];
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) || !exponent_ok {
            return Err(KeyError::BadRsaKey(bits));
        }
        Self::new(kid, KeyKind::Rsa, alg, DecodingKey::from_rsa_raw_components(n, e))
    }

    /// An EC key from its uncompressed point (`04 || x || y`).
    pub(crate) fn ec(
        kid: Option<Box<str>>,
        alg: Option<Algorithm>,
        kind: KeyKind,
        point: &[u8],
    ) -> Result<Self, KeyError> {
        let coordinate = kind.coordinate_len().ok_or(KeyError::BadEcPoint)?;
        if point.len() != 1 + 2 * coordinate || point.first() != Some(&0x04) {
            return Err(KeyError::BadEcPoint);
        }
        Self::new(kid, kind, alg, DecodingKey::from_ec_der(point))
    }

    /// An Ed25519 key from its 32 raw bytes.
    pub(crate) fn ed25519(kid: Option<Box<str>>, alg: Option<Algorithm>, x: &[u8]) -> Result<Self, KeyError> {
        if x.len() != 32 {
            return Err(KeyError::BadEd25519Key);
        }
        Self::new(kid, KeyKind::Ed25519, alg, DecodingKey::from_ed_der(x))
    }

    fn new(kid: Option<Box<str>>, kind: KeyKind, alg: Option<Algorithm>, key: DecodingKey) -> Result<Self, KeyError> {
        match alg {
            Some(alg) if !kind.verifies(alg) => Err(KeyError::UnsupportedAlgorithm(alg.name().to_owned())),
            Some(_) | None => Ok(VerificationKey { kid, kind, alg, key }),
        }
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether `alg` matches this key's type (and curve) and its JWK `alg`, if any.
    pub(crate) fn permits(&self, alg: Algorithm) -> bool {
        self.kind.verifies(alg) && self.alg.is_none_or(|own| own == alg)
    }

    /// Checks the token's algorithm against the key ([`TokenError::DisallowedAlgorithm`]),
    /// then its signature ([`TokenError::BadSignature`]).
    pub(crate) fn verify(&self, token: &ParsedToken<'_>) -> Result<(), TokenError> {
        let alg = token.algorithm();
        if !self.permits(alg) {
            return Err(TokenError::DisallowedAlgorithm);
        }
        let message = token.signing_input().as_bytes();
        match jsonwebtoken::crypto::verify(token.signature(), message, &self.key, jwt_algorithm(alg)) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(TokenError::BadSignature),
        }
    }

    /// Same kid, kind, algorithm and key material: a refresh that re-publishes this key keeps
    /// the old instance, so tokens cached against it stay valid.
    pub(crate) fn same_as(&self, other: &VerificationKey) -> bool {
        let same_material = match (self.key.kind(), other.key.kind()) {
            (DecodingKeyKind::SecretOrDer(a), DecodingKeyKind::SecretOrDer(b)) => a == b,
            (
                DecodingKeyKind::RsaModulusExponent { n, e },
                DecodingKeyKind::RsaModulusExponent { n: other_n, e: other_e },
            ) => n == other_n && e == other_e,
            (DecodingKeyKind::SecretOrDer(_), DecodingKeyKind::RsaModulusExponent { .. })
            | (DecodingKeyKind::RsaModulusExponent { .. }, DecodingKeyKind::SecretOrDer(_)) => false,
        };
        self.kid == other.kid && self.kind == other.kind && self.alg == other.alg && same_material
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("alg", &self.alg)
            .finish()
    }
}

fn jwt_algorithm(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
        Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
        Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
        Algorithm::PS384 => jsonwebtoken::Algorithm::PS384,
        Algorithm::PS512 => jsonwebtoken::Algorithm::PS512,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
        Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]
mod tests {
    use super::*;

    fn modulus(bits: usize) -> Vec<u8> {
        let mut n = vec![0xff; bits / 8];
        n.insert(0, 0);
        n
    }

    #[test]
    fn rsa_size_and_exponent_are_bounded() {
        assert!(VerificationKey::rsa(None, None, &modulus(2048), &[1, 0, 1]).is_ok());
        assert_eq!(VerificationKey::rsa(None, None, &modulus(1024), &[1, 0, 1]).err(), Some(KeyError::BadRsaKey(1024)));
        assert!(VerificationKey::rsa(None, None, &modulus(2048), &[2]).is_err());
        assert!(VerificationKey::rsa(None, None, &modulus(2048), &[1]).is_err());
        assert!(VerificationKey::rsa(None, None, &modulus(2048), &[]).is_err());
    }

    #[test]
    fn algorithm_must_fit_the_key_type_and_curve() {
        let point = [vec![4], vec![1; 64]].concat();
        let p256 = VerificationKey::ec(None, None, KeyKind::P256, &point).expect("a P-256 point");
        assert!(p256.permits(Algorithm::ES256));
        assert!(!p256.permits(Algorithm::ES384));
        assert!(!p256.permits(Algorithm::RS256));
        assert!(VerificationKey::ec(None, None, KeyKind::P384, &point).is_err());
        assert!(VerificationKey::ec(None, Some(Algorithm::RS256), KeyKind::P256, &point).is_err());
        let pinned = VerificationKey::rsa(None, Some(Algorithm::PS256), &modulus(2048), &[3]).expect("rsa");
        assert!(pinned.permits(Algorithm::PS256));
        assert!(!pinned.permits(Algorithm::RS256));
        assert!(VerificationKey::ed25519(None, None, &[0; 31]).is_err());
    }

    #[test]
    fn same_as_compares_identity_and_material() {
        let a = VerificationKey::ed25519(Some("k".into()), None, &[7; 32]).expect("ed25519");
        let b = VerificationKey::ed25519(Some("k".into()), None, &[7; 32]).expect("ed25519");
        let c = VerificationKey::ed25519(Some("k".into()), None, &[8; 32]).expect("ed25519");
        assert!(a.same_as(&b));
        assert!(!a.same_as(&c));
    }
}
