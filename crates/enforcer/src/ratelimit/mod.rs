//! Rate-limit tiers (client.md, "Rate limits").
//!
//! # Tiers
//! In order, each keyed on its own counter; `Unlimited` policies (no limit) are skipped, an
//! unknown policy name (the adapter rejects those) counts as `Unlimited`:
//!
//! | tier | policy | key | level / code |
//! | --- | --- | --- | --- |
//! | api-level | the API's `throttlingPolicy` | API | `api` 900800 |
//! |  | else the operation's | API + resource | `resource` 900802 |
//! | certificate burst | `burst` of an accepted client certificate's `policy` | API + certificate alias | `certificate-burst` 900804 |
//! | certificate | the accepted client certificate's `policy` (a subscription policy) | API + certificate alias | `certificate` 900804 |
//! | burst | `burst` of the subscription policy | subscription | `burst` 900804 |
//! | subscription | the subscription's policy | subscription (= application + API) | `subscription` 900804 |
//! | application | the application's policy | application + token subject | `application` 900803 |
//!
//! The certificate tiers apply whenever the Api accepted a client certificate for the request:
//! alone (`mutualssl`), or alongside a passing token or API key (`mutualssl_mandatory`, both
//! mandatory, or both presented under "neither mandatory"); the token's or key's subscription
//! and application tiers then apply as well. They come right after the api-level tier because
//! the certificate is examined first when authenticating and is shared by every credential sent
//! with it, so the coarser per-client limit reports first.
//!
//! `secured: false` operations use the subscription policy `Unauthenticated` (and its burst,
//! if overridden with one) keyed per API + client IP, and have no application tier.
//! `stopOnQuotaReach: false` counts (the headers show the quota spent) but never refuses; it
//! covers the policy's burst too. A request is charged to a tier only if every tier admits it:
//! tiers are charged in order and, when one refuses, the earlier charges are given back. That
//! takes one map look-up per tier on the admitting path instead of two (check all, then
//! commit); the price is that for the instant between charge and give-back a concurrent
//! request may see that quota spent, which only errs on the strict side.
//!
//! # Local limiter: GCRA, hand-written
//! Each key holds one theoretical arrival time (TAT, an `AtomicU64` of nanoseconds on the
//! injected clock) in a sharded map ([`table`](self::table)); a check is a shard read lock and
//! a compare-and-swap. Emission interval `T = W / N` (rounded up), burst tolerance `N·T`: from
//! idle the whole quota passes at once, then one request per `T`. So in `k` windows from idle
//! at most `(k + 1)·N` pass and a caller that keeps asking gets at least `k·N` (up to ns
//! rounding) — the contract's bound, proved in `gcra.rs` and `tests.rs`.
//!
//! `governor` (named by the design) implements the same GCRA, but its keyed limiters fix one
//! quota per limiter and offer neither a refund nor a way to add consumption from outside, so
//! (1) a policy change would need a new limiter and reset every key under that policy, (2) a
//! refused later tier could not give back an earlier tier's charge, (3) the Redis sync could
//! not fold other replicas' consumption into a key, and (4) it has no cap on keys. The
//! arithmetic is 20 lines (`gcra.rs`); the state is ours. Because keys do not name the policy
//! and the TAT is time, a policy change (a new snapshot's `Policies`) keeps every counter: the
//! caller keeps the fraction of a window it has spent, measured in the new quota.
//!
//! # Memory
//! At most `max_keys` keys (64 shards of `max_keys / 64`). A key whose TAT is past holds no
//! information and is dropped by the pruning task every `prune_interval`, and by a full shard
//! in place (not before its earliest key expires, and at most every ~200 ns × its size, so
//! sweeping takes ~1 % of a core however hard the table churns) before a new key
//! is refused room. A new key that still finds no room is not tracked: its tier admits the
//! request without state and `tollgate_rate_limit_untracked_total` counts it. Failing open
//! there is deliberate: refusing would let anyone who can mint keys (client IPs on
//! unauthenticated operations) lock every new caller out; tracked keys stay enforced, and a
//! cap this large is only reached under such a flood. A slot is 24 bytes in the map (with
//! Redis, plus ~100 bytes for its name and counts), so the default cap of a million keys
//! bounds the table at about 50 MB (local); the pruning task shrinks shards after a flood. With
//! Redis, a key whose counts are not pushed yet outlives its TAT until they are, or for ten
//! sync intervals (at least 1 s) if the sync is not running.
//!
//! # Redis backend: local decisions, shared state, bounded error
//! The request path never waits on Redis. Each replica decides locally as above; a background
//! task ([`redis_sync`](self::redis_sync)) runs one pipelined round trip every `sync_interval`
//! `d` (default 100 ms): for every key checked since the last round it sends the replica's
//! admissions `p`, and a Lua script adds them to the key's *shared* TAT in Redis
//! (`tat = max(tat, now) + p·T`, `now` from Redis's own clock, the key's TTL = its TAT) and
//! answers how far that TAT runs ahead of now (its *fill*). The replica then raises its local
//! TAT to `now + fill + (its admissions since the push)·T`. So every replica's TAT carries all
//! replicas' consumption, late by at most two rounds. Keys: `tollgate:rl:<level>:<parts>`
//! (length-prefixed parts), plus `tollgate:rl:replicas`, a sorted set where each replica
//! heartbeats each round so that all know the number of live replicas `R`.
//!
//! **Error bound.** A replica admits only while its TAT is at most one bucket ahead, and its
//! TAT misses only the other replicas' admissions of the last two rounds (`U`). Hence the sum
//! over all replicas in `k·W` from idle is at most `(k + 1)·N + U`. To bound `U`, each replica
//! may admit at most a *share* of a key between two successful rounds while `R > 1`:
//! `s = max(⌈2·N·d / W⌉, ⌊N / (20·(R − 1))⌋, 1)` — twice what the full rate needs, so one busy
//! replica still reaches the policy's rate, or a twentieth of the quota split among the others.
//! Then `U ≤ 2·(R − 1)·s ≤ max(4·(R − 1)·N·d/W + 2·(R − 1), N / 10)`, and `N / 10` is within
//! 5 % of `(k + 1)·N` for every `k ≥ 1`. So the sum stays within the contract's 5 % whenever
//! `4·(R − 1)·d / W + 2·(R − 1) / N ≤ 0.1`: with the default `d` = 100 ms and two replicas, any
//! policy with `W ≥ 8 s` and `N ≥ 40` (per-minute quotas from 40/min, hour and day quotas);
//! one-second spike-arrest windows need `d ≤ 12 ms / (R − 1)` for the same guarantee, else
//! their excess is the formula (small quotas: at most `2·(R − 1)` requests over).
//! The share makes a replica refuse (429, `Retry-After: 1`) bursts above `s` per round, even
//! from idle: the price of the bound. Lower bound: fills are read from Redis half a round trip
//! before they are applied, which only errs on the strict side by that much time per round.
//!
//! **Redis down or slow.** A round that fails or exceeds `redis_timeout` is counted in
//! `tollgate_rate_limit_redis_errors_total` and logged (at most every 10 s), and lifts the
//! shares at once: each replica enforces the whole policy locally (sum ≤ `R`× the policy).
//! Shares also lapse when no round has succeeded for two intervals plus `redis_timeout`. The `redis` `ConnectionManager` reconnects on
//! I/O errors; after three failed rounds in a row the task builds a new one, with backoff up to
//! 2 s. Counts of failed rounds are dropped rather than replayed, so an outage never throttles
//! callers after the fact. Needs one Redis node (scripts touch many keys; not Redis Cluster).
//!
//! # Headers
//! [`QuotaStatus::headers`] renders draft-ietf-httpapi-ratelimit-headers-09/-10 fields naming
//! the tier. 429s report the refusing tier; with `headers = true`, admitted responses report
//! the most constrained tier (fewest requests remaining).

mod gcra;
mod limiter;
mod metrics;
mod redis_sync;
mod settings;
mod sync;
mod table;
mod throttled;
mod tiers;

pub use limiter::RateLimiter;
pub use settings::{RateLimitBackend, RateLimitSettings};
pub use throttled::{QuotaStatus, RATELIMIT, RATELIMIT_POLICY, ThrottleLevel, Throttled};

#[cfg(test)]
mod redis_tests;
#[cfg(test)]
mod tests;
