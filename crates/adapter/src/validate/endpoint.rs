//! An API's `endpoints` and `cors`.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, Method, StatusCode};
use tollgate_router::api::{Cors, Endpoint, EndpointSettings, Endpoints, Retries, Strategy, Target, UpstreamProtocol};

use super::error::{FieldError, Problem};
use super::text::{bounded, non_empty, one_of, text_list};
use crate::dto::{CorsDto, EndpointDto, EndpointsDto, RetriesDto, Text};

/// Upper bound of `timeoutMs` and `connectTimeoutMs`: one hour.
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// Upper bound of `retries.count`.
pub const MAX_RETRIES: u64 = 10;
/// Upper bound of `cors.maxAgeSeconds`: one day.
pub const MAX_CORS_MAX_AGE: u64 = 86_400;

const DEFAULT_TIMEOUT_MS: u64 = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;

/// `endpoints`: production and/or sandbox, at least one.
pub(crate) fn endpoints(dto: Option<EndpointsDto<'_>>) -> Result<Endpoints, FieldError> {
    let dto = dto.ok_or(FieldError::new("endpoints", Problem::Missing))?;
    if dto.production.is_none() && dto.sandbox.is_none() {
        return Err(FieldError::new("endpoints", Problem::NoEndpoint));
    }
    let production = dto.production.map(endpoint).transpose().map_err(|e| e.within("endpoints.production"))?;
    let sandbox = dto.sandbox.map(endpoint).transpose().map_err(|e| e.within("endpoints.sandbox"))?;
    Ok(Endpoints { production: production.map(Arc::new), sandbox: sandbox.map(Arc::new) })
}

/// `cors`, when present.
pub(crate) fn cors(dto: CorsDto<'_>) -> Result<Cors, FieldError> {
    let max_age = dto.max_age_seconds.map(|s| bounded(s, 0, MAX_CORS_MAX_AGE)).transpose();
    Ok(Cors {
        allow_origins: each(text_list(dto.allow_origins, "allowOrigins")?, "allowOrigins", check_origin)?,
        allow_methods: each(text_list(dto.allow_methods, "allowMethods")?, "allowMethods", check_method)?,
        allow_headers: each(text_list(dto.allow_headers, "allowHeaders")?, "allowHeaders", check_header)?,
        expose_headers: each(text_list(dto.expose_headers, "exposeHeaders")?, "exposeHeaders", check_header)?,
        allow_credentials: dto.allow_credentials.unwrap_or(false),
        max_age_seconds: max_age.map_err(FieldError::at("maxAgeSeconds"))?.and_then(|s| u32::try_from(s).ok()),
    })
}

/// Whether two endpoints route the same way (round-robin position aside).
pub(crate) fn same_endpoint(a: &Endpoint, b: &Endpoint) -> bool {
    a.targets == b.targets && a.strategy == b.strategy && a.settings == b.settings
}

fn endpoint(dto: EndpointDto<'_>) -> Result<Endpoint, FieldError> {
    let targets = targets(dto.urls)?;
    let strategy = match dto.kind.as_deref() {
        None => Strategy::LoadBalance,
        Some(kind) => one_of(kind, &STRATEGIES, "load_balance or failover").map_err(FieldError::at("type"))?,
    };
    let settings = EndpointSettings {
        timeout: timeout(dto.timeout_ms, DEFAULT_TIMEOUT_MS).map_err(FieldError::at("timeoutMs"))?,
        connect_timeout: timeout(dto.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS)
            .map_err(FieldError::at("connectTimeoutMs"))?,
        retries: dto.retries.map(retries).transpose().map_err(|e| e.within("retries"))?.unwrap_or_default(),
        protocol: protocol(dto.protocol.as_deref()).map_err(FieldError::at("protocol"))?,
    };
    Ok(Endpoint::new(targets, strategy, settings))
}

const STRATEGIES: [(&str, Strategy); 2] = [("load_balance", Strategy::LoadBalance), ("failover", Strategy::Failover)];

fn targets(urls: Option<Vec<Text<'_>>>) -> Result<Vec<Target>, FieldError> {
    let urls = urls.ok_or(FieldError::new("urls", Problem::Missing))?;
    if urls.is_empty() {
        return Err(FieldError::new("urls", Problem::Empty));
    }
    let parse =
        |(i, url): (usize, &Text<'_>)| Target::parse(url).map_err(|e| FieldError::new(format!("urls[{i}]"), e.into()));
    urls.iter().enumerate().map(parse).collect()
}

fn timeout(value: Option<u64>, default: u64) -> Result<Duration, Problem> {
    bounded(value.unwrap_or(default), 1, MAX_TIMEOUT_MS).map(Duration::from_millis)
}

fn retries(dto: RetriesDto) -> Result<Retries, FieldError> {
    let count = bounded(dto.count.unwrap_or(0), 0, MAX_RETRIES).map_err(FieldError::at("count"))?;
    let status = |(i, code): (usize, u64)| {
        let valid =
            u16::try_from(code).ok().filter(|c| (100..=599).contains(c)).and_then(|c| StatusCode::from_u16(c).ok());
        valid.ok_or_else(|| FieldError::new(format!("statusCodes[{i}]"), Problem::StatusCode))
    };
    let status_codes =
        dto.status_codes.unwrap_or_default().into_iter().enumerate().map(status).collect::<Result<_, _>>()?;
    Ok(Retries { count: u8::try_from(count).unwrap_or(u8::MAX), status_codes })
}

/// `protocol`: `http1` (default; HTTP/2 only if a TLS upstream picks it in ALPN) or `http2`
/// (prior knowledge on `http://`, ALPN `h2` on `https://`).
fn protocol(value: Option<&str>) -> Result<UpstreamProtocol, Problem> {
    const PROTOCOLS: [(&str, UpstreamProtocol); 2] =
        [("http1", UpstreamProtocol::Auto), ("http2", UpstreamProtocol::Http2)];
    value.map_or(Ok(UpstreamProtocol::Auto), |value| one_of(value, &PROTOCOLS, "http1 or http2"))
}

fn each(
    values: Box<[Arc<str>]>,
    field: &'static str,
    check: fn(&str) -> Result<(), Problem>,
) -> Result<Box<[Arc<str>]>, FieldError> {
    for (i, value) in values.iter().enumerate() {
        check(value).map_err(|problem| FieldError::new(format!("{field}[{i}]"), problem))?;
    }
    Ok(values)
}

fn check_origin(origin: &str) -> Result<(), Problem> {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    match (origin, rest) {
        ("*", _) => Ok(()),
        (_, Some(host)) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => Ok(()),
        _ => Err(Problem::Url),
    }
}

fn check_method(method: &str) -> Result<(), Problem> {
    match method == "*" || Method::from_bytes(method.as_bytes()).is_ok() {
        true => Ok(()),
        false => Err(Problem::Method),
    }
}

fn check_header(header: &str) -> Result<(), Problem> {
    non_empty(header)?;
    match header == "*" || HeaderName::from_bytes(header.as_bytes()).is_ok() {
        true => Ok(()),
        false => Err(Problem::HeaderName),
    }
}
