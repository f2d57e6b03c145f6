//! Configuration sources. Each one fetches and decodes, and hands what it read to the
//! [engine](crate::engine) as changes to entities or as a whole new set; the engine builds
//! and serves it.

mod check;
pub mod control_plane;
mod directory;
mod file;
pub mod wso2_apim;
mod wso2_files;

use std::io;
use std::path::PathBuf;

pub use check::{ApiSummary, CheckReport, Wso2Api, Wso2Report, check_directory};
pub use control_plane::{
    ClientIdentity, ControlPlaneSettings, ControlPlaneSource, ControlPlaneTasks, SavedState, StateDir,
};
pub use file::{DEBOUNCE, FileSource, FileWatch, RESCAN_INTERVAL};
pub use wso2_apim::{Wso2Settings, Wso2Source, Wso2Status, Wso2Task};
pub use wso2_files::Wso2Form;

/// Why a source could not start or load.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("configuration directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("configuration path {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot watch {}: {source}", path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    /// `source.url` is not an http(s) URL.
    #[error("source.url {url:?}: {reason}")]
    Url { url: String, reason: String },
    /// `source.token` cannot be sent in a header (its value is not shown).
    #[error("source.token holds characters that cannot be sent in an HTTP header")]
    Token,
    /// `source.username` and `source.password` cannot be sent as HTTP Basic credentials.
    #[error("source.username and source.password cannot be sent in an HTTP header")]
    Credentials,
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A client certificate, key or CA file that does not hold usable PEM.
    #[error("{}: {reason}", path.display())]
    Tls { path: PathBuf, reason: String },
    #[error("cannot build the control-plane client: {0}")]
    Client(String),
    #[error("cannot start a thread: {0}")]
    Thread(#[source] io::Error),
    /// The engine could not apply an update (what was served before stays).
    #[error("{0}")]
    Engine(String),
}
