//! The background task that exchanges counts with Redis: one pipelined round trip per
//! `sync_interval`, never on the request path.

use std::fmt;
use std::sync::Weak;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::time::{Instant, MissedTickBehavior};

use super::limiter::Shared;
use super::sync::Report;

/// Live replicas are counted in this sorted set (member: replica id, score: last sync, µs).
const REPLICAS_KEY: &str = "tollgate:rl:replicas";
/// Keys per script call, so one call never blocks Redis for long; calls share one pipeline.
const CHUNK: usize = 512;
/// A failed sync is logged at most this often; every failure is counted.
const LOG_EVERY: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Registers this replica, then for each key adds the replica's admissions to the shared TAT
/// (`max(tat, now) + pending × interval`, at most `ceiling` ahead of now) and answers how far
/// it runs ahead of Redis's clock. Times are µs of Redis's clock, so replicas' clocks need not
/// agree. Returns `{live replicas, fill of KEYS[2], fill of KEYS[3], ...}`.
const SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000))
local out = { redis.call('ZCARD', KEYS[1]) }
for i = 2, #KEYS do
  local at = 3 * i - 3
  local pending = tonumber(ARGV[at])
  local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or 0), now)
  tat = math.min(tat + pending * tonumber(ARGV[at + 1]), now + tonumber(ARGV[at + 2]))
  if pending > 0 then
    redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
  end
  out[i] = tat - now
end
return out
";

/// The sync loop's state; owned by its task.
pub(super) struct SyncTask {
    shared: Weak<Shared>,
    client: redis::Client,
    connection: Option<ConnectionManager>,
    receiver: Receiver<u64>,
    script: redis::Script,
    replica: String,
    failures: u32,
    reconnect_at: Instant,
    log: ErrorLog,
}

#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the sync script answered {0} values for {1} keys")]
    Answer(usize, usize),
}

/// Logs failures at most once per [`LOG_EVERY`], with how many were left out.
#[derive(Debug, Default)]
struct ErrorLog {
    last: Option<Instant>,
    suppressed: u64,
    failing: bool,
}

// === impl SyncTask ===

impl SyncTask {
    /// A task for `url`, or `None` (logged and counted) when the URL is not a Redis URL.
    pub(super) fn new(shared: Weak<Shared>, url: &str, receiver: Receiver<u64>) -> Option<Self> {
        let client = match redis::Client::open(url) {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "invalid Redis URL for rate limits; enforcing local limits only");
                shared.upgrade().inspect(|shared| shared.metrics.redis_errors.inc());
                return None;
            }
        };
        let replica = format!("{:016x}", rand::random::<u64>());
        let script = redis::Script::new(SCRIPT);
        let (connection, failures, reconnect_at, log) = (None, 0, Instant::now(), ErrorLog::default());
        Some(SyncTask { shared, client, connection, receiver, script, replica, failures, reconnect_at, log })
    }

    /// Syncs every `every` until the limiter is dropped.
    pub(super) async fn run(mut self, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(shared) = self.shared.upgrade() else { return };
            self.round(&shared).await;
        }
    }

    async fn round(&mut self, shared: &Shared) {
        let Some(replication) = &shared.replication else { return };
        // Counts taken here and lost to a failed round are not retried: the replica enforced
        // them locally, and replaying an outage's counts would only throttle callers afterwards.
        let reports = replication.collect(&shared.table, &self.receiver);
        let timeout = shared.settings.redis_timeout;
        let ttl = replica_ttl(shared.settings.sync_interval);
        let outcome = match tokio::time::timeout(timeout, self.exchange(&reports, ttl, timeout)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SyncError::Timeout(timeout)),
        };
        match outcome {
            Ok(Some((replicas, fills))) => {
                let now = shared.now();
                replication.apply(&shared.table, &reports, &fills, now);
                replication.mark_fresh(replicas, now);
                self.failures = 0;
                self.log.recovered();
            }
            Ok(None) => replication.mark_stale(),
            Err(error) => {
                replication.mark_stale();
                shared.metrics.redis_errors.inc();
                self.failed(&error);
            }
        }
    }

    /// One pipelined round trip; `Ok(None)` while waiting to reconnect.
    async fn exchange(
        &mut self,
        reports: &[Report],
        ttl: u64,
        timeout: Duration,
    ) -> Result<Option<(u32, Vec<i64>)>, SyncError> {
        let pipe = self.pipeline(reports, ttl);
        let Some(connection) = self.connection(timeout).await? else { return Ok(None) };
        let answers: Vec<Vec<i64>> = pipe.query_async(connection).await?;
        let replicas = answers.first().and_then(|answer| answer.first()).copied().unwrap_or(1);
        let fills: Vec<i64> = answers.into_iter().flat_map(|answer| answer.into_iter().skip(1)).collect();
        if fills.len() != reports.len() {
            return Err(SyncError::Answer(fills.len(), reports.len()));
        }
        Ok(Some((u32::try_from(replicas).unwrap_or(1), fills)))
    }

    /// Loads the script (cheap when cached; covers a restarted Redis), then one call per chunk.
    fn pipeline(&self, reports: &[Report], ttl: u64) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        pipe.load_script(&self.script).ignore();
        let chunks: Vec<&[Report]> = if reports.is_empty() { vec![&[]] } else { reports.chunks(CHUNK).collect() };
        for chunk in chunks {
            pipe.invoke_script(&invocation(&self.script, &self.replica, ttl, chunk));
        }
        pipe
    }

    /// The connection, opened if needed (with backoff after failures).
    async fn connection(&mut self, timeout: Duration) -> Result<Option<&mut ConnectionManager>, SyncError> {
        if self.connection.is_none() {
            if Instant::now() < self.reconnect_at {
                return Ok(None);
            }
            let config = ConnectionManagerConfig::new()
                .set_number_of_retries(1)
                .set_connection_timeout(timeout)
                .set_response_timeout(timeout);
            self.connection = Some(ConnectionManager::new_with_config(self.client.clone(), config).await?);
            tracing::debug!("connected to Redis for rate-limit sync");
        }
        Ok(self.connection.as_mut())
    }

    fn failed(&mut self, error: &SyncError) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= 3 {
            // The manager reconnects by itself after I/O errors; a fresh one also covers a
            // connection that hangs, and the backoff keeps a dead Redis from being hammered.
            self.connection = None;
            let backoff = Duration::from_millis(100).saturating_mul(1 << self.failures.min(5)).min(MAX_BACKOFF);
            self.reconnect_at = Instant::now() + backoff;
        }
        self.log.failed(error);
    }
}

impl fmt::Debug for SyncTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncTask").field("replica", &self.replica).field("failures", &self.failures).finish()
    }
}

/// How long a replica counts as live without syncing: ten intervals, at least 5 s (µs).
fn replica_ttl(sync_interval: Duration) -> u64 {
    let ttl = sync_interval.saturating_mul(10).max(Duration::from_secs(5));
    u64::try_from(ttl.as_micros()).unwrap_or(u64::MAX)
}

fn invocation<'a>(script: &'a redis::Script, replica: &str, ttl: u64, chunk: &[Report]) -> redis::ScriptInvocation<'a> {
    let mut invocation = script.prepare_invoke();
    invocation.key(REPLICAS_KEY).arg(replica).arg(ttl);
    for report in chunk {
        invocation.key(&*report.name).arg(report.pending).arg(report.interval_us).arg(report.ceiling_us);
    }
    invocation
}

// === impl ErrorLog ===

impl ErrorLog {
    fn failed(&mut self, error: &SyncError) {
        self.failing = true;
        let due = self.last.is_none_or(|last| last.elapsed() >= LOG_EVERY);
        if !due {
            self.suppressed += 1;
            return;
        }
        let suppressed = std::mem::take(&mut self.suppressed);
        tracing::warn!(%error, suppressed, "rate-limit sync with Redis failed; enforcing local limits");
        self.last = Some(Instant::now());
    }

    fn recovered(&mut self) {
        if std::mem::take(&mut self.failing) {
            tracing::info!("rate-limit sync with Redis resumed");
        }
    }
}
