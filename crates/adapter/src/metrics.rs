//! The adapter's Prometheus metrics (operator.md).

use prometheus::{Gauge, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::dto::EventKind;
use crate::kind::EntityCounts;
use crate::rejected::{EntityKind, Rejected};

/// Metrics of the configuration path. Label values are fixed words, never input; every
/// label value of a counter exists at 0 from the start (operator.md), so that an alert on an
/// increase fires on the first event.
#[derive(Debug, Clone)]
pub struct AdapterMetrics {
    revision: IntGauge,
    entities: IntGaugeVec,
    rejected: IntCounterVec,
    rejected_entities: IntGaugeVec,
    last_applied: Gauge,
    sync_failures: IntCounterVec,
    source_events: IntCounterVec,
}

/// What became of one event of the control plane, as the `result` label of
/// `tollgate_source_events_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventResult {
    Applied,
    /// An event type this gateway does not know (control-plane.md: skipped, its revision
    /// still counts).
    Skipped,
    /// Its entity failed validation; the previous version stays.
    Rejected,
}

/// Why a sync attempt failed, as the `reason` label of `tollgate_config_sync_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncFailure {
    /// The source could not be reached (connect, TLS, timeout).
    Network,
    /// The control plane answered 5xx.
    Server,
    /// The control plane answered 401/403.
    Unauthorized,
    /// A 410, or a gap in revisions: a new snapshot is needed.
    Resync,
    /// A snapshot or event page could not be decoded.
    Decode,
    /// Local I/O (reading files, writing the last-known-good state).
    Io,
    /// An answer outside the protocol: an unexpected status (404, 400, ...), a snapshot for
    /// another environment or without a revision.
    Protocol,
}

// === impl AdapterMetrics ===

impl AdapterMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::unregistered()?;
        registry.register(Box::new(metrics.revision.clone()))?;
        registry.register(Box::new(metrics.entities.clone()))?;
        registry.register(Box::new(metrics.rejected.clone()))?;
        registry.register(Box::new(metrics.rejected_entities.clone()))?;
        registry.register(Box::new(metrics.last_applied.clone()))?;
        registry.register(Box::new(metrics.sync_failures.clone()))?;
        registry.register(Box::new(metrics.source_events.clone()))?;
        Ok(metrics)
    }

    /// Metrics that count but are exposed nowhere; for tests, benches and `tollgate check`.
    pub fn unregistered() -> prometheus::Result<Self> {
        let metrics = AdapterMetrics {
            revision: IntGauge::new("tollgate_config_revision", "Revision of the applied configuration")?,
            entities: IntGaugeVec::new(
                Opts::new("tollgate_config_entities", "Entities in the applied configuration, by kind"),
                &["kind"],
            )?,
            rejected: IntCounterVec::new(
                Opts::new("tollgate_config_rejected_total", "Configuration entities rejected, by entity kind"),
                &["entity"],
            )?,
            rejected_entities: IntGaugeVec::new(
                Opts::new(
                    "tollgate_config_rejected_entities",
                    "Entities rejected in the serving configuration now, by entity kind",
                ),
                &["entity"],
            )?,
            last_applied: Gauge::new(
                "tollgate_config_last_applied_timestamp_seconds",
                "Unix time at which the configuration was last applied",
            )?,
            sync_failures: IntCounterVec::new(
                Opts::new("tollgate_config_sync_failures_total", "Failed configuration sync attempts, by reason"),
                &["reason"],
            )?,
            source_events: IntCounterVec::new(
                Opts::new("tollgate_source_events_total", "Events of the configuration source, by type and result"),
                &["type", "result"],
            )?,
        };
        metrics.start_every_series_at_zero();
        Ok(metrics)
    }

    pub(crate) fn record_applied(&self, revision: u64, counts: &EntityCounts, rejected: &[Rejected], now: u64) {
        self.revision.set(i64::try_from(revision).unwrap_or(i64::MAX));
        for kind in EntityKind::ENTITIES {
            let count = i64::try_from(counts[kind]).unwrap_or(i64::MAX);
            self.entities.with_label_values(&[kind.as_str()]).set(count);
        }
        self.record_rejected(rejected);
        self.last_applied.set(now as f64);
    }

    pub(crate) fn record_rejected(&self, rejected: &[Rejected]) {
        for rejection in rejected {
            self.rejected.with_label_values(&[rejection.entity.as_str()]).inc();
        }
    }

    /// Sets `tollgate_config_rejected_entities` to the rejections in force now.
    pub(crate) fn record_outstanding(&self, outstanding: &[Rejected]) {
        for kind in EntityKind::ALL {
            let count = outstanding.iter().filter(|rejected| rejected.entity == kind).count();
            self.rejected_entities.with_label_values(&[kind.as_str()]).set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    pub(crate) fn record_sync_failure(&self, reason: SyncFailure) {
        self.sync_failures.with_label_values(&[reason.as_str()]).inc();
    }

    pub(crate) fn record_event(&self, kind: &EventKind, result: EventResult) {
        self.source_events.with_label_values(&[kind.as_str(), result.as_str()]).inc();
    }

    /// Creates every series of a closed set of label values, at 0.
    fn start_every_series_at_zero(&self) {
        for kind in EntityKind::ALL {
            self.rejected.with_label_values(&[kind.as_str()]);
            self.rejected_entities.with_label_values(&[kind.as_str()]);
        }
        for reason in SyncFailure::ALL {
            self.sync_failures.with_label_values(&[reason.as_str()]);
        }
        for kind in EventKind::TYPES {
            for result in EventResult::ALL {
                self.source_events.with_label_values(&[kind.as_str(), result.as_str()]);
            }
        }
    }
}

// === impl EventResult ===

impl EventResult {
    pub const ALL: [EventResult; 3] = [EventResult::Applied, EventResult::Skipped, EventResult::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            EventResult::Applied => "applied",
            EventResult::Skipped => "skipped",
            EventResult::Rejected => "rejected",
        }
    }
}

// === impl SyncFailure ===

impl SyncFailure {
    pub const ALL: [SyncFailure; 7] = [
        SyncFailure::Network,
        SyncFailure::Server,
        SyncFailure::Unauthorized,
        SyncFailure::Resync,
        SyncFailure::Decode,
        SyncFailure::Io,
        SyncFailure::Protocol,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncFailure::Network => "network",
            SyncFailure::Server => "server",
            SyncFailure::Unauthorized => "unauthorized",
            SyncFailure::Resync => "resync",
            SyncFailure::Decode => "decode",
            SyncFailure::Io => "io",
            SyncFailure::Protocol => "protocol",
        }
    }
}

#[cfg(test)]
mod tests {
    use prometheus::{Encoder, TextEncoder};

    use super::*;

    fn scrape(registry: &Registry) -> String {
        let mut text = Vec::new();
        TextEncoder::new().encode(&registry.gather(), &mut text).unwrap_or_default();
        String::from_utf8_lossy(&text).into_owned()
    }

    #[test]
    fn every_sync_failure_reason_is_exported_from_the_start() -> prometheus::Result<()> {
        let registry = Registry::new();
        let metrics = AdapterMetrics::register(&registry)?;
        let text = scrape(&registry);
        for reason in SyncFailure::ALL {
            let series = format!("tollgate_config_sync_failures_total{{reason=\"{}\"}} 0", reason.as_str());
            assert!(text.contains(&series), "missing {series} in\n{text}");
        }
        metrics.record_sync_failure(SyncFailure::Server);
        assert!(scrape(&registry).contains("tollgate_config_sync_failures_total{reason=\"server\"} 1"));
        Ok(())
    }

    #[test]
    fn every_entity_and_event_series_is_exported_from_the_start() -> prometheus::Result<()> {
        let registry = Registry::new();
        let metrics = AdapterMetrics::register(&registry)?;
        let text = scrape(&registry);
        for kind in EntityKind::ALL {
            for family in ["tollgate_config_rejected_total", "tollgate_config_rejected_entities"] {
                let series = format!("{family}{{entity=\"{kind}\"}} 0");
                assert!(text.contains(&series), "missing {series} in\n{text}");
            }
        }
        let events = text.lines().filter(|line| line.starts_with("tollgate_source_events_total{")).count();
        assert_eq!(events, EventKind::TYPES.len() * EventResult::ALL.len(), "{text}");
        metrics.record_event(&EventKind::Unknown("API_RENAMED".into()), EventResult::Skipped);
        let text = scrape(&registry);
        assert!(text.contains("tollgate_source_events_total{result=\"skipped\",type=\"unknown\"} 1"), "{text}");
        assert!(!text.contains("API_RENAMED"), "a type name sent by the source is not a label value");
        Ok(())
    }

    #[test]
    fn the_rejected_entities_gauge_is_the_rejections_in_force() -> prometheus::Result<()> {
        let registry = Registry::new();
        let metrics = AdapterMetrics::register(&registry)?;
        let rejected = |entity, id: &str| Rejected { entity, id: id.to_owned(), error: String::new() };
        metrics.record_outstanding(&[rejected(EntityKind::Api, "a"), rejected(EntityKind::Api, "b")]);
        assert!(scrape(&registry).contains("tollgate_config_rejected_entities{entity=\"api\"} 2"));
        metrics.record_outstanding(&[rejected(EntityKind::Document, "x.yaml")]);
        let text = scrape(&registry);
        assert!(text.contains("tollgate_config_rejected_entities{entity=\"api\"} 0"), "{text}");
        assert!(text.contains("tollgate_config_rejected_entities{entity=\"document\"} 1"), "{text}");
        Ok(())
    }
}
