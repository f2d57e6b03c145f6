//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): the `traceparent` header parsed
//! strictly, ids made and written back, and the `tracestate` that travels with them.

use http::header::HeaderValue;
use http::{HeaderMap, HeaderName};

pub(crate) const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub(crate) const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// `tracestate` longer than this (all lines joined) is not forwarded: W3C §3.3.1.5 asks
/// vendors to propagate at least 512 characters and lets them drop the rest.
const MAX_TRACESTATE_LEN: usize = 512;

/// Length of a version-00 `traceparent`: `vv-<32 hex>-<16 hex>-ff`.
const TRACEPARENT_LEN: usize = 55;

/// A 16-byte trace id, never all zeroes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId([u8; 16]);

/// An 8-byte span id, never all zeroes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanId([u8; 8]);

/// A version-00 `traceparent` value as its bytes: written into a lean request head as they
/// are, made a [`HeaderValue`] only where a header map needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceparentValue([u8; TRACEPARENT_LEN]);

/// What a valid `traceparent` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traceparent {
    pub trace_id: TraceId,
    /// The caller's span: the parent of the gateway's server span.
    pub parent_id: SpanId,
    /// The `sampled` trace flag.
    pub sampled: bool,
}

// === impl TraceId ===

impl TraceId {
    /// A random trace id.
    pub fn random() -> Self {
        // A zero draw has probability 2^-128; map it to 1 rather than loop.
        TraceId(rand::random::<u128>().max(1).to_be_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The id in lowercase hex (32 characters), as `traceparent` and the access log write it.
    pub fn to_hex(&self) -> String {
        let mut out = [0u8; 32];
        self.write_hex(&mut out).to_owned()
    }

    /// [`to_hex`](Self::to_hex) into `out`, without allocating.
    pub fn write_hex<'o>(&self, out: &'o mut [u8; 32]) -> &'o str {
        write_hex(out, &self.0);
        // Hex digits are ASCII.
        std::str::from_utf8(out).unwrap_or_default()
    }

    /// The low 8 bytes as a number: the part a ratio sampler compares (OpenTelemetry's
    /// `TraceIdRatioBased`), so every service of a trace decides alike.
    pub(crate) fn low_u64(&self) -> u64 {
        let mut low = [0u8; 8];
        low.copy_from_slice(&self.0[8..]);
        u64::from_be_bytes(low)
    }
}

// === impl SpanId ===

impl SpanId {
    /// A random span id.
    pub fn random() -> Self {
        SpanId(rand::random::<u64>().max(1).to_be_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

// === impl Traceparent ===

impl Traceparent {
    /// The request's context: one valid `traceparent` header, else `None` (absent, repeated
    /// or invalid all start a new trace; never an error).
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut values = headers.get_all(TRACEPARENT).iter();
        let value = values.next()?;
        match values.next() {
            Some(_) => None,
            None => Self::parse(value.as_bytes()),
        }
    }

    /// Parses one `traceparent` value (W3C §3.2). Version `00` is exactly 55 characters;
    /// a higher version (not `ff`) may be longer, with a `-` after the first 55, which are
    /// read as version `00` (§4.3). Hex is lowercase; all-zero ids are invalid.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let version = hex_byte(value.get(0..2)?)?;
        let length_fits = match version {
            0x00 => value.len() == TRACEPARENT_LEN,
            0xff => false,
            _ => value.len() == TRACEPARENT_LEN || value.get(TRACEPARENT_LEN) == Some(&b'-'),
        };
        if !length_fits || [2, 35, 52].iter().any(|&at| value[at] != b'-') {
            return None;
        }
        let trace_id = TraceId(hex_array(&value[3..35])?);
        let parent_id = SpanId(hex_array(&value[36..52])?);
        let flags = hex_byte(&value[53..55])?;
        let nonzero = trace_id.0 != [0; 16] && parent_id.0 != [0; 8];
        nonzero.then_some(Traceparent { trace_id, parent_id, sampled: flags & 1 == 1 })
    }

    /// The version-00 header value for a request sent on behalf of span `span_id`.
    pub fn header_value(trace_id: &TraceId, span_id: &SpanId, sampled: bool) -> HeaderValue {
        Self::value(trace_id, span_id, sampled).to_header_value()
    }

    /// The same value as its bytes, made without allocating.
    pub fn value(trace_id: &TraceId, span_id: &SpanId, sampled: bool) -> TraceparentValue {
        let mut out = [0u8; TRACEPARENT_LEN];
        out[..3].copy_from_slice(b"00-");
        write_hex(&mut out[3..35], &trace_id.0);
        out[35] = b'-';
        write_hex(&mut out[36..52], &span_id.0);
        out[52..].copy_from_slice(if sampled { b"-01" } else { b"-00" });
        TraceparentValue(out)
    }
}

// === impl TraceparentValue ===

impl TraceparentValue {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// As a header value (an allocation).
    pub fn to_header_value(&self) -> HeaderValue {
        // Hex digits and dashes are always a valid header value.
        HeaderValue::from_bytes(&self.0).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The client's `tracestate`, its lines joined with `,`, when it is at most 512 bytes.
pub(crate) fn tracestate(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(TRACESTATE).iter();
    let first = values.next()?;
    let rest: Vec<&HeaderValue> = values.collect();
    if rest.is_empty() {
        return (first.len() <= MAX_TRACESTATE_LEN).then(|| first.clone());
    }
    let mut joined = first.as_bytes().to_vec();
    for value in rest {
        joined.push(b',');
        joined.extend_from_slice(value.as_bytes());
    }
    (joined.len() <= MAX_TRACESTATE_LEN).then(|| HeaderValue::from_bytes(&joined).ok()).flatten()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
}

/// One lowercase hex digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    Some(nibble(pair[0])? << 4 | nibble(pair[1])?)
}

fn hex_array<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = hex_byte(pair)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
