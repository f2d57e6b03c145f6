//! Certificate choice by SNI.

use super::*;
use crate::tls::{SniCertPaths, TlsMetrics, TlsSettings};

/// Certificates for `a.example.test`, `b.example.test` (also `B.Other.test`), `*.wild.test`,
/// `exact.wild.test`, and a default covering every name the tests connect to without a match.
struct Fixture {
    pki: Pki,
    _dir: tempfile::TempDir,
    server: Server,
    a: Leaf,
    b: Leaf,
    wild: Leaf,
    exact_wild: Leaf,
    default: Leaf,
}

impl Fixture {
    async fn start() -> TestResult<Fixture> {
        let pki = Pki::new()?;
        let dir = tempfile::tempdir()?;
        let a = pki.leaf(&["a.example.test"])?;
        let b = pki.leaf(&["b.example.test", "b.other.test"])?;
        let wild = pki.leaf(&["*.wild.test"])?;
        let exact_wild = pki.leaf(&["exact.wild.test"])?;
        let default = pki.leaf(&["default.test", "unknown.test", "wild.test", "x.y.wild.test"])?;
        let sni = |leaf: &Leaf, stem, names: &[&str]| -> TestResult<SniCertPaths> {
            let paths = leaf.write(dir.path(), stem)?;
            let server_names = names.iter().map(|name| name.to_string()).collect();
            Ok(SniCertPaths { server_names, cert: paths.cert, key: paths.key })
        };
        let settings = TlsSettings {
            default: Some(default.write(dir.path(), "default")?),
            sni: vec![
                sni(&a, "a", &["a.example.test"])?,
                sni(&b, "b", &["b.example.test", "B.Other.test"])?,
                sni(&wild, "wild", &["*.wild.test"])?,
                sni(&exact_wild, "exact-wild", &["exact.wild.test"])?,
            ],
        };
        let tls = Tls::load(settings, TlsMetrics::unregistered()?)?;
        let server = Server::start(&tls).await?;
        Ok(Fixture { pki, _dir: dir, server, a, b, wild, exact_wild, default })
    }

    async fn served(&self, client: &Client, name: &str) -> TestResult<CertificateDer<'static>> {
        let config = client.config(self.pki.roots()?)?;
        presented(&connect(self.server.addr, &config, name).await?)
    }
}

#[tokio::test]
async fn sni_picks_the_certificate_among_several() -> TestResult {
    let fixture = Fixture::start().await?;
    let client = Client::default();
    assert_eq!(fixture.served(&client, "a.example.test").await?, fixture.a.der);
    assert_eq!(fixture.served(&client, "b.example.test").await?, fixture.b.der);
    assert_eq!(fixture.served(&client, "b.other.test").await?, fixture.b.der, "configured in upper case");
    assert_eq!(fixture.served(&client, "A.EXAMPLE.TEST").await?, fixture.a.der, "sent in upper case");
    Ok(())
}

#[tokio::test]
async fn unknown_or_absent_sni_gets_the_default() -> TestResult {
    let fixture = Fixture::start().await?;
    assert_eq!(fixture.served(&Client::default(), "unknown.test").await?, fixture.default.der);
    let no_sni = Client { sni: false, ..Client::default() };
    // Without SNI the client still verifies the name it dialled: a name only the default covers.
    assert_eq!(fixture.served(&no_sni, "default.test").await?, fixture.default.der);
    Ok(())
}

#[tokio::test]
async fn wildcards_match_one_label_and_lose_to_exact_names() -> TestResult {
    let fixture = Fixture::start().await?;
    let client = Client::default();
    assert_eq!(fixture.served(&client, "any.wild.test").await?, fixture.wild.der);
    assert_eq!(fixture.served(&client, "exact.wild.test").await?, fixture.exact_wild.der);
    assert_eq!(fixture.served(&client, "wild.test").await?, fixture.default.der);
    assert_eq!(fixture.served(&client, "x.y.wild.test").await?, fixture.default.der);
    Ok(())
}
