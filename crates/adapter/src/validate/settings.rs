//! What validation needs to know about the gateway it validates for.

/// The gateway's side of validation: rules that depend on its configuration, not on the
/// definitions. Fixed for a catalog's lifetime (the gateway's configuration does not change
/// while it runs); `run` and `check` derive the same value from the same configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidationSettings {
    /// `[backend_jwt]` is configured: an Api with `backendJwt: true` can be served (client.md,
    /// "Backend JWT"). Without it such an Api is refused, never served without its JWT.
    pub backend_jwt_signer: bool,
}
