use std::sync::Arc;

use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};

/// A PEM larger than this is not read: an RSA 4096 private key is about 3.3 KiB.
pub const MAX_KEY_PEM_BYTES: usize = 16 * 1024;

/// The gateway's backend-JWT signing key (operator.md, `[backend_jwt] key`): an RSA private key
/// (RS256) or an EC P-256 private key in PKCS#8 (ES256), parsed and checked once, with its
/// `kid` and the public JWK that `GET /jwks` serves.
#[derive(Debug)]
pub struct SigningKey {
    kid: Arc<str>,
    algorithm: Algorithm,
    encoding: EncodingKey,
    /// The public half, with `kid`, `alg` and `use: sig`.
    public: Jwk,
}

/// Why a PEM is not a usable signing key. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("larger than {MAX_KEY_PEM_BYTES} bytes")]
    TooLarge,
    #[error("not a PEM private key: RSA (PKCS#1 or PKCS#8, at least 2048 bits) or EC P-256 (PKCS#8)")]
    NotASigningKey,
    #[error("the key cannot sign: {0}")]
    CannotSign(String),
    #[error("the kid must be 1 to 256 printable ASCII characters")]
    BadKid,
}

// === impl SigningKey ===

impl SigningKey {
    /// Parses `pem` and proves it can sign. `kid`: the configured one, else the key's RFC 7638
    /// JWK thumbprint (SHA-256).
    pub fn from_pem(pem: &[u8], kid: Option<&str>) -> Result<Self, KeyError> {
        if pem.len() > MAX_KEY_PEM_BYTES {
            return Err(KeyError::TooLarge);
        }
        // The JWK and the signature go through jsonwebtoken's process-wide provider.
        let _already_installed = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let (encoding, algorithm) = encoding_key(pem)?;
        let mut public = Jwk::from_encoding_key(&encoding, algorithm).map_err(|_| KeyError::NotASigningKey)?;
        jsonwebtoken::crypto::sign(b"probe", &encoding, algorithm).map_err(|e| KeyError::CannotSign(e.to_string()))?;
        let kid = match kid {
            Some(kid) => checked_kid(kid)?,
            None => public.thumbprint(ThumbprintHash::SHA256),
        };
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(SigningKey { kid: kid.into(), algorithm, encoding, public })
    }

    pub fn kid(&self) -> &Arc<str> {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public key as a JWK (`kty`, `n`/`e` or `crv`/`x`/`y`, `kid`, `alg`, `use`).
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// Whether `other` is the same key pair (a file rewritten with the same key).
    pub fn same_key_as(&self, other: &SigningKey) -> bool {
        self.public.algorithm == other.public.algorithm
    }

    pub(super) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }
}

/// RSA first (PKCS#1 or PKCS#8), then EC. jsonwebtoken only classifies the PEM; the key itself
/// is parsed by aws-lc-rs when its public half is extracted, which refuses what cannot sign.
fn encoding_key(pem: &[u8]) -> Result<(EncodingKey, Algorithm), KeyError> {
    if let Ok(key) = EncodingKey::from_rsa_pem(pem) {
        return Ok((key, Algorithm::RS256));
    }
    match EncodingKey::from_ec_pem(pem) {
        Ok(key) => Ok((key, Algorithm::ES256)),
        Err(_) => Err(KeyError::NotASigningKey),
    }
}

fn checked_kid(kid: &str) -> Result<String, KeyError> {
    let printable = kid.bytes().all(|b| b.is_ascii_graphic());
    match printable && (1..=256).contains(&kid.len()) {
        true => Ok(kid.to_owned()),
        false => Err(KeyError::BadKid),
    }
}
