use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::Method;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::api::Api;

/// Latency buckets for a gateway: from half a millisecond to a minute.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The router's Prometheus metrics (operator.md). Label values come from configuration
/// (API name and version, the method as a known token, the status code), never from raw
/// request paths or tokens.
#[derive(Debug, Clone)]
pub struct RouterMetrics {
    /// Tells this set of metrics from any other in the process (see [`ApiMetrics`]).
    instance: u64,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    upstream_duration: HistogramVec,
    upstream_errors: IntCounterVec,
    connections: IntGaugeVec,
    connection_errors: IntCounterVec,
    access_log_dropped: IntCounter,
}

/// `tollgate_connection_errors_total` of one listener, one counter per kind.
#[derive(Debug, Clone)]
pub struct ConnectionErrors {
    pub(crate) accept: IntCounter,
    pub(crate) handshake: IntCounter,
    pub(crate) header_timeout: IntCounter,
    pub(crate) send_timeout: IntCounter,
    pub(crate) protocol: IntCounter,
}

impl RouterMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::unregistered()?;
        registry.register(Box::new(metrics.requests.clone()))?;
        registry.register(Box::new(metrics.request_duration.clone()))?;
        registry.register(Box::new(metrics.upstream_duration.clone()))?;
        registry.register(Box::new(metrics.upstream_errors.clone()))?;
        registry.register(Box::new(metrics.connections.clone()))?;
        registry.register(Box::new(metrics.connection_errors.clone()))?;
        registry.register(Box::new(metrics.access_log_dropped.clone()))?;
        Ok(metrics)
    }

    /// Metrics that count but are exposed nowhere; for benches and unit tests.
    pub fn unregistered() -> prometheus::Result<Self> {
        let latency = |name: &str, help: &str| {
            HistogramVec::new(HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()), &["api", "version"])
        };
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        Ok(RouterMetrics {
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
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
            connection_errors: IntCounterVec::new(
                Opts::new(
                    "tollgate_connection_errors_total",
                    "Client connections ended by an error, by listener and kind",
                ),
                &["listener", "kind"],
            )?,
            access_log_dropped: IntCounter::new(
                "tollgate_access_log_dropped_total",
                "Access-log lines dropped because the writer could not keep up",
            )?,
        })
    }

    /// Counts an answered request: from `api`'s own handle when its method's first successful
    /// status is `code` (the common case: no label hashing, no lock), else by label lookup.
    pub(crate) fn request(&self, api: Option<&Api>, method: &Method, code: u16) {
        let (index, method) = method_label(method);
        let handles = api.and_then(|api| self.handles(api).map(|handles| (api, handles)));
        if let Some((api, handles)) = handles
            && let Some(counter) = handles.answered(index, code, || self.requests_of(Some(api), method, code))
        {
            counter.inc();
            return;
        }
        self.requests_of(api, method, code).inc();
    }

    fn requests_of(&self, api: Option<&Api>, method: &str, code: u16) -> IntCounter {
        let buf = itoa_status(code);
        let code = std::str::from_utf8(&buf).unwrap_or("000");
        let [api, version] = labels(api);
        self.requests.with_label_values(&[api, version, method, code])
    }

    /// The request-duration histogram of `api` (labels `""` without one).
    pub(crate) fn request_duration(&self, api: Option<&Api>) -> Histogram {
        match api.and_then(|api| self.handles(api)) {
            Some(handles) => handles.request_duration.clone(),
            None => self.request_duration.with_label_values(&labels(api)),
        }
    }

    pub(crate) fn upstream_duration(&self, api: Option<&Api>, seconds: f64) {
        match api.and_then(|api| self.handles(api)) {
            Some(handles) => handles.upstream_duration.observe(seconds),
            None => self.upstream_duration.with_label_values(&labels(api)).observe(seconds),
        }
    }

    /// `api`'s histograms, resolved once per API (a label lookup hashes the label values and
    /// takes a lock) and kept with it, unless another set of metrics got there first.
    fn handles<'a>(&self, api: &'a Api) -> Option<&'a ApiHandles> {
        let handles = api.metrics.0.get_or_init(|| {
            let labels = labels(Some(api));
            ApiHandles {
                instance: self.instance,
                request_duration: self.request_duration.with_label_values(&labels),
                upstream_duration: self.upstream_duration.with_label_values(&labels),
                upstream_timeouts: self.upstream_errors.with_label_values(&[labels[0], labels[1], "timeout"]),
                answered: Default::default(),
            }
        });
        (handles.instance == self.instance).then_some(handles)
    }

    pub(crate) fn upstream_error(&self, api: Option<&Api>, kind: &str) {
        let [api, version] = labels(api);
        self.upstream_errors.with_label_values(&[api, version, kind]).inc();
    }

    /// The gauge of open connections on `listener` (`https` or `http`).
    pub fn connections(&self, listener: &str) -> prometheus::IntGauge {
        self.connections.with_label_values(&[listener])
    }

    /// The connection-error counters of `listener`, each kind's series present (at 0) from
    /// this call on.
    pub fn connection_errors(&self, listener: &str) -> ConnectionErrors {
        let kind = |kind: &str| self.connection_errors.with_label_values(&[listener, kind]);
        ConnectionErrors {
            accept: kind("accept"),
            handshake: kind("handshake"),
            header_timeout: kind("header_timeout"),
            send_timeout: kind("send_timeout"),
            protocol: kind("protocol"),
        }
    }

    /// The counter of upstream bodies that paused longer than their endpoint's timeout,
    /// counted as `tollgate_upstream_errors_total{kind="timeout"}`.
    pub(crate) fn upstream_body_timeouts(&self, api: &Api) -> IntCounter {
        match self.handles(api) {
            Some(handles) => handles.upstream_timeouts.clone(),
            None => self.upstream_errors.with_label_values(&[&*api.guard.name, &*api.guard.version, "timeout"]),
        }
    }

    pub fn access_log_dropped(&self) -> IntCounter {
        self.access_log_dropped.clone()
    }
}

/// The metric handles of one API, filled on its first request; part of [`Api`] so that a
/// new deployment (a new `Api`) starts afresh.
#[derive(Debug, Default)]
pub struct ApiMetrics(OnceLock<ApiHandles>);

#[derive(Debug)]
struct ApiHandles {
    /// The [`RouterMetrics`] these belong to.
    instance: u64,
    request_duration: Histogram,
    upstream_duration: Histogram,
    upstream_timeouts: IntCounter,
    /// Per method label (by [`method_label`]'s index), the `tollgate_requests_total` series of
    /// the first successful (2xx) status the API answered it with.
    answered: [OnceLock<(u16, IntCounter)>; METHOD_LABELS],
}

/// How many method label values there are.
const METHOD_LABELS: usize = 10;

/// The method as a metric label, with its index among the labels: the standard methods by
/// name, anything else `OTHER`, so a client cannot create label values.
fn method_label(method: &Method) -> (usize, &'static str) {
    match *method {
        Method::GET => (0, "GET"),
        Method::POST => (1, "POST"),
        Method::PUT => (2, "PUT"),
        Method::PATCH => (3, "PATCH"),
        Method::DELETE => (4, "DELETE"),
        Method::HEAD => (5, "HEAD"),
        Method::OPTIONS => (6, "OPTIONS"),
        Method::CONNECT => (7, "CONNECT"),
        Method::TRACE => (8, "TRACE"),
        _ => (METHOD_LABELS - 1, "OTHER"),
    }
}

// === impl ApiHandles ===

impl ApiHandles {
    /// The counter of the method at index `method` answered with `code`, when it is the one kept for the method:
    /// the first 2xx status counted for it (made by `lookup`). `None`: count by label lookup.
    fn answered(&self, method: usize, code: u16, lookup: impl FnOnce() -> IntCounter) -> Option<&IntCounter> {
        let slot = self.answered.get(method)?;
        let (kept, counter) = match slot.get() {
            Some(kept) => kept,
            None if (200..300).contains(&code) => slot.get_or_init(|| (code, lookup())),
            None => return None,
        };
        (*kept == code).then_some(counter)
    }
}

/// The `api` and `version` label values.
fn labels(api: Option<&Api>) -> [&str; 2] {
    api.map_or(["", ""], |api| [&*api.guard.name, &*api.guard.version])
}

/// A status code as three ASCII digits, without allocating.
fn itoa_status(code: u16) -> [u8; 3] {
    let code = code.min(999);
    [b'0' + (code / 100) as u8, b'0' + (code / 10 % 10) as u8, b'0' + (code % 10) as u8]
}

#[cfg(test)]
mod tests {
    use http::HeaderName;
    use tollgate_enforcer::ApiGuard;

    use super::*;
    use crate::api::Endpoints;

    fn api() -> Api {
        let guard = ApiGuard {
            id: "a".into(),
            name: "pets".into(),
            version: "v1".into(),
            blocked: false,
            throttling_policy: None,
            schemes: Default::default(),
            base_paths: Box::new([]),
            client_certificates: Default::default(),
        };
        Api {
            guard,
            base_paths: Box::new([]),
            vhosts: Box::new([]),
            auth_header: HeaderName::from_static("authorization"),
            api_key: Default::default(),
            endpoints: Endpoints::default(),
            cors: None,
            backend_jwt: false,
            operations: Box::new([]),
            metrics: ApiMetrics::default(),
        }
    }

    fn upstream_count(metrics: &RouterMetrics, labels: [&str; 2]) -> u64 {
        metrics.upstream_duration.with_label_values(&labels).get_sample_count()
    }

    #[test]
    fn cached_handles_count_under_the_api_labels_of_their_own_metrics() -> prometheus::Result<()> {
        let (first, second) = (RouterMetrics::unregistered()?, RouterMetrics::unregistered()?);
        let api = api();
        for _ in 0..3 {
            first.upstream_duration(Some(&api), 0.01);
        }
        second.upstream_duration(Some(&api), 0.01);
        first.upstream_duration(None, 0.01);
        assert_eq!(upstream_count(&first, ["pets", "v1"]), 3);
        assert_eq!(upstream_count(&second, ["pets", "v1"]), 1, "the handles cached for `first` are not `second`'s");
        assert_eq!(upstream_count(&first, ["", ""]), 1);
        first.request_duration(Some(&api)).observe(0.5);
        assert_eq!(first.request_duration.with_label_values(&["pets", "v1"]).get_sample_count(), 1);
        Ok(())
    }

    fn answered(metrics: &RouterMetrics, labels: [&str; 4]) -> u64 {
        metrics.requests.with_label_values(&labels).get()
    }

    #[test]
    fn answered_requests_count_under_their_method_and_status_kept_or_not() -> prometheus::Result<()> {
        let (first, second) = (RouterMetrics::unregistered()?, RouterMetrics::unregistered()?);
        let api = api();
        let purge = Method::from_bytes(b"PURGE").map_err(|e| prometheus::Error::Msg(e.to_string()))?;
        let answers = [(Method::GET, 404), (Method::GET, 200), (Method::GET, 200), (Method::GET, 500)];
        for (method, code) in answers.into_iter().chain([(Method::POST, 201), (Method::GET, 200), (purge, 204)]) {
            first.request(Some(&api), &method, code);
        }
        second.request(Some(&api), &Method::GET, 200);
        first.request(None, &Method::GET, 200);
        assert_eq!(answered(&first, ["pets", "v1", "GET", "200"]), 3, "the kept series");
        assert_eq!(answered(&first, ["pets", "v1", "GET", "404"]), 1, "before any 2xx: not kept");
        assert_eq!(answered(&first, ["pets", "v1", "GET", "500"]), 1, "another status than the kept one");
        assert_eq!(answered(&first, ["pets", "v1", "POST", "201"]), 1);
        assert_eq!(answered(&first, ["pets", "v1", "OTHER", "204"]), 1, "an unknown method is no label of its own");
        assert_eq!(answered(&first, ["", "", "GET", "200"]), 1, "no API");
        assert_eq!(answered(&second, ["pets", "v1", "GET", "200"]), 1, "`first`'s handles are not `second`'s");
        Ok(())
    }
}
