//! Token validation: JWKS caches per key manager, signature and claim checks, the verified
//! token cache, revocation, subscriptions and scopes (client.md, "Credentials").
//!
//! The request path, for a token not seen before: [`parse_unverified`] (size, shape, `alg`:
//! `none` and HMAC never get further) → key manager by `iss` → key by `kid` from the key
//! manager's cached JWKS or PEM → algorithm/key consistency → signature (jsonwebtoken on
//! aws-lc-rs, with keys decoded once at fetch time) → `exp`/`nbf`/`aud` → revocation. The
//! result is cached under the full token until its `exp`; a hit skips signature and JSON work
//! but re-checks expiry, revocation, key manager and key. Subscription and scopes are decided
//! from the snapshot on every request.
//!
//! Revocation compares a token without `jti` by its signature in [`CanonicalSignature`] form,
//! computed once when the token is verified and once per entry when the snapshot is built.
//! The cache is keyed by the token as sent, so another spelling of a revoked token's
//! signature is a cache miss, verified afresh, and refused by the same canonical comparison;
//! a cached token meets the revocations of the current snapshot on every hit.
//!
//! Choices the contract leaves open, made here:
//! - a token without `kid` is verified with the key manager's only key when its JWKS has
//!   exactly one; with several it is refused (`UnknownKey`). A PEM key manager has one key
//!   and ignores `kid`;
//! - without `validateSubscription`, every token is a `PRODUCTION` key (no key mapping is
//!   consulted) with no application;
//! - the consumer key falls back to `client_id` when the configured claim is absent;
//! - an empty credential header counts as no credential; one sent twice is refused on every
//!   operation, secured or not (the contract refuses "a request" that repeats it);
//! - keys embedded in a token (`jwk`, `jku`, `x5c`) are never used; a `crit` header makes the
//!   token malformed;
//! - tokens over 16 KiB are refused unread; `kid`s over 256 bytes never cause a fetch.
//!
//! Why moka for the verified-token cache: a bounded, concurrent cache with per-entry expiry
//! and no lock held across readers, which a `DashMap` plus hand-written eviction would not give.

mod api_key;
mod authenticator;
mod claims;
mod credential;
mod entitlement;
mod keys;
mod parsed;
mod refused;
mod settings;
mod signature;
mod verified;

pub use self::api_key::{ApiKeyGrant, PermittedIps, PermittedReferers};
pub use self::authenticator::Authenticator;
pub use self::claims::{Claims, Lifetime};
pub use self::credential::CredentialHeader;
pub use self::parsed::{MAX_TOKEN_BYTES, ParsedToken, parse_unverified};
pub use self::settings::TokenSettings;
pub use self::signature::CanonicalSignature;
pub use self::verified::VerifiedCredential;

#[cfg(test)]
mod tests;
