//! `Api` → the router's [`Api`], with its [`ApiGuard`] and [`OperationGuard`]s.

use std::collections::HashSet;
use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{HeaderName, Method};
use serde_json::Value;
use tollgate_enforcer::model::PolicyKind;
use tollgate_enforcer::{ApiGuard, OperationGuard, SecurityScheme, SecuritySchemes};
use tollgate_router::api::{Api, ApiKeyName, Endpoints, Operation, PathTemplate, Verb};

use super::client_certificates::{self, client_certificates};
use super::endpoint::{cors, endpoints, same_endpoint};
use super::error::{FieldError, Problem};
use super::location::{Context, check_segment, vhosts};
use super::text::{one_of, optional_name, required, text_list};
use super::{Entity, UniqueKey, ValidationSettings, raw_str};
use crate::dto::{ApiDto, OperationDto, Text};
use crate::rejected::EntityKind;

const LIFECYCLE_STATES: [(&str, bool); 4] =
    [("PUBLISHED", false), ("PROTOTYPED", false), ("DEPRECATED", false), ("BLOCKED", true)];
const VERBS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl TryFrom<ApiDto<'_>> for Api {
    type Error = FieldError;

    /// Applies every `Api` rule of model.md; the error names the first field that breaks one.
    fn try_from(dto: ApiDto<'_>) -> Result<Self, FieldError> {
        let id = required(dto.id, "id")?;
        let name = required(dto.name, "name")?;
        let version = required(dto.version, "version")?;
        check_segment(&version).map_err(FieldError::at("version"))?;
        let context = required(dto.context, "context")?;
        let context = Context::parse(&context).map_err(FieldError::at("context"))?;
        let lifecycle = dto.lifecycle_state.as_deref().unwrap_or("PUBLISHED");
        let blocked = one_of(lifecycle, &LIFECYCLE_STATES, "PUBLISHED, PROTOTYPED, DEPRECATED or BLOCKED")
            .map_err(FieldError::at("lifecycleState"))?;
        let schemes = security_schemes(dto.security_schemes)?;
        let client_certificates = client_certificates(&id, dto.client_certificates, schemes)?;
        let throttling_policy = optional_name(dto.throttling_policy, "throttlingPolicy")?;
        let base_paths = context.base_paths(&version, dto.is_default_version.unwrap_or(false));
        Ok(Api {
            base_paths: base_paths.clone(),
            vhosts: vhosts(dto.vhosts)?,
            auth_header: auth_header(dto.authorization_header).map_err(FieldError::at("authorizationHeader"))?,
            api_key: api_key_name(dto.api_key_header).map_err(FieldError::at("apiKeyHeader"))?,
            endpoints: endpoints(dto.endpoints)?,
            cors: dto.cors.map(cors).transpose().map_err(|e| e.within("cors"))?,
            operations: operations(dto.operations)?,
            backend_jwt: dto.backend_jwt.unwrap_or(false),
            guard: ApiGuard { id, name, version, blocked, throttling_policy, schemes, base_paths, client_certificates },
            metrics: Default::default(),
        })
    }
}

impl Entity for Api {
    const KIND: EntityKind = EntityKind::Api;
    type Dto<'de> = ApiDto<'de>;

    fn from_dto(dto: ApiDto<'_>) -> Result<Self, FieldError> {
        Self::try_from(dto)
    }

    fn key(&self) -> String {
        self.guard.id.to_string()
    }

    fn raw_key(raw: &Value) -> Option<String> {
        raw_str(raw, "id")
    }

    /// (name, version), and each base path on each vhost (or on "any host").
    fn unique_keys(&self) -> Vec<UniqueKey> {
        let name = [&*self.guard.name, " ", &*self.guard.version].concat();
        let name = UniqueKey::new("name", "name and version", name);
        let any_host: [Arc<str>; 1] = [Arc::from("")];
        let hosts = if self.vhosts.is_empty() { &any_host[..] } else { &self.vhosts[..] };
        let paths = self.base_paths.iter().flat_map(|path| hosts.iter().map(move |host| base_path_key(path, host)));
        std::iter::once(name).chain(paths).collect()
    }

    /// `backendJwt`: without a signing key, an Api that asks for a backend JWT is refused,
    /// never served without one.
    fn check_settings(&self, settings: &ValidationSettings) -> Result<(), FieldError> {
        match self.backend_jwt && !settings.backend_jwt_signer {
            true => Err(FieldError::new("backendJwt", Problem::NoBackendJwtKey)),
            false => Ok(()),
        }
    }

    fn check_policies(&self, known: &dyn Fn(PolicyKind, &str) -> bool) -> Result<(), FieldError> {
        check_api_policy(self.guard.throttling_policy.as_deref(), known).map_err(FieldError::at("throttlingPolicy"))?;
        client_certificates::check_policies(&self.guard.client_certificates, known)?;
        for (i, operation) in self.operations.iter().enumerate() {
            check_api_policy(operation.guard.throttling_policy.as_deref(), known)
                .map_err(|problem| FieldError::new(format!("operations[{i}].throttlingPolicy"), problem))?;
        }
        Ok(())
    }

    fn same(&self, other: &Self) -> bool {
        self.guard == other.guard
            && self.base_paths == other.base_paths
            && self.vhosts == other.vhosts
            && self.auth_header == other.auth_header
            && self.api_key == other.api_key
            && same_endpoints(&self.endpoints, &other.endpoints)
            && self.cors == other.cors
            && self.backend_jwt == other.backend_jwt
            && self.operations.len() == other.operations.len()
            && self.operations.iter().zip(other.operations.iter()).all(|(a, b)| same_operation(a, b))
    }
}

fn base_path_key(path: &str, host: &str) -> UniqueKey {
    let value = match host.is_empty() {
        true => [path, " on any host"].concat(),
        false => [path, " on host ", host].concat(),
    };
    UniqueKey::new("context", "base path", value)
}

fn check_api_policy(name: Option<&str>, known: &dyn Fn(PolicyKind, &str) -> bool) -> Result<(), Problem> {
    match name {
        Some(name) if !known(PolicyKind::Api, name) => {
            Err(Problem::UnknownPolicy { kind: PolicyKind::Api.as_str(), name: name.to_owned() })
        }
        Some(_) | None => Ok(()),
    }
}

/// `securitySchemes` (model.md); the default is `["oauth2"]`. An unknown value is refused. A
/// list with no credential scheme at all (only `oauth_basic_auth_api_key_mandatory`) is
/// refused too. `mutualssl_mandatory` implies `mutualssl`.
fn security_schemes(names: Option<Vec<Text<'_>>>) -> Result<SecuritySchemes, FieldError> {
    let Some(names) = names else { return Ok(SecuritySchemes::default()) };
    if names.is_empty() {
        return Err(FieldError::new("securitySchemes", Problem::Empty));
    }
    let mut schemes = SecuritySchemes::NONE;
    for (i, name) in names.iter().enumerate() {
        schemes = schemes.with(security_scheme(name).map_err(|p| FieldError::new(format!("securitySchemes[{i}]"), p))?);
    }
    match schemes.accepts_any() {
        true => Ok(schemes),
        false => Err(FieldError::new("securitySchemes", Problem::NoCredentialScheme)),
    }
}

fn security_scheme(name: &str) -> Result<SecurityScheme, Problem> {
    SecurityScheme::from_name(name).ok_or_else(|| Problem::UnknownSecurityScheme(name.to_owned()))
}

/// `apiKeyHeader`: a header name (matched case-insensitively), and the query parameter of
/// the same spelling. Default `apikey`.
fn api_key_name(name: Option<Text<'_>>) -> Result<ApiKeyName, Problem> {
    let Some(name) = name else { return Ok(ApiKeyName::default()) };
    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Problem::HeaderName)?;
    Ok(ApiKeyName { header, query: Arc::from(&*name) })
}

fn auth_header(header: Option<Text<'_>>) -> Result<HeaderName, Problem> {
    match header {
        None => Ok(AUTHORIZATION),
        Some(header) => HeaderName::from_bytes(header.as_bytes()).map_err(|_| Problem::HeaderName),
    }
}

fn operations(dtos: Option<Vec<OperationDto<'_>>>) -> Result<Box<[Operation]>, FieldError> {
    let dtos = dtos.ok_or(FieldError::new("operations", Problem::Missing))?;
    if dtos.is_empty() {
        return Err(FieldError::new("operations", Problem::Empty));
    }
    let mut seen = HashSet::with_capacity_and_hasher(dtos.len(), foldhash::fast::RandomState::default());
    let mut operations = Vec::with_capacity(dtos.len());
    for (i, dto) in dtos.into_iter().enumerate() {
        // The location is formatted only for an error: this loop runs for every operation
        // of every API of a snapshot.
        let at = || format!("operations[{i}]");
        let operation = operation(dto).map_err(|e| e.within(&at()))?;
        if !seen.insert(operation.guard.resource.clone()) {
            return Err(FieldError::new(at(), Problem::DuplicateOperation(operation.guard.resource.to_string())));
        }
        operations.push(operation);
    }
    Ok(operations.into())
}

fn operation(dto: OperationDto<'_>) -> Result<Operation, FieldError> {
    let target = dto.target.ok_or(FieldError::new("target", Problem::Missing))?;
    let template = PathTemplate::parse(&target).map_err(|e| FieldError::new("target", e.into()))?;
    let verb_name = dto.verb.ok_or(FieldError::new("verb", Problem::Missing))?;
    let verb = verb(&verb_name).map_err(FieldError::at("verb"))?;
    let guard = OperationGuard {
        secured: dto.secured.unwrap_or(true),
        scopes: text_list(dto.scopes, "scopes")?,
        throttling_policy: optional_name(dto.throttling_policy, "throttlingPolicy")?,
        resource: [&*verb_name, " ", template.as_str()].concat().into(),
    };
    Ok(Operation { template, verb, guard })
}

fn verb(name: &str) -> Result<Verb, Problem> {
    if name == "*" {
        return Ok(Verb::Any);
    }
    let expected = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or *";
    match VERBS.contains(&name) {
        true => Method::from_bytes(name.as_bytes()).map(Verb::One).map_err(|_| Problem::Method),
        false => Err(Problem::UnknownValue { value: name.to_owned(), expected }),
    }
}

fn same_endpoints(a: &Endpoints, b: &Endpoints) -> bool {
    let same = |a: &Option<Arc<_>>, b: &Option<Arc<_>>| match (a, b) {
        (Some(a), Some(b)) => same_endpoint(a, b),
        (None, None) => true,
        (Some(_), None) | (None, Some(_)) => false,
    };
    same(&a.production, &b.production) && same(&a.sandbox, &b.sandbox)
}

fn same_operation(a: &Operation, b: &Operation) -> bool {
    a.template == b.template && a.verb == b.verb && a.guard == b.guard
}
