//! TLS metrics of `contract/operator.md`.

use prometheus::{IntCounter, IntGaugeVec, Opts, Registry};

/// The label of the default certificate's expiry gauge.
pub(crate) const DEFAULT_LABEL: &str = "default";

/// `tollgate_tls_handshake_failures_total` and
/// `tollgate_tls_certificate_expiry_timestamp_seconds{server_name}`. Label values are configured
/// server names (and `default`), never names sent by clients.
#[derive(Debug, Clone)]
pub struct TlsMetrics {
    handshake_failures: IntCounter,
    certificate_expiry: IntGaugeVec,
}

// === impl TlsMetrics ===

impl TlsMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::unregistered()?;
        registry.register(Box::new(metrics.handshake_failures.clone()))?;
        registry.register(Box::new(metrics.certificate_expiry.clone()))?;
        Ok(metrics)
    }

    /// Metrics that count but are exposed nowhere; for benches and unit tests.
    pub fn unregistered() -> prometheus::Result<Self> {
        Ok(TlsMetrics {
            handshake_failures: IntCounter::new(
                "tollgate_tls_handshake_failures_total",
                "TLS handshakes that failed on the HTTPS listener",
            )?,
            certificate_expiry: IntGaugeVec::new(
                Opts::new(
                    "tollgate_tls_certificate_expiry_timestamp_seconds",
                    "notAfter of the certificate served for a configured server name, in Unix seconds",
                ),
                &["server_name"],
            )?,
        })
    }

    /// Counts one failed handshake; the listener calls it when `TlsAcceptor::accept` fails.
    pub fn handshake_failed(&self) {
        self.handshake_failures.inc();
    }

    pub(crate) fn certificate_loaded(&self, server_name: &str, not_after: i64) {
        self.certificate_expiry.with_label_values(&[server_name]).set(not_after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_the_contract_names() -> prometheus::Result<()> {
        let registry = Registry::new();
        let metrics = TlsMetrics::register(&registry)?;
        metrics.handshake_failed();
        metrics.handshake_failed();
        metrics.certificate_loaded("api.example.com", 1_900_000_000);
        let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather())?;
        assert!(text.contains("\ntollgate_tls_handshake_failures_total 2\n"), "{text}");
        let expiry = "tollgate_tls_certificate_expiry_timestamp_seconds{server_name=\"api.example.com\"} 1900000000";
        assert!(text.contains(expiry), "{text}");
        Ok(())
    }
}
