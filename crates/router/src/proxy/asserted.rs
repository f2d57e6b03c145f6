//! The headers the gateway asserts on a forwarded request, sent after the client's own.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::trace::{TRACEPARENT, TraceparentValue};

pub(super) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(super) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(super) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub(super) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The names [`Asserted::iter`] lends out (a static: a `const` would be a temporary).
static FORWARDING_NAMES: [HeaderName; 4] = [X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST, X_REQUEST_ID];

/// The headers the gateway asserts on a forwarded request, sent after the client's own
/// (from which [`prepare_request_headers`](super::prepare_request_headers) removed every
/// incoming copy of them), in this order: `X-Forwarded-For`, `X-Forwarded-Proto`,
/// `X-Forwarded-Host`, `X-Request-ID`, the others in the order they were added, then
/// `traceparent`.
///
/// The headers every request carries have fields of their own, so that a request asserting
/// nothing else allocates nothing here; `traceparent` is kept as its bytes, which the lean
/// exchange writes as they are.
#[derive(Debug, Clone, Default)]
pub struct Asserted {
    forwarded_for: Option<HeaderValue>,
    forwarded_proto: Option<HeaderValue>,
    forwarded_host: Option<HeaderValue>,
    request_id: Option<HeaderValue>,
    /// Identity headers, the backend JWT, `tracestate`.
    others: Vec<(HeaderName, HeaderValue)>,
    /// Set per attempt.
    traceparent: Option<TraceparentValue>,
}

// === impl Asserted ===

impl Asserted {
    /// The `X-Forwarded-*` and `X-Request-ID` headers (no `X-Forwarded-Host` when `host` is
    /// `None`).
    pub(super) fn forwarding(
        forwarded_for: HeaderValue,
        proto: &'static str,
        host: Option<HeaderValue>,
        request_id: HeaderValue,
    ) -> Self {
        Asserted {
            forwarded_for: Some(forwarded_for),
            forwarded_proto: Some(HeaderValue::from_static(proto)),
            forwarded_host: host,
            request_id: Some(request_id),
            others: Vec::new(),
            traceparent: None,
        }
    }

    /// Sets this attempt's `traceparent`, replacing the previous attempt's.
    pub(super) fn set_traceparent(&mut self, value: TraceparentValue) {
        self.traceparent = Some(value);
    }

    /// This attempt's `traceparent`, sent after every other asserted header.
    pub(super) fn traceparent(&self) -> Option<&[u8]> {
        self.traceparent.as_ref().map(TraceparentValue::as_bytes)
    }

    /// Sets the asserted header `name` to `value`, replacing an earlier one.
    pub fn set(&mut self, name: HeaderName, value: HeaderValue) {
        if let Some(field) = self.field_mut(&name) {
            *field = Some(value);
            return;
        }
        match self.others.iter_mut().find(|(asserted, _)| *asserted == name) {
            Some((_, old)) => *old = value,
            None => self.others.push((name, value)),
        }
    }

    /// Adds `headers` after the others.
    pub(super) fn extend(&mut self, headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>) {
        self.others.extend(headers);
    }

    /// The asserted headers but `traceparent` (see [`Asserted::traceparent`]).
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        let values = [&self.forwarded_for, &self.forwarded_proto, &self.forwarded_host, &self.request_id];
        let first = FORWARDING_NAMES.iter().zip(values).filter_map(|(name, value)| Some((name, value.as_ref()?)));
        first.chain(self.others.iter().map(|(name, value)| (name, value)))
    }

    /// Appends the asserted headers to `headers`.
    pub fn append_to(&self, headers: &mut HeaderMap) {
        headers.reserve(self.others.len() + 5);
        for (name, value) in self.iter() {
            headers.append(name.clone(), value.clone());
        }
        if let Some(traceparent) = &self.traceparent {
            headers.append(TRACEPARENT, traceparent.to_header_value());
        }
    }

    fn field_mut(&mut self, name: &HeaderName) -> Option<&mut Option<HeaderValue>> {
        match name {
            _ if *name == X_FORWARDED_FOR => Some(&mut self.forwarded_for),
            _ if *name == X_FORWARDED_PROTO => Some(&mut self.forwarded_proto),
            _ if *name == X_FORWARDED_HOST => Some(&mut self.forwarded_host),
            _ if *name == X_REQUEST_ID => Some(&mut self.request_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{SpanId, TraceId, Traceparent};

    fn traceparent() -> TraceparentValue {
        Traceparent::value(&TraceId::random(), &SpanId::random(), false)
    }

    #[test]
    fn forwarding_headers_come_first_then_the_others_in_order() {
        let value = HeaderValue::from_static("v");
        let mut asserted = Asserted::forwarding(value.clone(), "https", None, value.clone());
        asserted.set_traceparent(traceparent());
        asserted.extend([(HeaderName::from_static("x-tollgate-key-type"), value.clone())]);
        asserted.set(HeaderName::from_static("tracestate"), value);
        let names: Vec<_> = asserted.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            ["x-forwarded-for", "x-forwarded-proto", "x-request-id", "x-tollgate-key-type", "tracestate"]
        );
        let mut headers = HeaderMap::new();
        asserted.append_to(&mut headers);
        assert_eq!(headers.len(), 6, "and the traceparent");
    }

    #[test]
    fn set_replaces_an_earlier_value() {
        let mut asserted = Asserted::default();
        let (first, second) = (traceparent(), traceparent());
        for (value, traceparent) in [("first", first), ("second", second)] {
            asserted.set_traceparent(traceparent);
            asserted.set(HeaderName::from_static("x-user"), HeaderValue::from_static(value));
        }
        let mut headers = HeaderMap::new();
        asserted.append_to(&mut headers);
        assert_eq!(headers.len(), 2);
        assert_eq!(headers.get(TRACEPARENT).map(HeaderValue::as_bytes), Some(second.as_bytes()));
        assert_eq!(asserted.traceparent(), Some(second.as_bytes()));
        assert_eq!(headers.get("x-user").map(HeaderValue::as_bytes), Some(&b"second"[..]));
    }
}
