use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use http::HeaderValue;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::download::{Download, DownloadError, download};
use super::jwk::parse_jwks;
use super::key_set::{KeyLookup, KeySet};
use super::verification_key::VerificationKey;
use crate::clock::SharedClock;
use crate::metrics::EnforcerMetrics;
use crate::rejection::TokenError;
use crate::token::TokenSettings;

/// What every JWKS cache shares: the HTTP client, the settings, time and metrics.
#[derive(Debug)]
pub(crate) struct FetchContext {
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) settings: TokenSettings,
    pub(crate) clock: SharedClock,
    pub(crate) metrics: EnforcerMetrics,
}

/// The keys of one JWKS key manager, refreshed in the background and on unknown `kid`s.
///
/// Refreshes are single-flight: at most one fetch is in flight per cache, and fetches caused
/// by unknown `kid`s start at most once per `refresh_on_miss_interval`. A request that finds
/// no key waits for the fetch in flight (bounded by the fetch timeout), then looks again. A
/// failed fetch keeps the last good keys. Reads are lock-free (`ArcSwap`).
#[derive(Debug)]
pub(crate) struct JwksCache {
    key_manager: Arc<str>,
    url: Arc<str>,
    context: Arc<FetchContext>,
    keys: ArcSwapOption<KeySet>,
    etag: ArcSwapOption<HeaderValue>,
    /// Until when (on the clock's monotonic scale, in nanoseconds) the keys are fresh.
    fresh_until: AtomicU64,
    refresh: watch::Sender<RefreshState>,
    /// `kid`s a refresh did not find, with when (monotonic) to stop believing so.
    unknown_kids: moka::sync::Cache<Box<str>, Duration>,
    /// Whether a request has needed these keys: until then (and until a fetch succeeds), a
    /// failing fetch is logged at debug only, so a key manager that is configured but not in
    /// use yet (the sample configuration's, with the demo issuer not running) adds no warnings.
    /// Fetches are counted in metrics either way.
    needed: AtomicBool,
    task: OnceLock<AbortHandle>,
}

#[derive(Debug, Default)]
struct RefreshState {
    in_flight: bool,
    /// When the last fetch, of any trigger, started.
    last_start: Option<Duration>,
    /// When the last fetch for an unknown `kid` started. Only those count against the
    /// refresh-on-miss interval for the next unknown `kid`: a scheduled refresh must not hold
    /// back a key rotation that happens right after it.
    last_on_miss: Option<Duration>,
    /// Fetches finished, whatever their outcome.
    finished: u64,
}

/// Why a fetch would start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// The background task: the keys' freshness ran out.
    Schedule,
    /// A request noticed stale keys before the background task did.
    StaleOnRequest,
    /// A token named a `kid` the keys do not have.
    UnknownKid,
}

/// Marks a fetch in flight; dropping it (even on panic or abort) lets the next one start.
struct InFlight(Arc<JwksCache>);

/// `kid`s longer than this are never fetched for nor remembered.
const MAX_KID_BYTES: usize = 256;
const MAX_UNKNOWN_KIDS: u64 = 10_000;
/// The background task never spins faster than this, whatever the clock says.
const MIN_PAUSE: Duration = Duration::from_secs(1);

// === impl JwksCache ===

impl JwksCache {
    /// A cache with no keys yet; [`JwksCache::start`] begins fetching.
    pub(crate) fn new(key_manager: Arc<str>, url: Arc<str>, context: Arc<FetchContext>) -> Arc<Self> {
        let unknown_kids = moka::sync::Cache::builder()
            .max_capacity(MAX_UNKNOWN_KIDS)
            .time_to_live(context.settings.unknown_kid_ttl)
            .build();
        Arc::new(JwksCache {
            key_manager,
            url,
            context,
            keys: ArcSwapOption::empty(),
            etag: ArcSwapOption::empty(),
            fresh_until: AtomicU64::new(0),
            refresh: watch::Sender::new(RefreshState::default()),
            unknown_kids,
            needed: AtomicBool::new(false),
            task: OnceLock::new(),
        })
    }

    pub(crate) fn url(&self) -> &Arc<str> {
        &self.url
    }

    /// Starts the background refresh on the current tokio runtime, the first fetch right
    /// away. Idempotent; outside a runtime it does nothing (requests then fetch on demand).
    pub(crate) fn start(self: &Arc<Self>) {
        if self.task.get().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let cache = Arc::downgrade(self);
        self.task.get_or_init(|| runtime.spawn(refresh_in_background(cache)).abort_handle());
    }

    /// The key for a token's `kid` (see [`KeySet::find`]). An unknown `kid` may refresh the
    /// keys once (see the type's docs). [`TokenError::UnknownKey`] when no key fits,
    /// [`TokenError::KeysUnavailable`] when no fetch has ever succeeded.
    pub(crate) async fn key(self: &Arc<Self>, kid: Option<&str>) -> Result<Arc<VerificationKey>, TokenError> {
        self.refresh_if_stale();
        match self.lookup(kid) {
            Some(KeyLookup::Found(key)) => return Ok(key),
            Some(KeyLookup::Ambiguous) => return Err(TokenError::UnknownKey),
            Some(KeyLookup::Missing) if self.known_unknown(kid) => return Err(TokenError::UnknownKey),
            Some(KeyLookup::Missing) | None => {}
        }
        self.refresh_on_miss().await;
        match self.lookup(kid) {
            Some(KeyLookup::Found(key)) => Ok(key),
            Some(KeyLookup::Missing | KeyLookup::Ambiguous) => {
                self.remember_unknown(kid);
                Err(TokenError::UnknownKey)
            }
            None => Err(TokenError::KeysUnavailable),
        }
    }

    /// Whether `key` is still published (a cached token verified with it stays valid).
    pub(crate) fn holds(&self, key: &Arc<VerificationKey>) -> bool {
        self.keys.load().as_ref().is_some_and(|set| set.holds(key))
    }

    /// Waits (up to 10 s) until a first fetch has finished and none is in flight; for tests
    /// that must see a fetch's effect.
    #[cfg(test)]
    pub(crate) async fn settle(&self) {
        let mut refresh = self.refresh.subscribe();
        let settled = refresh.wait_for(|state| !state.in_flight && state.finished > 0);
        let _settled = tokio::time::timeout(Duration::from_secs(10), settled).await.is_ok();
    }

    fn lookup(&self, kid: Option<&str>) -> Option<KeyLookup> {
        self.keys.load().as_ref().map(|set| set.find(kid))
    }

    fn known_unknown(&self, kid: Option<&str>) -> bool {
        let now = self.context.clock.monotonic();
        kid.is_some_and(|kid| kid.len() > MAX_KID_BYTES || self.unknown_kids.get(kid).is_some_and(|until| until > now))
    }

    fn remember_unknown(&self, kid: Option<&str>) {
        if let Some(kid) = kid.filter(|kid| kid.len() <= MAX_KID_BYTES) {
            let until = self.context.clock.monotonic() + self.context.settings.unknown_kid_ttl;
            self.unknown_kids.insert(kid.into(), until);
        }
    }

    /// Starts a fetch, without waiting for it, when the keys' freshness has run out.
    fn refresh_if_stale(self: &Arc<Self>) {
        let now = self.context.clock.monotonic();
        if nanos(now) >= self.fresh_until.load(Ordering::Acquire) && self.begin(now, Trigger::StaleOnRequest) {
            self.spawn_fetch();
        }
    }

    /// Starts a fetch if the rate allows, then waits (bounded) for the fetch in flight.
    async fn refresh_on_miss(self: &Arc<Self>) {
        self.needed.store(true, Ordering::Relaxed);
        let mut refresh = self.refresh.subscribe();
        if self.begin(self.context.clock.monotonic(), Trigger::UnknownKid) {
            self.spawn_fetch();
        }
        let idle = refresh.wait_for(|state| !state.in_flight);
        let _waited = tokio::time::timeout(self.context.settings.jwks_fetch_timeout, idle).await.is_ok();
    }

    /// Claims the right to fetch: none in flight and, unless the background schedule asks,
    /// none too recent: a request's stale refresh waits out the refresh-on-miss interval since
    /// any fetch, an unknown `kid`'s refresh since the last one for an unknown `kid`.
    fn begin(&self, now: Duration, trigger: Trigger) -> bool {
        let min_interval = self.context.settings.refresh_on_miss_interval;
        let recent = |last: Option<Duration>| last.is_some_and(|last| now.saturating_sub(last) < min_interval);
        self.refresh.send_if_modified(|state| {
            let too_soon = match trigger {
                Trigger::Schedule => false,
                Trigger::StaleOnRequest => recent(state.last_start),
                Trigger::UnknownKid => recent(state.last_on_miss),
            };
            if state.in_flight || too_soon {
                return false;
            }
            state.in_flight = true;
            state.last_start = Some(now);
            if trigger == Trigger::UnknownKid {
                state.last_on_miss = Some(now);
            }
            true
        })
    }

    fn spawn_fetch(self: &Arc<Self>) {
        let in_flight = InFlight(self.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move { in_flight.0.fetch().await })),
            Err(_) => drop(in_flight),
        }
    }

    async fn fetch(&self) {
        let etag = self.etag.load_full();
        let result = match &self.context.http {
            Some(client) => download(client, &self.url, etag.as_deref()).await,
            None => Err(DownloadError::NoClient),
        };
        self.apply(result);
    }

    fn apply(&self, result: Result<Download, DownloadError>) {
        let settings = &self.context.settings;
        let (outcome, fresh_for) = match result {
            Ok(Download::Fresh { body, etag, max_age }) => match parse_jwks(&body, &self.key_manager) {
                Ok(keys) => {
                    let previous = self.keys.load_full();
                    self.keys.store(Some(Arc::new(KeySet::new(keys, previous.as_deref()))));
                    self.etag.store(etag.map(Arc::new));
                    ("ok", settings.freshness(max_age))
                }
                Err(error) => {
                    tracing::warn!(key_manager = %self.key_manager, url = %self.url, %error, "JWKS refused; keeping the last good keys");
                    ("invalid", settings.jwks_min_max_age)
                }
            },
            Ok(Download::NotModified { max_age }) => ("not_modified", settings.freshness(max_age)),
            Err(error) if self.in_use() => {
                tracing::warn!(key_manager = %self.key_manager, url = %self.url, %error, "JWKS fetch failed; keeping the last good keys");
                ("error", settings.jwks_min_max_age)
            }
            Err(error) => {
                tracing::debug!(key_manager = %self.key_manager, url = %self.url, %error, "JWKS fetch failed; no request has needed these keys yet");
                ("error", settings.jwks_min_max_age)
            }
        };
        self.context.metrics.record_jwks_fetch(&self.key_manager, outcome);
        let fresh_until = self.context.clock.monotonic() + fresh_for;
        self.fresh_until.store(nanos(fresh_until), Ordering::Release);
    }

    /// Whether a failed fetch is worth a warning: the keys served before, or a request
    /// needed them.
    fn in_use(&self) -> bool {
        self.keys.load().is_some() || self.needed.load(Ordering::Relaxed)
    }

    /// One background step: fetch when the keys are stale, then say how long to pause.
    async fn tick(self: &Arc<Self>) -> Duration {
        let now = self.context.clock.monotonic();
        if nanos(now) >= self.fresh_until.load(Ordering::Acquire) && self.begin(now, Trigger::Schedule) {
            let in_flight = InFlight(self.clone());
            in_flight.0.fetch().await;
        }
        let fresh_until = Duration::from_nanos(self.fresh_until.load(Ordering::Acquire));
        fresh_until.saturating_sub(self.context.clock.monotonic()).max(MIN_PAUSE)
    }
}

impl Drop for JwksCache {
    fn drop(&mut self) {
        if let Some(task) = self.task.get() {
            task.abort();
        }
    }
}

// === impl InFlight ===

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.refresh.send_modify(|state| {
            state.in_flight = false;
            state.finished += 1;
        });
    }
}

/// The background refresh loop. It holds the cache only weakly between steps, so dropping
/// the cache (its key manager was removed) ends the loop.
async fn refresh_in_background(cache: Weak<JwksCache>) {
    loop {
        let Some(strong) = cache.upgrade() else { return };
        let pause = strong.tick().await;
        drop(strong);
        tokio::time::sleep(pause).await;
    }
}

fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)
}
