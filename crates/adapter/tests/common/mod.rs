//! Shared test helpers: an applier wired to a real enforcer and store.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Arc;

use tollgate_adapter::{AdapterMetrics, Applier, Engine, EngineHandle, EngineSettings, SourceKind};
use tollgate_enforcer::clock::ManualClock;
use tollgate_enforcer::{Enforcer, EnforcerMetrics, EnforcerSettings};
use tollgate_router::SnapshotStore;

/// 2023-11-14T22:13:20Z.
pub const NOW: u64 = 1_700_000_000;

pub fn applier(source: SourceKind) -> Arc<Applier> {
    applier_with(source, AdapterMetrics::unregistered().unwrap_or_else(|e| panic!("{e}")))
}

pub fn applier_with(source: SourceKind, metrics: AdapterMetrics) -> Arc<Applier> {
    let clock = ManualClock::at(NOW);
    let enforcer_metrics = EnforcerMetrics::unregistered().unwrap_or_else(|e| panic!("{e}"));
    let enforcer = Arc::new(Enforcer::new(EnforcerSettings::default(), clock.clone(), enforcer_metrics));
    Arc::new(Applier::new(Arc::new(SnapshotStore::new()), enforcer, metrics, clock, source))
}

/// An engine serving through `applier`.
pub fn engine(applier: &Arc<Applier>, settings: EngineSettings) -> EngineHandle {
    Engine::start(applier.clone(), settings).unwrap_or_else(|e| panic!("{e}"))
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}
