use std::fmt;
use std::time::Duration;

/// Settings of the rate limiter (operator.md `[rate_limit]`).
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    pub backend: RateLimitBackend,
    /// Emit `RateLimit-Policy` / `RateLimit` on admitted responses too (429s always carry them).
    pub headers: bool,
    /// How often counts are exchanged with Redis. The over-admission bound grows with it
    /// (module docs, "Error bound").
    pub sync_interval: Duration,
    /// How long one Redis round trip may take before it counts as failed.
    pub redis_timeout: Duration,
    /// The most keys tracked at once; memory stays proportional to it.
    pub max_keys: usize,
    /// How often idle keys (whose quota is whole again) are dropped in the background.
    pub prune_interval: Duration,
}

/// Where counts live.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum RateLimitBackend {
    /// In this process only; each replica enforces the whole policy.
    #[default]
    Local,
    /// Local decisions, counts shared through Redis in the background.
    Redis { url: String },
}

// === impl RateLimitSettings ===

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            backend: RateLimitBackend::Local,
            headers: false,
            sync_interval: Duration::from_millis(100),
            redis_timeout: Duration::from_millis(250),
            max_keys: 1_000_000,
            prune_interval: Duration::from_secs(10),
        }
    }
}

// === impl RateLimitBackend ===

impl RateLimitBackend {
    /// The Redis backend at `url` (`redis://[user:password@]host:port[/db]`, `rediss://`,
    /// `redis+unix://`), when the Redis client accepts it; the error says what a Redis URL
    /// looks like and never repeats `url`, which may hold a password.
    pub fn redis(url: &str) -> Result<Self, &'static str> {
        match redis::Client::open(url) {
            Ok(_) => Ok(RateLimitBackend::Redis { url: url.to_owned() }),
            Err(_) => {
                Err("is not a Redis URL (redis://[user:password@]host:port[/db], rediss://..., redis+unix://...)")
            }
        }
    }
}

impl fmt::Debug for RateLimitBackend {
    /// Never prints a password that the Redis URL may carry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitBackend::Local => f.write_str("Local"),
            RateLimitBackend::Redis { url } => {
                let host = url.rsplit_once('@').map_or(url.as_str(), |(_, host)| host);
                f.debug_struct("Redis").field("url", &format_args!("…{host}")).finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_redis_credentials() {
        let backend = RateLimitBackend::Redis { url: "redis://user:secret@10.0.0.1:6379/0".into() };
        let text = format!("{backend:?}");
        assert!(!text.contains("secret") && text.contains("10.0.0.1:6379/0"), "{text}");
    }
}
