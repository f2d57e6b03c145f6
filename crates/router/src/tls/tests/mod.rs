//! Tests over real sockets on 127.0.0.1 with a tokio-rustls client; certificates are issued by
//! a CA generated per test and written to a temporary directory.

mod handshake;
mod keys;
mod reload;
mod sni;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::client::ClientConfig;
use rustls::crypto::aws_lc_rs;
use rustls::version::{TLS12, TLS13};
use rustls::{RootCertStore, SupportedProtocolVersion};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{CertPaths, Tls};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A CA that issues the certificates a test serves, and the client that trusts it.
struct Pki {
    issuer: Issuer<'static, KeyPair>,
    ca: CertificateDer<'static>,
}

/// A certificate and its key, as rcgen made them.
struct Leaf {
    der: CertificateDer<'static>,
    cert_pem: String,
    key: KeyPair,
}

/// What the client offers.
#[derive(Clone)]
struct Client {
    versions: Vec<&'static SupportedProtocolVersion>,
    alpn: &'static [&'static str],
    sni: bool,
}

/// An echo server behind a [`Tls`] acceptor; aborted on drop.
struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

// === impl Pki ===

impl Pki {
    fn new() -> TestResult<Pki> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, "Tollgate test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca = params.self_signed(&key)?.der().clone();
        Ok(Pki { issuer: Issuer::new(params, key), ca })
    }

    /// An ECDSA P-256 certificate for `names`.
    fn leaf(&self, names: &[&str]) -> TestResult<Leaf> {
        self.leaf_with(names, KeyPair::generate()?, |_| {})
    }

    fn leaf_with(&self, names: &[&str], key: KeyPair, edit: impl FnOnce(&mut CertificateParams)) -> TestResult<Leaf> {
        let mut params = CertificateParams::new(names.iter().map(|name| name.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        edit(&mut params);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Leaf { der: cert.der().clone(), cert_pem: cert.pem(), key })
    }

    fn roots(&self) -> TestResult<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone())?;
        Ok(roots)
    }
}

// === impl Leaf ===

impl Leaf {
    /// Writes `{stem}.crt` and `{stem}.key` (PKCS#8) into `dir`.
    fn write(&self, dir: &Path, stem: &str) -> TestResult<CertPaths> {
        self.write_with_key(dir, stem, &self.key.serialize_pem())
    }

    fn write_with_key(&self, dir: &Path, stem: &str, key_pem: &str) -> TestResult<CertPaths> {
        let paths = CertPaths { cert: dir.join(format!("{stem}.crt")), key: dir.join(format!("{stem}.key")) };
        replace(&paths.cert, self.cert_pem.as_bytes())?;
        replace(&paths.key, key_pem.as_bytes())?;
        Ok(paths)
    }

    /// The key as PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`): the inner key of its PKCS#8.
    fn key_pem_unwrapped(&self, label: &str) -> TestResult<String> {
        use x509_parser::der_parser::parse_der;

        let pkcs8 = self.key.serialize_der();
        let (_, info) = parse_der(&pkcs8)?;
        let inner = info.as_sequence()?.get(2).ok_or("PKCS#8 without privateKey")?.as_slice()?;
        Ok(pem(label, inner))
    }
}

/// Replaces `path` atomically, as deployment tools do.
fn replace(path: &Path, contents: &[u8]) -> TestResult {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents)?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

fn pem(label: &str, der: &[u8]) -> String {
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = base64.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap_or("")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

// === impl Client ===

impl Default for Client {
    fn default() -> Self {
        Client { versions: vec![&TLS13, &TLS12], alpn: &["h2", "http/1.1"], sni: true }
    }
}

impl Client {
    fn config(&self, roots: RootCertStore) -> TestResult<Arc<ClientConfig>> {
        let mut config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_protocol_versions(&self.versions)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = self.alpn.iter().map(|protocol| protocol.as_bytes().to_vec()).collect();
        config.enable_sni = self.sni;
        Ok(Arc::new(config))
    }
}

/// Connects and completes the handshake for `name` (which the certificate must cover).
async fn connect(addr: SocketAddr, config: &Arc<ClientConfig>, name: &str) -> TestResult<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_owned())?;
    Ok(TlsConnector::from(Arc::clone(config)).connect(name, tcp).await?)
}

/// The leaf certificate the server presented.
fn presented(stream: &TlsStream<TcpStream>) -> TestResult<CertificateDer<'static>> {
    let certs = stream.get_ref().1.peer_certificates().ok_or("no peer certificates")?;
    Ok(certs.first().ok_or("empty chain")?.clone())
}

/// Sends `message` and checks it comes back.
async fn echo(stream: &mut TlsStream<TcpStream>, message: &[u8]) -> TestResult {
    stream.write_all(message).await?;
    stream.flush().await?;
    let mut back = vec![0; message.len()];
    stream.read_exact(&mut back).await?;
    assert_eq!(back, message);
    Ok(())
}

/// Polls `condition` every 25 ms until it holds or `within` has passed.
async fn eventually<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

// === impl Server ===

impl Server {
    async fn start(tls: &Tls) -> TestResult<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let acceptor = tls.acceptor();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let (mut read, mut write) = tokio::io::split(stream);
                        let _ = tokio::io::copy(&mut read, &mut write).await;
                    }
                });
            }
        });
        Ok(Server { addr, task })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
