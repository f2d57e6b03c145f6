//! The WSO2 mapping: WSO2 API Manager inputs → the model's entities, as pure functions (no
//! I/O), shared by the `wso2-apim` source and the file source's apictl/OpenAPI import
//! (contract/wso2.md; the wire facts are in the shared INTERFACE.md).
//!
//! - [`RuntimeArtifacts::from_zip`] reads API-M's runtime-artifacts zip within
//!   [`ArchiveLimits`]; [`ApiProject::from_files`] reads an apictl project's files.
//! - [`api_from_project`] and [`api_from_openapi`] map a WSO2 API onto an [`ApiDto`], or
//!   give the [`Refusal`] naming the feature Tollgate cannot enforce as written. The
//!   security decision is in one place, [`security_schemes`].
//! - [`data`] maps the internal data API's JSON (applications, subscriptions, key
//!   mappings, policies, key managers, revoked tokens) onto the other DTOs.
//! - [`decode_event`] decodes an event-hub message into an [`Event`];
//!   [`TenantFilter`] keeps the configured tenant's.
//!
//! Every output is a DTO of [`crate::dto`], so the engine validates and builds WSO2-derived
//! entities like any other; nothing here decides what the model already decides.
//!
//! Crate chosen: `zip` (maintained, pure Rust; deflate only), read from memory with bounds
//! counted on the inflated bytes, never on the headers.
//!
//! [`ApiDto`]: crate::dto::ApiDto

mod api;
mod api_yaml;
mod archive;
pub mod data;
mod decode;
mod definition;
mod endpoints;
mod event;
mod openapi;
mod operations;
mod project;
mod refusal;
mod runtime;
mod security;

pub use api::{Placement, api_from_openapi, api_from_project};
pub use api_yaml::{
    ApiData, ApiOperation, CertificateEntry, CorsConfiguration, DeploymentEnvironmentSpec, Envelope, PolicyFlows,
    PolicyReference,
};
pub use archive::{ArchiveError, ArchiveLimits, Entry, RATIO_FLOOR_BYTES};
pub(crate) use decode::decode_file;
pub use endpoints::EndpointOverrides;
pub use event::{
    Action, ApiIdentity, Change, Event, EventError, PolicyType, SUPER_TENANT_DOMAIN, SUPER_TENANT_ID, Tenant,
    TenantFilter, decode_event,
};
pub use openapi::OpenApi;
pub use project::{ApiProject, CertificateFile};
pub use refusal::Refusal;
pub use runtime::{
    DeployedApi, DeploymentEnvironment, EnvProperties, EnvironmentProperties, RuntimeArtifacts, read_archive,
};
pub use security::security_schemes;
