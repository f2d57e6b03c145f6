//! TLS upstreams verified against a configured CA, HTTP/2 by ALPN and by prior knowledge.

use std::io::Write;
use std::path::PathBuf;

use http::Method;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tempfile::NamedTempFile;

use super::*;
use crate::api::UpstreamProtocol;
use crate::proxy::UpstreamsError;

/// A test CA (its certificate in a PEM file) and a server config with a leaf it signed for
/// 127.0.0.1, offering `h2` and `http/1.1`.
struct Pki {
    ca_file: NamedTempFile,
    server: Arc<ServerConfig>,
}

fn pki() -> Result<Pki, Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "Tollgate proxy test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?.signed_by(&key, &*ca)?;
    let mut ca_file = NamedTempFile::new()?;
    ca_file.write_all(ca.pem().as_bytes())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Pki { ca_file, server: Arc::new(server) })
}

fn trusting(ca_files: Vec<PathBuf>) -> Result<Upstreams, UpstreamsError> {
    Upstreams::new(UpstreamSettings { ca_files, ..UpstreamSettings::default() })
}

fn https(server: &Server) -> String {
    format!("https://{}", server.addr)
}

#[tokio::test]
async fn tls_upstream_is_verified_with_the_configured_ca_and_speaks_h2_by_alpn() -> TestResult {
    let pki = pki()?;
    let upstream = Server::tls(echo_head(), pki.server.clone()).await?;
    let endpoint = endpoint(&[https(&upstream)], Strategy::LoadBalance, EndpointSettings::default())?;
    let upstreams = trusting(vec![pki.ca_file.path().to_owned()])?;
    let seen = Seen::read(forward(&upstreams, &endpoint, Method::GET, "/tls").await?.response).await?;
    assert_eq!(seen.field("version"), Some("HTTP/2.0"));
    assert_eq!(seen.field("target"), Some("/tls"));
    Ok(())
}

#[tokio::test]
async fn an_untrusted_tls_upstream_cannot_be_connected_to() -> TestResult {
    let pki = pki()?;
    let upstream = Server::tls(echo_head(), pki.server.clone()).await?;
    let endpoint = endpoint(&[https(&upstream)], Strategy::LoadBalance, EndpointSettings::default())?;
    let error = forward(&trusting(Vec::new())?, &endpoint, Method::GET, "/").await.err();
    assert!(matches!(error, Some(ProxyError::Connect)), "{error:?}");
    Ok(())
}

/// A target binds to the clients of the first gateway that sends to it; another gateway's
/// requests to the same target still go through that gateway's own clients (its own trust).
#[tokio::test]
async fn a_target_sent_to_by_two_gateways_uses_each_ones_clients() -> TestResult {
    let pki = pki()?;
    let upstream = Server::tls(echo_head(), pki.server.clone()).await?;
    let endpoint = endpoint(&[https(&upstream)], Strategy::LoadBalance, EndpointSettings::default())?;
    let (untrusting, trusting) = (trusting(Vec::new())?, trusting(vec![pki.ca_file.path().to_owned()])?);
    for _ in 0..2 {
        let error = forward(&untrusting, &endpoint, Method::GET, "/").await.err();
        assert!(matches!(error, Some(ProxyError::Connect)), "{error:?}");
        let seen = Seen::read(forward(&trusting, &endpoint, Method::GET, "/").await?.response).await?;
        assert_eq!(seen.field("version"), Some("HTTP/2.0"));
    }
    Ok(())
}

#[tokio::test]
async fn http2_protocol_uses_prior_knowledge_on_plain_http() -> TestResult {
    let upstream = Server::plain(echo_head()).await?;
    let upstreams = upstreams()?;
    for (protocol, version) in [(UpstreamProtocol::Http2, "HTTP/2.0"), (UpstreamProtocol::Auto, "HTTP/1.1")] {
        let settings = EndpointSettings { protocol, ..EndpointSettings::default() };
        let endpoint = endpoint(&[upstream.url()], Strategy::LoadBalance, settings)?;
        let seen = Seen::read(forward(&upstreams, &endpoint, Method::GET, "/").await?.response).await?;
        assert_eq!(seen.field("version"), Some(version), "{protocol:?}");
    }
    Ok(())
}

#[tokio::test]
async fn http2_protocol_over_tls_negotiates_h2() -> TestResult {
    let pki = pki()?;
    let upstream = Server::tls(echo_head(), pki.server.clone()).await?;
    let settings = EndpointSettings { protocol: UpstreamProtocol::Http2, ..EndpointSettings::default() };
    let endpoint = endpoint(&[https(&upstream)], Strategy::LoadBalance, settings)?;
    let upstreams = trusting(vec![pki.ca_file.path().to_owned()])?;
    let seen = Seen::read(forward(&upstreams, &endpoint, Method::GET, "/").await?.response).await?;
    assert_eq!(seen.field("version"), Some("HTTP/2.0"));
    Ok(())
}

#[test]
fn unusable_ca_files_are_rejected() -> TestResult {
    let missing = trusting(vec![PathBuf::from("/nonexistent/ca.pem")]).err();
    assert!(matches!(missing, Some(UpstreamsError::CaFile { .. })), "{missing:?}");
    let mut garbage = NamedTempFile::new()?;
    garbage.write_all(b"not a certificate\n")?;
    let empty = trusting(vec![garbage.path().to_owned()]).err();
    assert!(matches!(empty, Some(UpstreamsError::NoCertificate { .. })), "{empty:?}");
    Ok(())
}
