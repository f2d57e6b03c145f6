//! The Tollgate enforcer: decides whether a routed request may reach its upstream.
//!
//! It checks, in the contract's order, the API's lifecycle, the one application-level
//! credential the router extracted ([`Presented`]) by the API's schemes: a bearer token (key
//! manager by `iss`, key by `kid` from a cached JWKS, algorithm, signature, `exp`/`nbf`/`aud`,
//! revocation, then the application's subscription and the operation's scopes) or a WSO2 API
//! key (the same key handling, then its own claims), and the TLS client certificate by the
//! Api's `clientCertificates` ([`client_cert`]), then the rate-limit tiers. An admitted
//! principal is what [`backend_jwt`] mints the upstream's JWT from. The data comes from the
//! request's snapshot ([`Enforcement`]); the caches and counters that must outlive snapshot
//! swaps live in the [`Enforcer`].

pub mod backend_jwt;
pub mod client_cert;
pub mod clock;
mod combining;
mod enforcement;
mod enforcer;
mod guard;
mod metrics;
pub mod model;
mod presented;
mod principal;
pub mod ratelimit;
mod rejection;
mod schemes;
pub mod token;

pub use enforcement::{Applications, Enforcement, KeyManagers, KeyMappings, Policies, Revocations, Subscriptions};
pub use enforcer::{Access, Admission, Enforcer, EnforcerSettings, KeyTypes};
pub use guard::{ApiGuard, OperationGuard};
pub use metrics::EnforcerMetrics;
pub use presented::{ApiKeyPresented, Presented};
pub use principal::Principal;
pub use rejection::{NotSubscribed, Rejection, TokenError};
pub use schemes::{SecurityScheme, SecuritySchemes};
pub use token::{CredentialHeader, VerifiedCredential};
