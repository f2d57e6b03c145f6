//! Idle memory (issue 15): the sample configuration, as README and docs run it, holds little
//! anonymous memory once ready. What used to sit there: the access log's channel with all its
//! 65,536 slots allocated up front (~17 MiB), and mimalloc's arenas in transparent huge pages
//! (every 2 MiB page touched resident whole, ~17 MiB more).

use std::path::Path;
use std::time::Duration;

use tollgate_tests::eventually;

use crate::support::gateway;

/// Far below the ~38 MiB the sample used before, with room for a debug build's larger frames.
const MAX_IDLE_ANONYMOUS_KIB: u64 = 12 * 1024;

#[tokio::test]
async fn the_sample_configuration_idles_in_little_anonymous_memory() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let mut setup = gateway()
        .env("TOLLGATE_LISTENER__HTTPS", "127.0.0.1:0")
        .env("TOLLGATE_LISTENER__HTTP", "127.0.0.1:0")
        .env("TOLLGATE_ADMIN__ADDRESS", "127.0.0.1:0")
        .env("TOLLGATE_SOURCE__PATH", root.join("config/apis").to_str().unwrap());
    if transparent_huge_pages_always() {
        // What docs/operations.md tells operators of such hosts to set.
        setup = setup.env("MIMALLOC_ALLOW_THP", "0");
    }
    let mut gw = setup.start_with_config(&root.join("config/gateway.toml")).await;
    let admin = gw.admin();
    let ready = eventually(Duration::from_secs(30), async || admin.get("/health/ready").await.status == 200);
    assert!(ready.await, "the sample configuration never became ready");
    let rollup = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", gw.pid())).unwrap();
    let anonymous = kib(&rollup, "Anonymous:");
    assert!(anonymous <= MAX_IDLE_ANONYMOUS_KIB, "{anonymous} KiB of anonymous memory at idle:\n{rollup}");
    assert_eq!(kib(&rollup, "AnonHugePages:"), 0, "no transparent huge pages:\n{rollup}");
    assert_eq!(gw.stop().await.code(), Some(0));
}

/// Whether the kernel backs every large enough anonymous mapping with huge pages, asked or not.
fn transparent_huge_pages_always() -> bool {
    let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    mode.contains("[always]")
}

/// A `Key:   123 kB` line of smaps_rollup, in KiB.
fn kib(rollup: &str, key: &str) -> u64 {
    let line = rollup.lines().find(|line| line.starts_with(key)).unwrap_or_else(|| panic!("no {key} in\n{rollup}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
