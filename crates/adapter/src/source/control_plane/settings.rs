//! What the control-plane source needs to know (the `[source]` section of the gateway config).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the control plane and what to tell it.
#[derive(Clone)]
pub struct ControlPlaneSettings {
    /// Base URL of the sync protocol, e.g. `https://cp.example.com/api/gateway/v1`.
    pub url: String,
    pub environment: String,
    /// Bearer token; never logged (`Debug` shows `***`).
    pub token: Option<String>,
    /// Where the last-known-good snapshot is kept; `None`: nowhere (a restart without the
    /// control plane serves nothing).
    pub state_dir: Option<PathBuf>,
    /// This gateway in status reports.
    pub gateway_id: String,
    /// Client certificate for TLS to the control plane.
    pub client_identity: Option<ClientIdentity>,
    /// Extra CA certificates (PEM) to verify the control plane with, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// `waitSeconds` of the long poll (at most 60).
    pub wait: Duration,
    /// A status report goes out at least this often (at most 60 s), besides after each change.
    pub status_interval: Duration,
}

/// A PEM certificate chain and its PEM private key (PKCS#8, PKCS#1 or SEC1).
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The longest long poll the protocol allows.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

// === impl ControlPlaneSettings ===

impl ControlPlaneSettings {
    /// Settings for `url` and `environment` with the defaults: no token, no state directory,
    /// a 30 s long poll, a report every 60 s, and [`ControlPlaneSettings::default_gateway_id`].
    pub fn new(url: impl Into<String>, environment: impl Into<String>) -> Self {
        ControlPlaneSettings {
            url: url.into(),
            environment: environment.into(),
            token: None,
            state_dir: None,
            gateway_id: Self::default_gateway_id(),
            client_identity: None,
            ca_file: None,
            wait: Duration::from_secs(30),
            status_interval: MAX_WAIT,
        }
    }

    /// `<host name>-<process id>`: unique among the gateways of a fleet at any moment.
    pub fn default_gateway_id() -> String {
        format!("{}-{}", host_name(), std::process::id())
    }
}

impl fmt::Debug for ControlPlaneSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlPlaneSettings")
            .field("url", &self.url)
            .field("environment", &self.environment)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("state_dir", &self.state_dir)
            .field("gateway_id", &self.gateway_id)
            .field("client_identity", &self.client_identity)
            .field("ca_file", &self.ca_file)
            .field("wait", &self.wait)
            .field("status_interval", &self.status_interval)
            .finish()
    }
}

/// The kernel's host name (what `hostname` prints; the pod name on Kubernetes).
fn host_name() -> String {
    let read = |path: &str| std::fs::read_to_string(path).ok().map(|name| name.trim().to_owned());
    read("/proc/sys/kernel/hostname")
        .or_else(|| read("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "tollgate".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_not_shown_and_the_id_names_host_and_process() {
        let mut settings = ControlPlaneSettings::new("http://cp", "default");
        settings.token = Some("s3cret".into());
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cret") && shown.contains("***"), "{shown}");
        let pid = std::process::id().to_string();
        assert!(settings.gateway_id.ends_with(&format!("-{pid}")) && settings.gateway_id.len() > pid.len() + 1);
    }
}
