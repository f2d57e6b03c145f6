//! A WSO2 API → the model's `Api` (INTERFACE.md §6.1, contract/wso2.md), from an API project
//! (api.yaml/api.json, with its definition) or from an OpenAPI document alone.

use super::api_yaml::{ApiData, ApiOperation, CorsConfiguration, DeploymentEnvironmentSpec};
use super::definition;
use super::endpoints::{EndpointOverrides, from_endpoint_config};
use super::openapi::OpenApi;
use super::operations;
use super::project::ApiProject;
use super::refusal::Refusal;
use super::security::Security;
use crate::dto::{ApiDto, CorsDto, EndpointsDto, OperationDto, Text};

/// Where and how a deployed API is served, beyond its own files: the vhosts of the
/// environments it is deployed to, `/apis`' current `isDefaultVersion` (the artifact's goes
/// stale), and environment-specific endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub vhosts: Vec<String>,
    pub is_default_version: Option<bool>,
    pub endpoints: EndpointOverrides,
}

const VERSION: &str = "{version}";

// === impl Placement ===

impl Placement {
    /// An apictl project's placement on the configured `labels` (its
    /// `deployment_environments.yaml`, matched case-insensitively): the vhosts of its entries
    /// for them. An entry without a vhost means the environment's default host, which for
    /// this gateway is any host, so the vhosts are then left empty. `None` when no entry is
    /// for a configured label.
    pub fn from_deployment_environments(specs: &[DeploymentEnvironmentSpec], labels: &[&str]) -> Option<Placement> {
        let on_label = |spec: &&DeploymentEnvironmentSpec| {
            labels.iter().any(|l| l.eq_ignore_ascii_case(&spec.deployment_environment))
        };
        let specs: Vec<&DeploymentEnvironmentSpec> = specs.iter().filter(on_label).collect();
        if specs.is_empty() {
            return None;
        }
        let vhosts: Option<Vec<String>> = specs.iter().map(|spec| spec.deployment_vhost.clone()).collect();
        let mut vhosts = vhosts.unwrap_or_default();
        vhosts.sort();
        vhosts.dedup();
        Some(Placement { vhosts, ..Placement::default() })
    }
}

/// An API project → an `Api`, or the feature that refuses it.
///
/// api.yaml decides where it speaks (identity, security, endpoints, CORS, tiers); the
/// definition (`Definitions/swagger.*`) fills what api.yaml leaves out. The operations are
/// api.yaml's when it lists any (API-M's exports list them, with their policies), else the
/// definition's. A project without an `id` (hand-written) is named `<name>:<version>`.
pub fn api_from_project(project: &ApiProject, placement: &Placement) -> Result<ApiDto<'static>, Refusal> {
    let api = &project.api;
    let swagger = project.definition.as_ref();
    check_project(project)?;
    if let Some(swagger) = swagger {
        definition::check_extensions(swagger)?;
    }
    let api_operations = api.operations.as_deref().unwrap_or_default();
    let mut security = Security::of_project(api, swagger)?;
    operations::check_policies(api_operations)?;
    let endpoints = project_endpoints(project, placement)?;
    let operations = project_operations(api_operations, swagger)?;
    // Certificates last: a missing `.crt` is refused only when nothing above refused first.
    security.accept_certificates(&project.client_certificates)?;
    let id = api.id.clone().unwrap_or_else(|| format!("{}:{}", api.name, api.version));
    let from_definition = |read: fn(&OpenApi) -> Option<String>| swagger.and_then(read).map(Text::Owned);
    Ok(ApiDto {
        id: Some(Text::Owned(id)),
        name: Some(Text::Owned(api.name.clone())),
        version: Some(Text::Owned(api.version.clone())),
        context: Some(Text::Owned(project_context(&api.context, &api.version))),
        is_default_version: placement.is_default_version.or(api.is_default_version),
        vhosts: (!placement.vhosts.is_empty()).then(|| placement.vhosts.iter().cloned().map(Text::Owned).collect()),
        lifecycle_state: Some(Text::Borrowed(lifecycle(api.life_cycle_status.as_deref())?)),
        security_schemes: Some(security.schemes),
        api_key_header: security.api_key_header,
        client_certificates: security.client_certificates,
        authorization_header: non_empty(api.authorization_header.as_deref()).or_else(|| from_definition(auth_header)),
        throttling_policy: non_empty(api.api_throttling_policy.as_deref())
            .or_else(|| from_definition(definition::api_tier)),
        endpoints: Some(endpoints),
        cors: match &api.cors_configuration {
            Some(config) => cors(config),
            None => swagger.and_then(definition::cors),
        },
        operations: Some(operations),
        ..ApiDto::default()
    })
}

/// An OpenAPI / Swagger document with `x-wso2-*` extensions alone → an `Api` named by
/// `info.title` and `info.version` (id `<title>:<version>`), served at `x-wso2-basePath`,
/// else the path of the first absolute `servers[]` URL (Swagger 2: `basePath`).
pub fn api_from_openapi(doc: &OpenApi) -> Result<ApiDto<'static>, Refusal> {
    if !doc.is_openapi() {
        return Err(Refusal::NotOpenApi);
    }
    let info = doc.info.clone().unwrap_or_default();
    let title = info.title.filter(|t| !t.is_empty()).ok_or(Refusal::Missing("info.title"))?;
    let version = info.version.filter(|v| !v.is_empty()).ok_or(Refusal::Missing("info.version"))?;
    definition::check_extensions(doc)?;
    let security = Security::of_openapi(doc)?;
    let endpoints = definition::endpoints(doc)?;
    let operations = definition::operations(doc)?;
    let context = openapi_context(doc, &version)?;
    Ok(ApiDto {
        id: Some(Text::Owned(format!("{title}:{version}"))),
        name: Some(Text::Owned(title)),
        version: Some(Text::Owned(version)),
        context: Some(Text::Owned(context)),
        security_schemes: Some(security.schemes),
        api_key_header: security.api_key_header,
        authorization_header: non_empty(doc.extensions.auth_header.as_deref()),
        throttling_policy: definition::api_tier(doc).map(Text::Owned),
        endpoints: Some(endpoints),
        cors: definition::cors(doc),
        operations: Some(operations),
        ..ApiDto::default()
    })
}

/// api.yaml's `endpointConfig` (with the placement's overrides), else the definition's.
/// Endpoint certificates (per-endpoint TLS trust) refuse the API either way.
fn project_endpoints(project: &ApiProject, placement: &Placement) -> Result<EndpointsDto<'static>, Refusal> {
    let endpoints = match (&project.api.endpoint_config, &project.definition) {
        (Some(config), _) => from_endpoint_config(config, &placement.endpoints)?,
        (None, Some(swagger)) => definition::endpoints(swagger)?,
        (None, None) => EndpointsDto::default(),
    };
    match project.endpoint_certificates.is_empty() {
        true => Ok(endpoints),
        false => Err(Refusal::EndpointCertificates),
    }
}

/// api.yaml's operations when it lists any, else the definition's; none at all is refused.
fn project_operations(
    api_operations: &[ApiOperation],
    swagger: Option<&OpenApi>,
) -> Result<Vec<OperationDto<'static>>, Refusal> {
    match (api_operations.is_empty(), swagger) {
        (false, _) => operations::from_api_yaml(api_operations),
        (true, Some(swagger)) => definition::operations(swagger),
        (true, None) => Err(Refusal::Missing("operations (in api.yaml or Definitions/swagger)")),
    }
}

/// API-level refusals of a project: type, implementation, policies, features without an
/// equivalent.
fn check_project(project: &ApiProject) -> Result<(), Refusal> {
    let api: &ApiData = &project.api;
    let api_type = api.api_type.as_deref().unwrap_or("HTTP").to_ascii_uppercase();
    if api_type != "HTTP" {
        return Err(Refusal::ApiType(api_type));
    }
    if let Some(kind) =
        api.endpoint_implementation_type.as_deref().filter(|kind| !kind.eq_ignore_ascii_case("ENDPOINT"))
    {
        return Err(Refusal::Implementation(kind.to_owned()));
    }
    if api.mediation_policies.as_ref().is_some_and(|policies| !policies.is_empty()) {
        return Err(Refusal::MediationPolicies);
    }
    if let Some(policy) = api.api_policies.as_ref().and_then(|flows| flows.first_policy()) {
        return Err(Refusal::ApiPolicy(policy));
    }
    if api.primary_production_endpoint_id.is_some() || api.primary_sandbox_endpoint_id.is_some() {
        return Err(Refusal::MultipleEndpoints);
    }
    if api.response_caching_enabled == Some(true) {
        return Err(Refusal::ResponseCache);
    }
    if api.enable_schema_validation == Some(true) {
        return Err(Refusal::SchemaValidation);
    }
    match api.max_tps.as_ref().filter(|tps| !tps.is_null()) {
        Some(_) => Err(Refusal::BackendThroughput),
        None => Ok(()),
    }
}

/// api.yaml's context as the model's: with `{version}` where the author already wrote the
/// version at its end (`/defaultVersion/1.0.0`), so that it is not appended twice.
fn project_context(context: &str, version: &str) -> String {
    let context = context.trim_end_matches('/');
    match context.strip_suffix(version).and_then(|rest| rest.strip_suffix('/')) {
        Some(rest) if !context.contains(VERSION) => format!("{rest}/{VERSION}"),
        Some(_) | None => context.to_owned(),
    }
}

/// An OpenAPI base path as the model's context: its version segment becomes `{version}`.
/// A base path without its version cannot be served at exactly that path: refused.
fn openapi_context(doc: &OpenApi, version: &str) -> Result<String, Refusal> {
    let base_path =
        doc.extensions.base_path.clone().or_else(|| definition::server_path(doc)).or_else(|| doc.base_path.clone());
    let base_path = base_path.ok_or(Refusal::Missing("x-wso2-basePath, an absolute servers[] URL or basePath"))?;
    let base_path = base_path.trim_end_matches('/');
    let segments: Vec<&str> = base_path.split('/').collect();
    let Some(at) = segments.iter().rposition(|segment| *segment == version) else {
        return Err(Refusal::BasePath { base_path: base_path.to_owned(), version: version.to_owned() });
    };
    let templated: Vec<&str> = segments.iter().enumerate().map(|(i, s)| if i == at { VERSION } else { *s }).collect();
    Ok(templated.join("/"))
}

/// `lifeCycleStatus` as the model's `lifecycleState`: CREATED is served as PUBLISHED (as
/// Choreo Connect does); RETIRED and unknown states are not served.
fn lifecycle(status: Option<&str>) -> Result<&'static str, Refusal> {
    let status = status.unwrap_or("PUBLISHED").to_ascii_uppercase();
    match status.as_str() {
        "PUBLISHED" | "CREATED" => Ok("PUBLISHED"),
        "PROTOTYPED" => Ok("PROTOTYPED"),
        "DEPRECATED" => Ok("DEPRECATED"),
        "BLOCKED" => Ok("BLOCKED"),
        _ => Err(Refusal::Lifecycle(status)),
    }
}

/// `corsConfiguration` when enabled.
fn cors(config: &CorsConfiguration) -> Option<CorsDto<'static>> {
    if config.cors_configuration_enabled != Some(true) {
        return None;
    }
    let list =
        |items: &Option<Vec<String>>| items.as_ref().map(|items| items.iter().cloned().map(Text::Owned).collect());
    Some(CorsDto {
        allow_origins: list(&config.access_control_allow_origins),
        allow_methods: list(&config.access_control_allow_methods),
        allow_headers: list(&config.access_control_allow_headers),
        allow_credentials: config.access_control_allow_credentials,
        ..CorsDto::default()
    })
}

fn auth_header(swagger: &OpenApi) -> Option<String> {
    swagger.extensions.auth_header.clone().filter(|header| !header.is_empty())
}

fn non_empty(text: Option<&str>) -> Option<Text<'static>> {
    text.filter(|text| !text.is_empty()).map(|text| Text::Owned(text.to_owned()))
}

#[cfg(test)]
mod tests;
