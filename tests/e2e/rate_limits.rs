//! client.md, "Rate limits" and the 429 rows of "Error responses", through the real gateway
//! (GitHub issue 4): each tier's code and headers, the contract's bound over k windows,
//! `Unlimited` and `stopOnQuotaReach: false`, `Unauthenticated` per client IP, a policy change
//! during traffic, and replicas sharing counts through a real redis-server.
//!
//! Deterministic checks use windows of a minute (nothing refills while a test runs); bounds use
//! short windows and continuous traffic, checked against the interval actually measured.

mod anonymous;
mod bound;
mod fixture;
mod policy_change;
mod replicas;
mod tiers;
mod traffic;
mod unlimited;
