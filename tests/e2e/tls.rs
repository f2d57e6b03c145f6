//! TLS termination: versions, ALPN, SNI, certificate reload, the generated certificate.

use std::time::Duration;

use tollgate_tests::{Client, Upstream, eventually};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::support::{api, gateway};

fn subject_names(conn: &tollgate_tests::Conn) -> Vec<String> {
    let (_, cert) = X509Certificate::from_der(&conn.peer_certs[0]).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    san.value.general_names.iter().map(|name| format!("{name}")).collect()
}

#[tokio::test]
async fn tls_1_2_and_1_3_with_alpn_h2_and_http1() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let conn = gw.client().tls_version(version).connect().await.unwrap();
        assert_eq!(conn.tls_version, Some(version.version));
        assert_eq!(conn.alpn.as_deref(), Some(&b"http/1.1"[..]));
        let conn = gw.client().http2().tls_version(version).connect().await.unwrap();
        assert_eq!(conn.alpn.as_deref(), Some(&b"h2"[..]));
    }
}

#[tokio::test]
async fn sni_picks_the_certificate_and_unknown_names_get_the_default() {
    let up = Upstream::start("up").await;
    let setup = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], ""));
    let dir = setup.dir().to_owned();
    let (a_cert, a_key) = setup.pki().issue(&["a.example.com"]).write(&dir, "a");
    let (b_cert, b_key) = setup.pki().issue(&["b.example.com"]).write(&dir, "b");
    let (d_cert, d_key) = setup.pki().issue(&["localhost", "default.example.com"]).write(&dir, "default");
    let tls = format!(
        "[tls]\ncert = {d_cert:?}\nkey = {d_key:?}\n[[tls.sni]]\nserver_names = [\"a.example.com\"]\ncert = {a_cert:?}\nkey = {a_key:?}\n[[tls.sni]]\nserver_names = [\"b.example.com\"]\ncert = {b_cert:?}\nkey = {b_key:?}\n"
    );
    let gw = setup.config(&tls).start().await;
    for (sni, expected) in
        [("a.example.com", "a.example.com"), ("b.example.com", "b.example.com"), ("localhost", "localhost")]
    {
        let conn = gw.client().server_name(sni).connect().await.unwrap();
        assert!(subject_names(&conn).iter().any(|n| n.contains(expected)), "{sni}: {:?}", subject_names(&conn));
    }
    let reply = gw.client().server_name("a.example.com").get("/petstore/1.0.0/pets").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn certificates_are_reloaded_when_their_files_change() {
    let up = Upstream::start("up").await;
    let setup = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], ""));
    let dir = setup.dir().to_owned();
    let (cert, key) = setup.pki().issue(&["localhost", "old.example.com"]).write(&dir, "live");
    let gw = setup.config(&format!("[tls]\ncert = {cert:?}\nkey = {key:?}\npoll_seconds = 1\n")).start().await;
    let mut before = gw.client().connect().await.unwrap();
    assert!(subject_names(&before).iter().any(|n| n.contains("old.example.com")));
    gw.pki().issue(&["localhost", "new.example.com"]).write(&dir, "live");
    let renewed = eventually(Duration::from_secs(15), async || {
        let conn = gw.client().connect().await.unwrap();
        subject_names(&conn).iter().any(|n| n.contains("new.example.com"))
    })
    .await;
    assert!(renewed, "new handshakes use the new certificate");
    let request = gw.client().request("GET", "/petstore/1.0.0/pets").body(tollgate_tests::empty()).unwrap();
    assert_eq!(before.send(request).await.unwrap().status, 200, "a connection opened before the reload keeps working");
}

#[tokio::test]
async fn without_tls_configuration_a_self_signed_localhost_certificate_is_served() {
    let up = Upstream::start("up").await;
    let gw = gateway()
        .without_tls()
        .api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], ""))
        .start()
        .await;
    assert!(gw.logs().stderr_text().contains("self-signed"), "a warning is logged");
    // Trust whatever the gateway serves, then check it is a localhost certificate.
    let probe = Client::new(gw.https, gw.pki().ca_pem()).connect().await;
    assert!(probe.is_err(), "the generated certificate is not from the test CA");
    let pem = tollgate_tests::fetch_server_certificate_pem(gw.https, "localhost").await;
    let conn = Client::new(gw.https, &pem).connect().await.unwrap();
    assert!(subject_names(&conn).iter().any(|n| n.contains("localhost")));
}

#[tokio::test]
async fn failed_handshakes_are_counted() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let untrusting = Client::new(gw.https, tollgate_tests::Pki::new().ca_pem());
    assert!(untrusting.connect().await.is_err());
    let counted = eventually(Duration::from_secs(5), async || {
        gw.metric("tollgate_tls_handshake_failures_total").await == Some(1.0)
    })
    .await;
    assert!(counted);
}
