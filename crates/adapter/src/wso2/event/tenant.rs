//! Which tenant an event belongs to, and the filter that keeps the configured tenant's.

use super::{Change, Event};

/// The super tenant's domain and id.
pub const SUPER_TENANT_DOMAIN: &str = "carbon.super";
pub const SUPER_TENANT_ID: i64 = -1234;

/// Which tenants' events apply: the super tenant's by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFilter {
    domain: String,
}

// === impl TenantFilter ===

impl TenantFilter {
    /// The events of the tenant `domain` only.
    pub fn new(domain: impl Into<String>) -> Self {
        TenantFilter { domain: domain.into() }
    }

    /// Whether the event applies. Its domain decides when it has one; else its id (-1234 is
    /// the super tenant, any other non-zero id another tenant: an id tells a tenant filter
    /// only whether the event is the super tenant's); else an API's context (`/t/<domain>/…`
    /// is a tenant's). An event that names no tenant at all is admitted: it only names what
    /// to re-fetch, and the re-fetch is made as the configured tenant's user.
    pub fn admits(&self, event: &Event) -> bool {
        if let Some(domain) = &event.tenant.domain {
            return domain.eq_ignore_ascii_case(&self.domain);
        }
        if let Some(id) = event.tenant.id.filter(|id| *id != 0) {
            return (id == SUPER_TENANT_ID) == self.is_super_tenant();
        }
        match api_context(&event.change).and_then(tenant_of_context) {
            Some(domain) => domain.eq_ignore_ascii_case(&self.domain),
            None => true,
        }
    }

    fn is_super_tenant(&self) -> bool {
        self.domain == SUPER_TENANT_DOMAIN
    }
}

impl Default for TenantFilter {
    fn default() -> Self {
        TenantFilter::new(SUPER_TENANT_DOMAIN)
    }
}

fn api_context(change: &Change) -> Option<&str> {
    match change {
        Change::ApiDeployed { api, .. }
        | Change::ApiUndeployed { api, .. }
        | Change::ApiLifecycle { api, .. }
        | Change::Api { api, .. } => api.context.as_deref(),
        Change::Application { .. }
        | Change::KeyMapping { .. }
        | Change::Subscription { .. }
        | Change::Policy { .. }
        | Change::KeyManager { .. }
        | Change::TokenRevoked { .. }
        | Change::Ignored => None,
    }
}

/// `/t/<domain>/…` → `<domain>`; any other context is the super tenant's.
fn tenant_of_context(context: &str) -> Option<&str> {
    match context.strip_prefix("/t/") {
        Some(rest) => rest.split('/').next(),
        None => Some(SUPER_TENANT_DOMAIN),
    }
}
