//! Configuration sources. Each one turns what it reads into a [`Catalog`](crate::Catalog)
//! update, builds a snapshot with a [`SnapshotBuilder`](crate::SnapshotBuilder), and hands it
//! to the shared [`Applier`](crate::Applier); the control-plane source plugs in the same way.

mod check;
mod directory;
mod file;

use std::io;
use std::path::PathBuf;

pub use check::{ApiSummary, CheckReport, check_directory};
pub use file::{DEBOUNCE, FileSource, FileWatch, RESCAN_INTERVAL};

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
}
