use std::sync::Arc;
use std::time::Duration;

/// A token issuer: tokens whose `iss` equals `issuer` are verified with its keys.
#[derive(Debug, Clone)]
pub struct KeyManager {
    pub name: Arc<str>,
    pub issuer: Arc<str>,
    pub keys: KeySource,
    /// Empty: no `aud` check; otherwise the token's `aud` must contain one of these.
    pub audiences: Box<[Arc<str>]>,
    pub consumer_key_claim: Arc<str>,
    pub scopes_claim: Arc<str>,
    pub validate_subscription: bool,
    pub enabled: bool,
    pub algorithms: AlgorithmSet,
    pub clock_skew: Duration,
}

/// Where a key manager's verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A JWKS document fetched over HTTP(S) and cached.
    Jwks { url: Arc<str> },
    /// A PEM public key or certificate, given inline.
    Pem { pem: Arc<str> },
}

/// The asymmetric JWS algorithms Tollgate verifies. `none` and HMAC have no variant: they
/// cannot be configured and are rejected before any key lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

/// A set of [`Algorithm`]s as a bit set (one branch-free test per token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlgorithmSet(u16);

// === impl Algorithm ===

impl Algorithm {
    pub const ALL: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// Parses a JWS `alg` value; `None` for anything Tollgate never accepts.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

// === impl AlgorithmSet ===

impl AlgorithmSet {
    /// The contract's default: every supported asymmetric algorithm.
    pub fn all() -> Self {
        Self::ALL_BITS
    }

    const ALL_BITS: AlgorithmSet = AlgorithmSet((1 << 9) - 1);

    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg.bit();
    }

    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL.into_iter().filter(move |alg| self.contains(*alg))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = AlgorithmSet::default();
        iter.into_iter().for_each(|alg| set.insert(alg));
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_none_and_hmac() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        for bad in ["none", "HS256", "HS384", "HS512", "rs256", ""] {
            assert_eq!(Algorithm::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn set_holds_what_was_inserted() {
        let set: AlgorithmSet = [Algorithm::ES256, Algorithm::EdDSA].into_iter().collect();
        assert!(set.contains(Algorithm::ES256));
        assert!(!set.contains(Algorithm::RS256));
        assert_eq!(set.iter().count(), 2);
        assert_eq!(AlgorithmSet::all().iter().count(), 9);
    }
}
