//! Reloading, by call and by the reloader task.

use super::keys::expiry_gauges;
use super::*;
use crate::file_events::Watch;
use crate::tls::catalog::Refresh;
use crate::tls::reloader;
use crate::tls::{SniCertPaths, TlsError, TlsMetrics, TlsSettings};

/// How long a reloader gets to notice a change before the test fails.
const NOTICE_WITHIN: Duration = Duration::from_secs(10);

/// A gateway serving `gateway.test` (default) and `a.test` from files in a temporary directory.
struct Fixture {
    pki: Pki,
    dir: tempfile::TempDir,
    registry: prometheus::Registry,
    tls: Tls,
    server: Server,
    default: Leaf,
    a: Leaf,
}

impl Fixture {
    async fn start() -> TestResult<Fixture> {
        let pki = Pki::new()?;
        let dir = tempfile::tempdir()?;
        let default = pki.leaf(&["gateway.test"])?;
        let a = pki.leaf(&["a.test"])?;
        let a_paths = a.write(dir.path(), "a")?;
        let settings = TlsSettings {
            default: Some(default.write(dir.path(), "tls")?),
            sni: vec![SniCertPaths { server_names: vec!["a.test".into()], cert: a_paths.cert, key: a_paths.key }],
        };
        let registry = prometheus::Registry::new();
        let tls = Tls::load(settings, TlsMetrics::register(&registry)?)?;
        let server = Server::start(&tls).await?;
        Ok(Fixture { pki, dir, registry, tls, server, default, a })
    }

    /// A new certificate for `names` expiring at `not_after`, written over `stem`'s files.
    fn replace(&self, stem: &str, names: &[&str], not_after: i64) -> TestResult<Leaf> {
        let leaf = self.pki.leaf_with(names, rcgen::KeyPair::generate()?, |params| {
            params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap_or(params.not_after);
        })?;
        leaf.write(self.dir.path(), stem)?;
        Ok(leaf)
    }

    async fn connect(&self, name: &str) -> TestResult<TlsStream<TcpStream>> {
        connect(self.server.addr, &Client::default().config(self.pki.roots()?)?, name).await
    }

    async fn served(&self, name: &str) -> TestResult<CertificateDer<'static>> {
        presented(&self.connect(name).await?)
    }

    /// Whether a new handshake for `name` gets `leaf` within [`NOTICE_WITHIN`].
    async fn eventually_serves(&self, name: &str, leaf: &Leaf) -> bool {
        eventually(NOTICE_WITHIN, || async { self.served(name).await.is_ok_and(|der| der == leaf.der) }).await
    }
}

#[tokio::test]
async fn reload_serves_new_certificates_while_open_connections_keep_working() -> TestResult {
    let fixture = Fixture::start().await?;
    let mut open = fixture.connect("gateway.test").await?;
    echo(&mut open, b"before").await?;

    let default = fixture.replace("tls", &["gateway.test"], 2_000_000_000)?;
    let a = fixture.replace("a", &["a.test"], 2_100_000_000)?;
    fixture.tls.reload()?;

    assert_eq!(fixture.served("gateway.test").await?, default.der);
    assert_eq!(fixture.served("a.test").await?, a.der);
    echo(&mut open, b"after").await?;
    assert_eq!(presented(&open)?, fixture.default.der);
    let gauges = expiry_gauges(&fixture.registry);
    assert_eq!(gauges, [("a.test".to_owned(), 2_100_000_000), ("default".to_owned(), 2_000_000_000)]);
    Ok(())
}

#[tokio::test]
async fn a_broken_replacement_keeps_the_previous_certificate() -> TestResult {
    let fixture = Fixture::start().await?;
    // The default gets a key that does not match; `a` is replaced correctly at the same time.
    let mismatched = fixture.pki.leaf(&["gateway.test"])?;
    mismatched.write_with_key(fixture.dir.path(), "tls", &rcgen::KeyPair::generate()?.serialize_pem())?;
    let a = fixture.replace("a", &["a.test"], 2_100_000_000)?;

    let error = fixture.tls.reload().err().ok_or("reloaded a mismatched pair")?;
    assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error}");
    assert_eq!(fixture.served("gateway.test").await?, fixture.default.der);
    assert_eq!(fixture.served("a.test").await?, a.der);

    std::fs::write(fixture.dir.path().join("tls.crt"), "not PEM")?;
    assert!(matches!(fixture.tls.reload(), Err(TlsError::NoCertificate { .. })));
    assert_eq!(fixture.served("gateway.test").await?, fixture.default.der);

    let fixed = fixture.replace("tls", &["gateway.test"], 2_000_000_000)?;
    fixture.tls.reload()?;
    assert_eq!(fixture.served("gateway.test").await?, fixed.der);
    Ok(())
}

#[tokio::test]
async fn the_changed_check_rereads_only_changed_files_and_retries_only_on_change() -> TestResult {
    let fixture = Fixture::start().await?;
    assert!(!fixture.tls.refresh(Refresh::Changed)?);
    assert_eq!(fixture.served("a.test").await?, fixture.a.der);

    let a = fixture.replace("a", &["a.test"], 2_100_000_000)?;
    assert!(fixture.tls.refresh(Refresh::Changed)?);
    assert_eq!(fixture.served("a.test").await?, a.der);
    assert!(!fixture.tls.refresh(Refresh::Changed)?);

    std::fs::write(fixture.dir.path().join("a.key"), "")?;
    assert!(matches!(fixture.tls.refresh(Refresh::Changed), Err(TlsError::NoPrivateKey { .. })));
    // Not retried (nor logged again) until the files change again.
    assert!(!fixture.tls.refresh(Refresh::Changed)?);
    assert_eq!(fixture.served("a.test").await?, a.der);

    std::fs::remove_file(fixture.dir.path().join("a.key"))?;
    assert!(matches!(fixture.tls.refresh(Refresh::Changed), Err(TlsError::NoSuchFile { .. })));
    assert!(!fixture.tls.refresh(Refresh::Changed)?);
    Ok(())
}

#[tokio::test]
async fn the_reloader_picks_up_replaced_files_from_file_events() -> TestResult {
    let fixture = Fixture::start().await?;
    // An hour between checks: past the reloader's first look, only file events can reload.
    let reloader = fixture.tls.spawn_reloader(Duration::from_secs(3600));
    let mut noticed = Vec::new();
    // The first change may be seen by the first look (if the watch is not up yet), the second
    // only by events.
    for not_after in [2_100_000_000, 2_200_000_000] {
        let a = fixture.replace("a", &["a.test"], not_after)?;
        noticed.push(fixture.eventually_serves("a.test", &a).await);
    }
    reloader.abort();
    assert_eq!(noticed, [true, true], "the reloader did not pick up the new certificates");
    assert_eq!(fixture.served("gateway.test").await?, fixture.default.der);
    Ok(())
}

#[tokio::test]
async fn the_periodic_check_alone_picks_up_files_rewritten_in_place() -> TestResult {
    let fixture = Fixture::start().await?;
    let reloader = reloader::spawn(fixture.tls.clone(), Duration::from_millis(50), Watch::PollOnly);
    let leaf = fixture.pki.leaf(&["gateway.test"])?;
    std::fs::write(fixture.dir.path().join("tls.key"), leaf.key.serialize_pem())?;
    std::fs::write(fixture.dir.path().join("tls.crt"), &leaf.cert_pem)?;
    let noticed = fixture.eventually_serves("gateway.test", &leaf).await;
    reloader.abort();
    assert!(noticed, "the periodic check did not pick up the new certificate");
    Ok(())
}

/// Kubernetes mounts a Secret as `tls.crt -> ..data/tls.crt`, `..data -> ..<timestamp>/`, and
/// updates it by writing a new timestamped directory and renaming a new `..data` link over the old.
#[cfg(unix)]
#[tokio::test]
async fn the_reloader_sees_a_kubernetes_secret_volume_update() -> TestResult {
    use std::os::unix::fs::symlink;

    let pki = Pki::new()?;
    let volume = tempfile::tempdir()?;
    let mount = |version: &str, leaf: &Leaf| -> TestResult {
        let dir = volume.path().join(version);
        std::fs::create_dir(&dir)?;
        leaf.write(&dir, "tls")?;
        symlink(version, volume.path().join("..data_tmp"))?;
        std::fs::rename(volume.path().join("..data_tmp"), volume.path().join("..data"))?;
        Ok(())
    };
    let first = pki.leaf(&["gateway.test"])?;
    mount("..2025_01_01_00_00_00.1", &first)?;
    symlink("..data/tls.crt", volume.path().join("tls.crt"))?;
    symlink("..data/tls.key", volume.path().join("tls.key"))?;
    let paths = CertPaths { cert: volume.path().join("tls.crt"), key: volume.path().join("tls.key") };
    let tls = Tls::load(TlsSettings { default: Some(paths), sni: vec![] }, TlsMetrics::unregistered()?)?;
    let server = Server::start(&tls).await?;
    let client = Client::default().config(pki.roots()?)?;
    assert_eq!(presented(&connect(server.addr, &client, "gateway.test").await?)?, first.der);

    let reloader = tls.spawn_reloader(Duration::from_secs(3600));
    let mut noticed = Vec::new();
    // As above: the second update can only be seen through file events.
    for version in ["..2025_01_02_00_00_00.2", "..2025_01_03_00_00_00.3"] {
        let update = pki.leaf(&["gateway.test"])?;
        mount(version, &update)?;
        noticed.push(
            eventually(NOTICE_WITHIN, || async {
                let stream = connect(server.addr, &client, "gateway.test").await;
                stream.is_ok_and(|stream| presented(&stream).is_ok_and(|der| der == update.der))
            })
            .await,
        );
    }
    reloader.abort();
    assert_eq!(noticed, [true, true], "the reloader did not see the ..data swaps");
    Ok(())
}
