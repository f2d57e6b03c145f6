//! Backend JWTs (client.md, "Backend JWT"): for an Api with `backendJwt: true`, every
//! authenticated request reaches the upstream with a JWT signed by the gateway that describes
//! the caller, verifiable with the keys of the admin listener's `GET /jwks`.
//!
//! Minted from the [`Principal`](crate::Principal) the enforcer admitted (DESIGN.md,
//! "Credentials are extracted, then decided"): `sub` and `enduser` from the credential, the
//! application, its owner and tier, the subscription tier and the key type from the principal,
//! the Api's name, version and versioned context. `exp` is the earlier of the credential's own
//! expiry and `ttl_seconds` from now.
//!
//! Cached per (credential, Api) in a bounded moka cache until a margin before `exp` (a quarter
//! of the JWT's life, at most 30 s), and the last one made for a verified credential also on
//! the credential itself, so a repeated request on the same Api costs an atomic load and a
//! reference count, no lookup and no signature. A hit is re-checked against the request: the key that signs now, and the
//! application, subscription and Api it was made for (a snapshot swap may have changed them).
//!
//! The signing key is an RSA (RS256) or EC P-256 (ES256) private key, parsed and proven to sign
//! once when loaded ([`SigningKey::from_pem`]). Rotation replaces it whole; the replaced key is
//! still published until the JWTs it signed have expired (at most `ttl` after the rotation),
//! and the JWTs it signed are not served from the cache again.

mod claims;
mod key;
mod minted;
mod signer;

pub use self::key::{KeyError, MAX_KEY_PEM_BYTES, SigningKey};
pub(crate) use self::minted::LastMinted;
pub use self::signer::{BackendJwtError, BackendJwtSettings, BackendJwtSigner};

#[cfg(test)]
mod tests;
