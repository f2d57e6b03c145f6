use std::sync::Arc;

use crate::model::{Application, KeyType, Subscription};
use crate::token::VerifiedCredential;

/// Who a request was admitted as. Shared by the token cache, so cloning it is cheap.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's `sub` (empty when absent); the application tier counts per subject.
    pub subject: Arc<str>,
    pub key_type: KeyType,
    /// Present when the key manager validates subscriptions.
    pub application: Option<Arc<Application>>,
    pub subscription: Option<Arc<Subscription>>,
    /// The name of the key manager that issued the token.
    pub key_manager: Arc<str>,
    /// The verified credential (bearer token or API key) the request was admitted with: its
    /// expiry, and its identity for what is cached per credential (backend JWTs). `None` for a
    /// principal made without one (tests, benches).
    pub credential: Option<VerifiedCredential>,
}
