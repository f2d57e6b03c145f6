//! Validated enforcement entities (contract `model.md`), as the adapter builds them.
//!
//! Every type here has already passed validation: names are non-empty, references resolve,
//! numbers are in range. Nothing on the request path re-checks them.

mod key_manager;
mod policy;
mod subscription;

pub use key_manager::{Algorithm, AlgorithmSet, KeyManager, KeySource};
pub use policy::{Policy, PolicyKind, PolicyName, Quota, builtin_policies};
pub use subscription::{Application, KeyMapping, KeyType, RevokedId, RevokedToken, Subscription, SubscriptionStatus};
