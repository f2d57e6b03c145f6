use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Latency buckets for a gateway: from half a millisecond to a minute.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The router's Prometheus metrics (operator.md). Label values come from configuration
/// (API name and version, the method as a known token, the status code), never from raw
/// request paths or tokens.
#[derive(Debug, Clone)]
pub struct RouterMetrics {
    requests: IntCounterVec,
    request_duration: HistogramVec,
    upstream_duration: HistogramVec,
    upstream_errors: IntCounterVec,
    connections: IntGaugeVec,
    access_log_dropped: IntCounter,
}

impl RouterMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::unregistered()?;
        registry.register(Box::new(metrics.requests.clone()))?;
        registry.register(Box::new(metrics.request_duration.clone()))?;
        registry.register(Box::new(metrics.upstream_duration.clone()))?;
        registry.register(Box::new(metrics.upstream_errors.clone()))?;
        registry.register(Box::new(metrics.connections.clone()))?;
        registry.register(Box::new(metrics.access_log_dropped.clone()))?;
        Ok(metrics)
    }

    /// Metrics that count but are exposed nowhere; for benches and unit tests.
    pub fn unregistered() -> prometheus::Result<Self> {
        let latency = |name: &str, help: &str| {
            HistogramVec::new(HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()), &["api", "version"])
        };
        Ok(RouterMetrics {
            requests: IntCounterVec::new(
                Opts::new("tollgate_requests_total", "Requests answered, by API, method and status code"),
                &["api", "version", "method", "code"],
            )?,
            request_duration: latency(
                "tollgate_request_duration_seconds",
                "Time from request head to the end of the response body",
            )?,
            upstream_duration: latency(
                "tollgate_upstream_duration_seconds",
                "Time from sending to the upstream to its response head",
            )?,
            upstream_errors: IntCounterVec::new(
                Opts::new("tollgate_upstream_errors_total", "Failed upstream exchanges by kind"),
                &["api", "version", "kind"],
            )?,
            connections: IntGaugeVec::new(
                Opts::new("tollgate_connections_active", "Open client connections by listener"),
                &["listener"],
            )?,
            access_log_dropped: IntCounter::new(
                "tollgate_access_log_dropped_total",
                "Access-log lines dropped because the writer could not keep up",
            )?,
        })
    }

    pub(crate) fn request(&self, api: &str, version: &str, method: &str, code: u16) {
        let buf = itoa_status(code);
        let code = std::str::from_utf8(&buf).unwrap_or("000");
        self.requests.with_label_values(&[api, version, method, code]).inc();
    }

    pub(crate) fn request_duration(&self, api: &str, version: &str) -> Histogram {
        self.request_duration.with_label_values(&[api, version])
    }

    pub(crate) fn upstream_duration(&self, api: &str, version: &str, seconds: f64) {
        self.upstream_duration.with_label_values(&[api, version]).observe(seconds);
    }

    pub(crate) fn upstream_error(&self, api: &str, version: &str, kind: &str) {
        self.upstream_errors.with_label_values(&[api, version, kind]).inc();
    }

    /// The gauge of open connections on `listener` (`https` or `http`).
    pub fn connections(&self, listener: &str) -> prometheus::IntGauge {
        self.connections.with_label_values(&[listener])
    }

    pub fn access_log_dropped(&self) -> IntCounter {
        self.access_log_dropped.clone()
    }
}

/// A status code as three ASCII digits, without allocating.
fn itoa_status(code: u16) -> [u8; 3] {
    let code = code.min(999);
    [b'0' + (code / 100) as u8, b'0' + (code / 10 % 10) as u8, b'0' + (code % 10) as u8]
}
