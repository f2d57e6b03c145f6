use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::Echo;

pub type ClientBody = BoxBody<Bytes, Infallible>;

/// An HTTP client for one gateway listener: TLS trusting given roots (or plain), HTTP/1.1 or
/// HTTP/2 by ALPN, any SNI name while always connecting to `addr`.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    server_name: String,
    roots: Option<Arc<rustls::RootCertStore>>,
    http2: bool,
    tls_versions: Option<&'static rustls::SupportedProtocolVersion>,
    /// Connect from this local address (e.g. 127.0.0.2) instead of the one the OS picks.
    local_ip: Option<std::net::IpAddr>,
    /// The client certificate presented when the server asks, and a count of its asking.
    client_auth: Arc<ClientAuth>,
}

/// The client's side of mutual TLS: the certificate (and key) it presents when the server
/// sends a CertificateRequest, and how many times a server did.
#[derive(Debug, Default)]
pub struct ClientAuth {
    certified: Option<Arc<rustls::sign::CertifiedKey>>,
    requests: AtomicUsize,
}

/// One open connection, for several requests.
pub struct Conn {
    sender: Sender,
    /// The ALPN protocol the server chose.
    pub alpn: Option<Vec<u8>>,
    /// The server's certificate chain.
    pub peer_certs: Vec<CertificateDer<'static>>,
    pub tls_version: Option<rustls::ProtocolVersion>,
}

enum Sender {
    H1(http1::SendRequest<ClientBody>),
    H2(http2::SendRequest<ClientBody>),
}

/// A response read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Client {
    /// HTTPS over HTTP/1.1 to `addr`, trusting `ca_pem`, SNI `localhost`.
    pub fn new(addr: SocketAddr, ca_pem: &str) -> Client {
        crate::install_crypto();
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        Client {
            addr,
            server_name: "localhost".into(),
            roots: Some(Arc::new(roots)),
            http2: false,
            tls_versions: None,
            local_ip: None,
            client_auth: Arc::default(),
        }
    }

    /// Plain HTTP/1.1 to `addr`.
    pub fn plain(addr: SocketAddr) -> Client {
        Client {
            addr,
            server_name: "localhost".into(),
            roots: None,
            http2: false,
            tls_versions: None,
            local_ip: None,
            client_auth: Arc::default(),
        }
    }

    pub fn http2(mut self) -> Client {
        self.http2 = true;
        self
    }

    pub fn server_name(mut self, name: &str) -> Client {
        self.server_name = name.into();
        self
    }

    /// Only this TLS version.
    pub fn tls_version(mut self, version: &'static rustls::SupportedProtocolVersion) -> Client {
        self.tls_versions = Some(version);
        self
    }

    /// Connects from `ip` (any port): a client at another loopback address.
    pub fn from_ip(mut self, ip: std::net::IpAddr) -> Client {
        self.local_ip = Some(ip);
        self
    }

    /// Presents `cert` (its PEM chain: the leaf first, then any intermediates) when the server
    /// asks for a client certificate. The new client counts the server's requests afresh.
    pub fn client_certificate(mut self, cert: &crate::IssuedCert) -> Client {
        use rustls::pki_types::PrivateKeyDer;
        use rustls::pki_types::pem::PemObject;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes()).collect::<Result<_, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let certified = rustls::sign::CertifiedKey::from_der(chain, key, &provider).unwrap();
        self.client_auth = Arc::new(ClientAuth { certified: Some(Arc::new(certified)), requests: AtomicUsize::new(0) });
        self
    }

    /// This client with its own count of certificate requests, and no certificate.
    pub fn without_client_certificate(mut self) -> Client {
        self.client_auth = Arc::default();
        self
    }

    /// How many handshakes of this client (and its clones) the server sent a
    /// CertificateRequest in.
    pub fn certificate_requests(&self) -> usize {
        self.client_auth.requests.load(Ordering::SeqCst)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn connect(&self) -> Result<Conn, String> {
        let tcp = self.tcp().await.map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).ok();
        let Some(roots) = &self.roots else {
            return Ok(Conn {
                sender: handshake(TokioIo::new(tcp), false).await?,
                alpn: None,
                peer_certs: vec![],
                tls_version: None,
            });
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = match self.tls_versions {
            Some(version) => vec![version],
            None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots.clone())
            .with_client_cert_resolver(self.client_auth.clone());
        config.alpn_protocols = vec![if self.http2 { b"h2".to_vec() } else { b"http/1.1".to_vec() }];
        let name = ServerName::try_from(self.server_name.clone()).map_err(|e| e.to_string())?;
        let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| e.to_string())?;
        let (_, session) = tls.get_ref();
        let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
        let peer_certs = session.peer_certificates().map(<[CertificateDer<'static>]>::to_vec).unwrap_or_default();
        let tls_version = session.protocol_version();
        let http2 = alpn.as_deref() == Some(b"h2");
        Ok(Conn { sender: handshake(TokioIo::new(tls), http2).await?, alpn, peer_certs, tls_version })
    }

    async fn tcp(&self) -> std::io::Result<TcpStream> {
        let Some(ip) = self.local_ip else { return TcpStream::connect(self.addr).await };
        let socket = match ip {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(ip, 0))?;
        socket.connect(self.addr).await
    }

    /// Sends `request` on a new connection and reads the whole response.
    pub async fn send(&self, request: Request<ClientBody>) -> Result<Reply, String> {
        let mut conn = self.connect().await?;
        conn.send(request).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request("GET", path).body(empty()).unwrap()).await.unwrap()
    }

    /// A request builder with the URI and `Host` this client uses.
    pub fn request(&self, method: &str, path: &str) -> http::request::Builder {
        let scheme = if self.roots.is_some() { "https" } else { "http" };
        let uri = format!("{scheme}://{}:{}{path}", self.server_name, self.addr.port());
        let builder = Request::builder().method(method).uri(uri);
        match self.http2 {
            true => builder.version(Version::HTTP_2),
            false => builder.header("host", format!("{}:{}", self.server_name, self.addr.port())),
        }
    }
}

impl rustls::client::ResolvesClientCert for ClientAuth {
    /// Called by rustls only when the server sent a CertificateRequest.
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.certified.clone()
    }

    fn has_certs(&self) -> bool {
        self.certified.is_some()
    }
}

impl Conn {
    pub async fn send(&mut self, mut request: Request<ClientBody>) -> Result<Reply, String> {
        let response = match &mut self.sender {
            Sender::H1(sender) => {
                // HTTP/1.1 wants origin-form on the wire.
                let path =
                    request.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_else(|| "/".into());
                *request.uri_mut() = path.parse().map_err(|e: http::uri::InvalidUri| e.to_string())?;
                sender.ready().await.map_err(|e| e.to_string())?;
                sender.send_request(request).await
            }
            Sender::H2(sender) => {
                sender.ready().await.map_err(|e| e.to_string())?;
                sender.send_request(request).await
            }
        };
        read(response.map_err(|e| e.to_string())?).await
    }

    /// The raw response, body not yet read (for streaming and upgrades).
    pub async fn send_raw(&mut self, request: Request<ClientBody>) -> Result<Response<Incoming>, String> {
        match &mut self.sender {
            Sender::H1(sender) => sender.send_request(request).await.map_err(|e| e.to_string()),
            Sender::H2(sender) => sender.send_request(request).await.map_err(|e| e.to_string()),
        }
    }

    pub fn is_closed(&self) -> bool {
        match &self.sender {
            Sender::H1(sender) => sender.is_closed(),
            Sender::H2(sender) => sender.is_closed(),
        }
    }
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn echo(&self) -> Echo {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not an echo ({e}): {} {}", self.status, self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The contract's error code from the JSON body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

pub fn empty() -> ClientBody {
    Full::new(Bytes::new()).boxed()
}

pub fn full(bytes: impl Into<Bytes>) -> ClientBody {
    Full::new(bytes.into()).boxed()
}

async fn handshake<IO>(io: TokioIo<IO>, http2: bool) -> Result<Sender, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if http2 {
        let (sender, conn) = http2::handshake(TokioExecutor::new(), io).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok(Sender::H2(sender))
    } else {
        let (sender, conn) = http1::handshake(io).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn.with_upgrades());
        Ok(Sender::H1(sender))
    }
}

async fn read(response: Response<Incoming>) -> Result<Reply, String> {
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Reply { status: parts.status, version: parts.version, headers: parts.headers, body })
}

/// A TLS connection to `addr` with SNI `name`, ALPN `http/1.1`, trusting `ca_pem` (for
/// protocols layered by hand, e.g. WebSocket clients).
pub async fn tls_stream(addr: SocketAddr, ca_pem: &str, name: &str) -> tokio_rustls::client::TlsStream<TcpStream> {
    crate::install_crypto();
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap()
}

/// The certificate a server presents for `name`, as PEM, accepted without verification
/// (to learn a self-signed certificate; never used to trust anything else).
pub async fn fetch_server_certificate_pem(addr: SocketAddr, name: &str) -> String {
    use base64::Engine;
    crate::install_crypto();
    let verifier = Arc::new(insecure::AcceptAnyCertificate);
    let config =
        rustls::ClientConfig::builder().dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    let der = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

mod insecure {
    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub(super) struct AcceptAnyCertificate;

    impl ServerCertVerifier for AcceptAnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms.supported_schemes()
        }
    }
}
