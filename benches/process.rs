//! The release `tollgate` binary the end-to-end benches run, and what they read of its process.

use std::path::PathBuf;

/// `TOLLGATE_BIN`, else `tollgate` next to the running bench's directory (`target/release`).
///
/// # Panics
/// When neither exists: the bench cannot run without it.
pub fn gateway_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TOLLGATE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let binary = exe.parent().and_then(|deps| deps.parent()).map(|dir| dir.join("tollgate")).unwrap_or_default();
    assert!(binary.exists(), "{} is missing: run `cargo build --release -p tollgate-gateway` first", binary.display());
    binary
}

/// (VmRSS, VmHWM) of process `pid`, in MB (0 when unreadable).
pub fn resident_memory_mb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        let line = status.lines().find(|line| line.starts_with(name)).unwrap_or_default();
        line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).unwrap_or(0) / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}
