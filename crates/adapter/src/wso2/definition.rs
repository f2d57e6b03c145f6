//! What an OpenAPI definition says for the model: operations (targets, security off,
//! scopes, tiers), WSO2 security values, endpoints, CORS, and the extensions that refuse it.

use serde_json::Value;

use super::endpoints::from_cluster;
use super::openapi::{Cluster, EndpointsExtension, Extensions, OpenApi, Operation, PathItem, Requirement};
use super::operations::{check_target, secured_by_auth_type};
use super::refusal::Refusal;
use crate::dto::{CorsDto, EndpointsDto, OperationDto, Text};

/// Extensions that change what a client or upstream observes and have no equivalent.
const UNSUPPORTED_EXTENSIONS: [&str; 6] = [
    "x-wso2-request-interceptor",
    "x-wso2-response-interceptor",
    "x-mediation-script",
    "x-amzn-resource-name",
    "x-amzn-resource-timeout",
    "x-uri-mapping",
];

/// `x-wso2-*` extensions that change nothing served (or are read elsewhere).
const HARMLESS_WSO2_EXTENSIONS: [&str; 3] =
    ["x-wso2-transports", "x-wso2-label", "x-wso2-pass-request-payload-to-enforcer"];

/// Refuses extensions with no equivalent at any level, and `x-wso2-*` ones it does not know
/// (a newer WSO2 feature must not be served as if absent). Enabled response caching too.
pub(crate) fn check_extensions(doc: &OpenApi) -> Result<(), Refusal> {
    let levels = std::iter::once(&doc.extensions)
        .chain(doc.paths.values().map(|item| &item.extensions))
        .chain(doc.operations().map(|(_, _, _, operation)| &operation.extensions));
    for extensions in levels {
        if let Some(key) = extensions.other.keys().find(|key| is_unsupported(key)) {
            return Err(Refusal::Extension(key.clone()));
        }
        if extensions.response_cache.as_ref().and_then(|cache| cache.enabled) == Some(true) {
            return Err(Refusal::ResponseCache);
        }
        if extensions.http2_backend_enabled == Some(true) {
            return Err(Refusal::Extension("x-wso2-http2-backend-enabled".to_owned()));
        }
    }
    Ok(())
}

fn is_unsupported(key: &str) -> bool {
    UNSUPPORTED_EXTENSIONS.contains(&key) || (key.starts_with("x-wso2-") && !HARMLESS_WSO2_EXTENSIONS.contains(&key))
}

/// The operations of the definition, paths in key order and methods in a fixed order.
pub(crate) fn operations(doc: &OpenApi) -> Result<Vec<OperationDto<'static>>, Refusal> {
    doc.operations().map(|(path, item, verb, operation)| self::operation(doc, path, item, verb, operation)).collect()
}

/// One operation: security is off with `x-wso2-disable-security: true` (the nearest of
/// operation, path and root decides) or `x-auth-type: None`, as in WSO2. An empty
/// `security: []` does not turn it off (WSO2 does not read it so): it only means no scopes.
fn operation(
    doc: &OpenApi,
    path: &str,
    item: &PathItem,
    verb: &'static str,
    op: &Operation,
) -> Result<OperationDto<'static>, Refusal> {
    check_target(path)?;
    let disabled = [&op.extensions, &item.extensions, &doc.extensions].iter().find_map(|e| e.disable_security);
    let by_auth_type = op.extensions.auth_type.as_deref().is_none_or(secured_by_auth_type);
    let tier = [&op.extensions, &item.extensions]
        .iter()
        .find_map(|e| e.wso2_throttling_tier.clone().or_else(|| e.throttling_tier.clone()));
    Ok(OperationDto {
        target: Some(Text::Owned(path.to_owned())),
        verb: Some(Text::Borrowed(verb)),
        secured: Some(by_auth_type && disabled != Some(true)),
        scopes: Some(scopes(doc, op).into_iter().map(Text::Owned).collect()),
        throttling_policy: tier.filter(|tier| !tier.is_empty()).map(Text::Owned),
    })
}

/// The scopes of an operation: those of its OAuth2 requirements (its own `security`, else
/// the document's) and `x-scopes`, without repeats. Any one of them is enough (model.md).
fn scopes(doc: &OpenApi, op: &Operation) -> Vec<String> {
    let requirements = op.security.as_ref().or(doc.security.as_ref());
    let oauth2 = requirements.into_iter().flatten().flat_map(|requirement| {
        requirement
            .iter()
            .filter(|(name, _)| scheme_value(doc, name).ok() == Some("oauth2"))
            .flat_map(|(_, scopes)| scopes)
    });
    let extension = op.extensions.scopes.clone().map(|scopes| scopes.into_vec()).unwrap_or_default();
    let mut all: Vec<String> = Vec::new();
    for scope in oauth2.cloned().chain(extension) {
        if !all.contains(&scope) {
            all.push(scope);
        }
    }
    all
}

/// WSO2's security values a definition asks for (for [`super::security::security_schemes`]):
/// the schemes its requirements name, `x-wso2-application-security` and `x-wso2-mutual-ssl`.
pub(crate) fn security_values(doc: &OpenApi) -> Result<Vec<String>, Refusal> {
    let mut values = Vec::new();
    let requirements = doc.security.iter().chain(doc.operations().filter_map(|(_, _, _, op)| op.security.as_ref()));
    for name in requirements.flatten().flat_map(Requirement::keys) {
        values.push(scheme_value(doc, name)?.to_owned());
    }
    let levels = std::iter::once(&doc.extensions).chain(doc.operations().map(|(_, _, _, op)| &op.extensions));
    for extensions in levels {
        values.extend(application_security(extensions));
    }
    match doc.extensions.mutual_ssl.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("mandatory") => values.extend(["mutualssl".to_owned(), "mutualssl_mandatory".to_owned()]),
        Some("optional") => values.push("mutualssl".to_owned()),
        Some(_) | None => {}
    }
    values.sort();
    values.dedup();
    Ok(values)
}

fn application_security(extensions: &Extensions) -> Vec<String> {
    let Some(security) = &extensions.application_security else { return Vec::new() };
    let mandatory = (security.optional == Some(false)).then(|| "oauth_basic_auth_api_key_mandatory".to_owned());
    security.security_types.iter().cloned().chain(mandatory).collect()
}

/// The WSO2 value of a named scheme: `oauth2` for OAuth2 schemes and for names the document
/// does not declare (API-M's exports name `default` without declaring it in Swagger 2),
/// `api_key` for API keys, `basic_auth` for HTTP basic.
fn scheme_value<'d>(doc: &'d OpenApi, name: &str) -> Result<&'d str, Refusal> {
    let Some(scheme) = doc.scheme(name) else { return Ok("oauth2") };
    match (scheme.kind.as_deref(), scheme.scheme.as_deref().map(str::to_ascii_lowercase).as_deref()) {
        (Some("oauth2") | None, _) => Ok("oauth2"),
        (Some("apiKey"), _) => Ok("api_key"),
        (Some("http"), Some("basic")) => Ok("basic_auth"),
        (Some(kind), _) => Err(Refusal::SecuritySchemeType(kind.to_owned(), name.to_owned())),
    }
}

/// The one name API keys arrive under: `x-wso2-api-key-header`, else the name of the
/// document's `apiKey` schemes (header or query: the model reads one name in both). Keys
/// under two names, or in a cookie, are refused rather than half served.
pub(crate) fn api_key_name(doc: &OpenApi) -> Result<Option<String>, Refusal> {
    if let Some(name) = doc.extensions.api_key_header.clone().filter(|name| !name.is_empty()) {
        return Ok(Some(name));
    }
    let mut names: Vec<String> = Vec::new();
    for (scheme_name, scheme) in doc.schemes().filter(|(_, scheme)| scheme.kind.as_deref() == Some("apiKey")) {
        let location = scheme.location.as_deref().unwrap_or("header");
        if !matches!(location, "header" | "query") {
            return Err(Refusal::ApiKeyLocation { scheme: scheme_name.clone(), location: location.to_owned() });
        }
        let name = scheme.name.clone().ok_or(Refusal::Missing("the name of an apiKey security scheme"))?;
        if !names.iter().any(|known| known.eq_ignore_ascii_case(&name)) {
            names.push(name);
        }
    }
    match names.len() {
        0 | 1 => Ok(names.pop()),
        _ => Err(Refusal::ApiKeyNames(names.join(", "))),
    }
}

/// The API-level endpoints: `x-wso2-production-endpoints` / `-sandbox-endpoints` (clusters
/// or references), else the upstream of `servers[]` (Swagger 2: `host` + `basePath`) as the
/// production endpoint. Per-resource endpoints are refused unless they are the API's own.
pub(crate) fn endpoints(doc: &OpenApi) -> Result<EndpointsDto<'static>, Refusal> {
    let root = &doc.extensions;
    let production = root.production_endpoints.as_ref().map(|e| resolve(doc, e)).transpose()?;
    let sandbox = root.sandbox_endpoints.as_ref().map(|e| resolve(doc, e)).transpose()?;
    check_resource_endpoints(doc, production.as_ref(), sandbox.as_ref())?;
    let production = match production {
        Some(cluster) => Some(from_cluster(&cluster)?),
        None => {
            server_url(doc).map(|url| from_cluster(&Cluster { urls: vec![url], ..Cluster::default() })).transpose()?
        }
    };
    let sandbox = sandbox.as_ref().map(from_cluster).transpose()?;
    Ok(EndpointsDto { production, sandbox })
}

fn check_resource_endpoints(
    doc: &OpenApi,
    production: Option<&Cluster>,
    sandbox: Option<&Cluster>,
) -> Result<(), Refusal> {
    for (path, item) in &doc.paths {
        let levels =
            std::iter::once(&item.extensions).chain(item.by_method().into_iter().map(|(_, op)| &op.extensions));
        for extensions in levels {
            for (own, api) in [(&extensions.production_endpoints, production), (&extensions.sandbox_endpoints, sandbox)]
            {
                let Some(own) = own else { continue };
                let own = resolve(doc, own)?;
                from_cluster(&own)?;
                if Some(&own) != api {
                    return Err(Refusal::PerResourceEndpoints(path.clone()));
                }
            }
        }
    }
    Ok(())
}

/// A cluster, or the `x-wso2-endpoints` entry a `#/x-wso2-endpoints/<name>` reference names.
fn resolve(doc: &OpenApi, extension: &EndpointsExtension) -> Result<Cluster, Refusal> {
    let reference = match extension {
        EndpointsExtension::Cluster(cluster) => return Ok(cluster.clone()),
        EndpointsExtension::Reference(reference) => reference,
    };
    let name = reference.strip_prefix("#/x-wso2-endpoints/");
    let named = doc.extensions.endpoints.iter().flatten().find_map(|entry| entry.get(name?));
    named.cloned().ok_or_else(|| Refusal::UnknownEndpointReference(reference.clone()))
}

/// The first absolute `servers[]` URL, or Swagger 2's `scheme://host/basePath`.
fn server_url(doc: &OpenApi) -> Option<String> {
    let server = doc.servers.iter().filter_map(|s| s.url.as_deref()).find(|url| url.contains("://"));
    if let Some(url) = server {
        return Some(url.to_owned());
    }
    let host = doc.host.as_deref()?;
    let scheme = doc.schemes.first().map_or("http", String::as_str);
    Some(format!("{scheme}://{host}{}", doc.base_path.as_deref().unwrap_or("")))
}

/// The path of the first absolute `servers[]` URL (OpenAPI 3), for the base path.
pub(crate) fn server_path(doc: &OpenApi) -> Option<String> {
    let url = doc.servers.iter().filter_map(|s| s.url.as_deref()).find(|url| url.contains("://"))?;
    let after_scheme = url.split_once("://")?.1;
    Some(after_scheme.find('/').map_or(String::new(), |i| after_scheme[i..].to_owned()))
}

/// `x-wso2-cors`, in the camelCase keys of API-M or the legacy hyphenated ones; absent or
/// `corsConfigurationEnabled: false` is no CORS.
pub(crate) fn cors(doc: &OpenApi) -> Option<CorsDto<'static>> {
    let map = doc.extensions.cors.as_ref()?;
    let get = |camel: &str, hyphen: &str| map.get(camel).or_else(|| map.get(hyphen));
    if get("corsConfigurationEnabled", "cors-configuration-enabled").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let list = |camel: &str, hyphen: &str| get(camel, hyphen).map(strings);
    Some(CorsDto {
        allow_origins: list("accessControlAllowOrigins", "access-control-allow-origins"),
        allow_methods: list("accessControlAllowMethods", "access-control-allow-methods"),
        allow_headers: list("accessControlAllowHeaders", "access-control-allow-headers"),
        expose_headers: list("accessControlExposeHeaders", "access-control-expose-headers"),
        allow_credentials: get("accessControlAllowCredentials", "access-control-allow-credentials")
            .and_then(Value::as_bool),
        max_age_seconds: None,
    })
}

fn strings(value: &Value) -> Vec<Text<'static>> {
    let items = value.as_array().map_or(&[][..], Vec::as_slice);
    items.iter().filter_map(Value::as_str).map(|s| Text::Owned(s.to_owned())).collect()
}

/// The API-level tier: `x-wso2-throttling-tier`, which wins over `x-throttling-tier`.
pub(crate) fn api_tier(doc: &OpenApi) -> Option<String> {
    let root = &doc.extensions;
    root.wso2_throttling_tier.clone().or_else(|| root.throttling_tier.clone()).filter(|tier| !tier.is_empty())
}
