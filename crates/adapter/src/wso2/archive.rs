//! Reading a zip from bytes, within hard bounds: the runtime-artifacts zip of API-M and the
//! per-API zips nested in it (INTERFACE.md §3.1).
//!
//! Nothing is written to disk and nothing is trusted from the zip's headers: sizes are
//! counted while inflating, every name is checked to be a plain relative path, and one
//! [`Budget`] covers an archive and the archives nested in it.

use std::io::{Cursor, Read};

use zip::ZipArchive;

/// The bounds an archive is read within. The defaults fit API-M deployments of thousands of
/// APIs (a recorded per-API zip is under 10 KB) with a wide margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// The size of the zip as received.
    pub max_compressed_bytes: usize,
    /// Every entry of the archive and of the archives nested in it, inflated.
    pub max_expanded_bytes: u64,
    /// One entry, inflated.
    pub max_entry_bytes: u64,
    /// Entries of the archive and of the archives nested in it.
    pub max_entries: usize,
    /// Archives within archives: 1 lets the top archive hold zips whose entries are not zips.
    pub max_nesting: u8,
    /// Inflated size over compressed size of one entry larger than [`RATIO_FLOOR_BYTES`]:
    /// text inflates 5 to 20 times, a zip bomb about a thousand.
    pub max_ratio: u64,
}

/// Entries smaller than this are never refused for their compression ratio (a run of
/// spaces compresses very well and is harmless when small).
pub const RATIO_FLOOR_BYTES: u64 = 64 * 1024;

/// Why an archive was not read. Each variant names the entry concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("the archive is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("the archive is not a readable zip: {0}")]
    Unreadable(String),
    #[error("entry {name:?} cannot be read: {reason}")]
    UnreadableEntry { name: String, reason: String },
    #[error("the archive holds more than {max} entries")]
    TooManyEntries { max: usize },
    #[error("entry {name:?} inflates to more than {max} bytes")]
    EntryTooLarge { name: String, max: u64 },
    #[error("the archive inflates to more than {max} bytes")]
    ExpandedTooLarge { max: u64 },
    #[error("entry {name:?} is compressed more than {max} to 1, as a zip bomb is")]
    CompressionRatio { name: String, max: u64 },
    #[error("entry {name:?} is an archive nested more than {max} deep")]
    TooDeep { name: String, max: u8 },
    #[error("entry name {name:?} is not a plain relative path: {reason}")]
    UnsafeName { name: String, reason: &'static str },
    #[error("an entry name is not valid UTF-8 ({lossy:?})")]
    NameNotUtf8 { lossy: String },
    #[error("entry {name:?} appears twice")]
    Duplicate { name: String },
    #[error("entry {name:?} is not valid UTF-8 text")]
    TextNotUtf8 { name: String },
    #[error("entry {name:?} is not valid JSON: {reason}")]
    Json { name: String, reason: String },
    #[error("entry {name:?} is not valid YAML: {reason}")]
    Yaml { name: String, reason: String },
    #[error("entry {name:?} is missing")]
    Missing { name: String },
}

/// One file of an archive, inflated, under a checked relative name (`/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What an archive and the archives nested in it may still use.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: ArchiveLimits,
    expanded: u64,
    entries: usize,
}

// === impl ArchiveLimits ===

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_compressed_bytes: 64 * 1024 * 1024,
            max_expanded_bytes: 512 * 1024 * 1024,
            max_entry_bytes: 16 * 1024 * 1024,
            max_entries: 100_000,
            max_nesting: 1,
            max_ratio: 200,
        }
    }
}

// === impl Budget ===

impl Budget {
    pub(crate) fn new(limits: ArchiveLimits) -> Self {
        Budget { limits, expanded: 0, entries: 0 }
    }

    fn count_entry(&mut self) -> Result<(), ArchiveError> {
        self.entries += 1;
        match self.entries > self.limits.max_entries {
            true => Err(ArchiveError::TooManyEntries { max: self.limits.max_entries }),
            false => Ok(()),
        }
    }

    fn count_bytes(&mut self, len: u64) -> Result<(), ArchiveError> {
        self.expanded = self.expanded.saturating_add(len);
        match self.expanded > self.limits.max_expanded_bytes {
            true => Err(ArchiveError::ExpandedTooLarge { max: self.limits.max_expanded_bytes }),
            false => Ok(()),
        }
    }
}

/// Reads every file entry of the zip `bytes` at nesting `depth` (0 for the archive
/// received), within `budget`. Directory entries are skipped.
pub(crate) fn read_entries(bytes: &[u8], depth: u8, budget: &mut Budget) -> Result<Vec<Entry>, ArchiveError> {
    let limits = budget.limits;
    if bytes.len() > limits.max_compressed_bytes {
        return Err(ArchiveError::TooLarge { len: bytes.len(), max: limits.max_compressed_bytes });
    }
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| ArchiveError::Unreadable(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(ArchiveError::TooManyEntries { max: limits.max_entries });
    }
    let mut entries: Vec<Entry> = Vec::new();
    for index in 0..archive.len() {
        budget.count_entry()?;
        let mut file = archive.by_index(index).map_err(|e| ArchiveError::Unreadable(e.to_string()))?;
        let name = checked_name(file.name_raw())?;
        if file.is_dir() {
            continue;
        }
        if name.to_ascii_lowercase().ends_with(".zip") && depth >= limits.max_nesting {
            return Err(ArchiveError::TooDeep { name, max: limits.max_nesting });
        }
        // The header's compressed size, clamped to the bytes received; the size bounds
        // below hold whatever the header says.
        let compressed = file.compressed_size().min(bytes.len() as u64);
        let bytes = inflate(&mut file, &name, budget)?;
        check_ratio(&name, compressed, bytes.len() as u64, &limits)?;
        if entries.iter().any(|entry| entry.name == name) {
            return Err(ArchiveError::Duplicate { name });
        }
        entries.push(Entry { name, bytes });
    }
    Ok(entries)
}

/// Inflates one entry, counting the bytes actually produced (a header may lie).
fn inflate(file: &mut impl Read, name: &str, budget: &mut Budget) -> Result<Vec<u8>, ArchiveError> {
    let limits = budget.limits;
    let mut bytes = Vec::new();
    let mut limited = file.take(limits.max_entry_bytes.saturating_add(1));
    limited
        .read_to_end(&mut bytes)
        .map_err(|e| ArchiveError::UnreadableEntry { name: name.to_owned(), reason: e.to_string() })?;
    let len = bytes.len() as u64;
    if len > limits.max_entry_bytes {
        return Err(ArchiveError::EntryTooLarge { name: name.to_owned(), max: limits.max_entry_bytes });
    }
    budget.count_bytes(len)?;
    Ok(bytes)
}

/// Refuses an entry that inflated far more than text does.
fn check_ratio(name: &str, compressed: u64, expanded: u64, limits: &ArchiveLimits) -> Result<(), ArchiveError> {
    let too_dense = expanded > RATIO_FLOOR_BYTES && expanded / compressed.max(1) > limits.max_ratio;
    match too_dense {
        true => Err(ArchiveError::CompressionRatio { name: name.to_owned(), max: limits.max_ratio }),
        false => Ok(()),
    }
}

/// An entry name as a plain relative path: UTF-8, `/`-separated, no backslash, no drive,
/// no absolute path, no `.`/`..` or empty segment, no control character.
pub(crate) fn checked_name(raw: &[u8]) -> Result<String, ArchiveError> {
    let name = std::str::from_utf8(raw)
        .map_err(|_| ArchiveError::NameNotUtf8 { lossy: String::from_utf8_lossy(raw).into_owned() })?;
    let unsafe_name = |reason| Err(ArchiveError::UnsafeName { name: name.to_owned(), reason });
    if name.is_empty() {
        return unsafe_name("empty");
    }
    if name.contains('\\') {
        return unsafe_name("a backslash");
    }
    if name.chars().any(char::is_control) {
        return unsafe_name("a control character");
    }
    if name.starts_with('/') {
        return unsafe_name("absolute");
    }
    if name.split('/').next().is_some_and(|first| first.contains(':')) {
        return unsafe_name("a drive or scheme prefix");
    }
    let body = name.strip_suffix('/').unwrap_or(name);
    match body.split('/').find(|segment| matches!(*segment, "" | "." | "..")) {
        Some("..") => unsafe_name("a parent (..) segment"),
        Some(_) => unsafe_name("an empty or . segment"),
        None => Ok(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(name: &[u8]) -> Option<&'static str> {
        match checked_name(name) {
            Err(ArchiveError::UnsafeName { reason, .. }) => Some(reason),
            Err(_) | Ok(_) => None,
        }
    }

    #[test]
    fn plain_relative_names_pass_and_every_escape_is_named() {
        assert_eq!(
            checked_name(b"PizzaShackAPI-1.0.0/Definitions/swagger.json").ok().as_deref(),
            Some("PizzaShackAPI-1.0.0/Definitions/swagger.json")
        );
        assert_eq!(checked_name(b"dir/").ok().as_deref(), Some("dir/"));
        assert_eq!(reason(b"a/../b"), Some("a parent (..) segment"));
        assert_eq!(reason(b".."), Some("a parent (..) segment"));
        assert_eq!(reason(b"/abs"), Some("absolute"));
        assert_eq!(reason(b"a\\b"), Some("a backslash"));
        assert_eq!(reason(b"c:evil"), Some("a drive or scheme prefix"));
        assert_eq!(reason(b"a//b"), Some("an empty or . segment"));
        assert_eq!(reason(b"./a"), Some("an empty or . segment"));
        assert_eq!(reason(b"a\0b"), Some("a control character"));
        assert_eq!(reason(b""), Some("empty"));
        assert!(matches!(checked_name(b"\xff"), Err(ArchiveError::NameNotUtf8 { .. })));
    }

    #[test]
    fn a_dense_entry_is_refused_only_past_the_floor() {
        let limits = ArchiveLimits::default();
        assert!(check_ratio("small", 1, RATIO_FLOOR_BYTES, &limits).is_ok());
        assert!(check_ratio("text", 10_000, 100_000, &limits).is_ok());
        assert!(check_ratio("bomb", 100, 1_000_000, &limits).is_err());
        assert!(check_ratio("stored-as-zero", 0, 1_000_000, &limits).is_err());
    }
}
