//! Endpoints: api.yaml's `endpointConfig` (INTERFACE.md §3.5) and OpenAPI's
//! `x-wso2-*-endpoints` clusters → the model's production and sandbox endpoints.

use serde::Deserialize;
use serde_json::Value;

use super::openapi::Cluster;
use super::refusal::Refusal;
use crate::dto::{EndpointDto, EndpointsDto, RetriesDto, Text};

/// `endpointConfig`, typed where its shape is known; URLs may be one object or an array.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct EndpointConfig {
    endpoint_type: Option<String>,
    implementation_status: Option<String>,
    production_endpoints: Option<OneOrMany<UrlEntry>>,
    sandbox_endpoints: Option<OneOrMany<UrlEntry>>,
    production_failovers: Option<Vec<UrlEntry>>,
    sandbox_failovers: Option<Vec<UrlEntry>>,
    endpoint_security: Option<EndpointSecurity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct UrlEntry {
    url: Option<String>,
    config: Option<EndpointTuning>,
}

/// An endpoint's `config`: values are strings in API-M's files, numbers in some others.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct EndpointTuning {
    action_duration: Option<Value>,
    retry_time_out: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct EndpointSecurity {
    production: Option<SecuritySetting>,
    sandbox: Option<SecuritySetting>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct SecuritySetting {
    enabled: Option<bool>,
}

/// Environment-specific endpoints (`env_properties.json`), replacing the configured ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    pub production: Option<String>,
    pub sandbox: Option<String>,
}

/// Endpoint types that are plain HTTP URLs.
const HTTP_TYPES: [&str; 4] = ["http", "address", "load_balance", "failover"];

/// `endpointConfig` → endpoints. Refused: endpoint types without an equivalent, enabled
/// endpoint security (backend credentials), prototyped implementations.
pub(crate) fn from_endpoint_config(
    config: &Value,
    overrides: &EndpointOverrides,
) -> Result<EndpointsDto<'static>, Refusal> {
    let config = EndpointConfig::deserialize(config)
        .map_err(|e| Refusal::Unreadable { what: "endpointConfig", reason: e.to_string() })?;
    let kind = config.endpoint_type.as_deref().unwrap_or("http");
    if !HTTP_TYPES.contains(&kind) {
        return Err(Refusal::EndpointType(kind.to_owned()));
    }
    if let Some(status) = config.implementation_status.as_deref().filter(|s| *s == "prototyped") {
        return Err(Refusal::Implementation(status.to_owned()));
    }
    if let Some(security) = &config.endpoint_security {
        let enabled = |s: &Option<SecuritySetting>| s.as_ref().and_then(|s| s.enabled).unwrap_or(false);
        if enabled(&security.production) || enabled(&security.sandbox) {
            return Err(Refusal::BackendCredentials);
        }
    }
    Ok(EndpointsDto {
        production: pool(config.production_endpoints, config.production_failovers, overrides.production.as_deref()),
        sandbox: pool(config.sandbox_endpoints, config.sandbox_failovers, overrides.sandbox.as_deref()),
    })
}

/// One environment's endpoint: the primary URLs then the failovers, `failover` when there
/// are failovers, `load_balance` for several URLs; timeout and retries from the first
/// endpoint's `config` (Choreo Connect's reading).
fn pool(
    primary: Option<OneOrMany<UrlEntry>>,
    failovers: Option<Vec<UrlEntry>>,
    replaced: Option<&str>,
) -> Option<EndpointDto<'static>> {
    let primary = match primary? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    };
    let failovers = failovers.unwrap_or_default();
    let tuning = primary.first().and_then(|entry| entry.config.clone()).unwrap_or_default();
    let mut urls: Vec<Text<'static>> =
        primary.iter().chain(&failovers).filter_map(|e| e.url.as_deref()).map(with_scheme).collect();
    if let Some(url) = replaced {
        urls = vec![with_scheme(url)];
    }
    let kind = match (failovers.is_empty(), urls.len()) {
        (false, _) if replaced.is_none() => Some(Text::Borrowed("failover")),
        (_, 2..) => Some(Text::Borrowed("load_balance")),
        _ => None,
    };
    Some(EndpointDto {
        urls: Some(urls),
        kind,
        timeout_ms: tuning.action_duration.as_ref().and_then(number),
        retries: tuning
            .retry_time_out
            .as_ref()
            .and_then(number)
            .map(|count| RetriesDto { count: Some(count), status_codes: None }),
        ..EndpointDto::default()
    })
}

/// An OpenAPI cluster → an endpoint. Refused: `securityConfig` (backend credentials),
/// circuit breakers, endpoint types without an equivalent.
pub(crate) fn from_cluster(cluster: &Cluster) -> Result<EndpointDto<'static>, Refusal> {
    if cluster.security_config.is_some() {
        return Err(Refusal::BackendCredentials);
    }
    let advanced = cluster.advance_endpoint_config.clone().unwrap_or_default();
    if advanced.circuit_breakers.is_some() {
        return Err(Refusal::CircuitBreakers);
    }
    let kind = match cluster.kind.as_deref() {
        None | Some("http" | "address" | "load_balance") => {
            (cluster.urls.len() > 1).then_some(Text::Borrowed("load_balance"))
        }
        Some("failover") => Some(Text::Borrowed("failover")),
        Some(other) => return Err(Refusal::EndpointType(other.to_owned())),
    };
    let retries =
        advanced.retry_config.map(|retry| RetriesDto { count: retry.count, status_codes: retry.status_codes });
    Ok(EndpointDto {
        urls: Some(cluster.urls.iter().map(|url| with_scheme(url)).collect()),
        kind,
        timeout_ms: advanced.timeout_in_millis,
        retries,
        ..EndpointDto::default()
    })
}

/// A URL as given, with `http://` when it has no scheme (Choreo Connect's rule).
fn with_scheme(url: &str) -> Text<'static> {
    let url = url.trim();
    match url.contains("://") {
        true => Text::Owned(url.to_owned()),
        false => Text::Owned(format!("http://{url}")),
    }
}

/// A number written as a number or as a string of digits.
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(value: &Value) -> Result<EndpointsDto<'static>, Refusal> {
        from_endpoint_config(value, &EndpointOverrides::default())
    }

    #[test]
    fn the_first_endpoints_config_gives_timeout_and_retry_count_and_a_url_gets_a_scheme() {
        // The shape of publisher-payloads/cc-it-RetryAPI.json.
        let endpoints = config(&json!({"endpoint_type": "http", "production_endpoints": {"url": "mockBackend:2383/v2",
            "config": {"retryTimeOut": "2", "actionDuration": "4000", "retryDelay": "0", "factor": "1.0"}}}));
        let production = endpoints.ok().and_then(|e| e.production).unwrap_or_default();
        assert_eq!(production.urls, Some(vec![Text::Borrowed("http://mockBackend:2383/v2")]));
        assert_eq!((production.timeout_ms, production.retries.and_then(|r| r.count)), (Some(4000), Some(2)));
        assert_eq!(production.kind, None);
    }

    #[test]
    fn enabled_endpoint_security_and_endpoint_types_without_equivalent_are_refused() {
        let basic = json!({"endpoint_type": "http", "production_endpoints": {"url": "http://a"},
            "endpoint_security": {"production": {"enabled": false}, "sandbox": {"enabled": true, "type": "BASIC"}}});
        assert_eq!(config(&basic).err(), Some(Refusal::BackendCredentials));
        let lambda = json!({"endpoint_type": "awslambda", "amznRegion": "us-east-1"});
        assert_eq!(config(&lambda).err(), Some(Refusal::EndpointType("awslambda".into())));
        let unreadable = config(&json!({"endpoint_type": "http", "production_endpoints": "http://a"}));
        assert!(matches!(unreadable, Err(Refusal::Unreadable { what: "endpointConfig", .. })), "{unreadable:?}");
        let prototype = json!({"endpoint_type": "http", "implementation_status": "prototyped", "production_endpoints": {"url": "http://a"}});
        assert_eq!(config(&prototype).err(), Some(Refusal::Implementation("prototyped".into())));
    }

    #[test]
    fn an_environment_override_replaces_the_urls_and_keeps_no_failover() {
        let value = json!({"endpoint_type": "failover", "production_endpoints": {"url": "http://primary"},
            "production_failovers": [{"url": "http://backup"}]});
        let overrides = EndpointOverrides { production: Some("http://env".into()), sandbox: None };
        let production = from_endpoint_config(&value, &overrides).ok().and_then(|e| e.production).unwrap_or_default();
        assert_eq!((production.urls, production.kind), (Some(vec![Text::Borrowed("http://env")]), None));
    }

    #[test]
    fn a_cluster_maps_timeout_retries_and_type_and_refuses_credentials_and_circuit_breakers() {
        let cluster: Cluster = serde_json::from_value(json!({"urls": ["http://a", "http://b"], "type": "failover",
            "advanceEndpointConfig": {"timeoutInMillis": 7000, "retryConfig": {"count": 2, "statusCodes": [503]}}}))
        .unwrap_or_default();
        let endpoint = from_cluster(&cluster).unwrap_or_default();
        assert_eq!((endpoint.kind.as_deref(), endpoint.timeout_ms), (Some("failover"), Some(7000)));
        let retries = endpoint.retries.unwrap_or_default();
        assert_eq!((retries.count, retries.status_codes), (Some(2), Some(vec![503])));
        let with = |extra: Value| {
            let mut value = json!({"urls": ["http://a"]});
            value
                .as_object_mut()
                .into_iter()
                .for_each(|map| map.extend(extra.as_object().cloned().unwrap_or_default()));
            from_cluster(&serde_json::from_value(value).unwrap_or_default()).err()
        };
        assert_eq!(with(json!({"securityConfig": {"type": "basic"}})), Some(Refusal::BackendCredentials));
        let breakers = json!({"advanceEndpointConfig": {"circuitBreakers": {"maxRequests": 1}}});
        assert_eq!(with(breakers), Some(Refusal::CircuitBreakers));
        assert_eq!(with(json!({"type": "default"})), Some(Refusal::EndpointType("default".into())));
    }
}
