use std::time::Duration;

/// Settings of token validation, from the gateway configuration.
///
/// The defaults suit a production gateway: a cache of 100,000 (typical) tokens, 5 s fetch
/// timeout, 10 min default `max-age` clamped to 30 s ..= 1 h, at most one refresh per 10 s
/// for unknown `kid`s, which are then remembered for 30 s. Every bound here exists so that a
/// misbehaving client or key manager cannot turn into unbounded memory, fetches or waiting.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// Capacity of the verified-token cache in weight units: a token of up to 1 KiB weighs 1,
    /// larger ones weigh one per started KiB. `0` disables the cache (every check verifies).
    pub verified_cache_capacity: u64,
    /// Bound on one JWKS fetch (connect, response and body); also how long a request waits
    /// for a refresh triggered by an unknown `kid`.
    pub jwks_fetch_timeout: Duration,
    /// How long fetched keys are fresh when the response has no `Cache-Control: max-age`.
    pub jwks_default_max_age: Duration,
    /// The shortest refresh interval a `max-age` can ask for; also the retry delay after a
    /// failed fetch (the last good keys keep serving meanwhile).
    pub jwks_min_max_age: Duration,
    /// The longest refresh interval a `max-age` can ask for, so that a key removed from the
    /// JWKS stops being trusted within this time.
    pub jwks_max_max_age: Duration,
    /// At most one refresh per key manager in this interval is triggered by unknown `kid`s.
    pub refresh_on_miss_interval: Duration,
    /// How long a `kid` that a refresh did not find is answered "unknown" without a new refresh.
    pub unknown_kid_ttl: Duration,
    /// How many tokens refused by a key's signature check are remembered (so that repeating
    /// one costs no verification while the key is unchanged). `0` disables it.
    pub refused_cache_capacity: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            verified_cache_capacity: 100_000,
            jwks_fetch_timeout: Duration::from_secs(5),
            jwks_default_max_age: Duration::from_secs(10 * 60),
            jwks_min_max_age: Duration::from_secs(30),
            jwks_max_max_age: Duration::from_secs(60 * 60),
            refresh_on_miss_interval: Duration::from_secs(10),
            unknown_kid_ttl: Duration::from_secs(30),
            refused_cache_capacity: 10_000,
        }
    }
}

// === impl TokenSettings ===

impl TokenSettings {
    /// How long keys fetched with this `max-age` (if any) stay fresh, clamped to the bounds.
    pub(crate) fn freshness(&self, max_age: Option<Duration>) -> Duration {
        let wanted = max_age.unwrap_or(self.jwks_default_max_age);
        wanted.clamp(self.jwks_min_max_age, self.jwks_max_max_age.max(self.jwks_min_max_age))
    }
}
