//! Protocol versions, ALPN and session resumption.

use rustls::version::{TLS12, TLS13};
use rustls::{HandshakeKind, ProtocolVersion};

use super::*;
use crate::tls::{TlsMetrics, TlsSettings};

/// A gateway serving one certificate for `gateway.test`, and a client trusting its CA.
async fn single_cert_server() -> TestResult<(Pki, tempfile::TempDir, Server)> {
    let pki = Pki::new()?;
    let dir = tempfile::tempdir()?;
    let default = pki.leaf(&["gateway.test"])?.write(dir.path(), "tls")?;
    let tls = Tls::load(TlsSettings { default: Some(default), sni: vec![] }, TlsMetrics::unregistered()?)?;
    let server = Server::start(&tls).await?;
    Ok((pki, dir, server))
}

#[tokio::test]
async fn tls13_and_tls12_handshakes_carry_data() -> TestResult {
    let (pki, _dir, server) = single_cert_server().await?;
    for (versions, expected) in [
        (vec![&TLS13], ProtocolVersion::TLSv1_3),
        (vec![&TLS12], ProtocolVersion::TLSv1_2),
        (vec![&TLS13, &TLS12], ProtocolVersion::TLSv1_3),
    ] {
        let client = Client { versions, ..Client::default() }.config(pki.roots()?)?;
        let mut stream = connect(server.addr, &client, "gateway.test").await?;
        assert_eq!(stream.get_ref().1.protocol_version(), Some(expected));
        echo(&mut stream, b"ping").await?;
    }
    Ok(())
}

#[tokio::test]
async fn alpn_is_negotiated_as_the_client_asks() -> TestResult {
    let (pki, _dir, server) = single_cert_server().await?;
    for (offered, expected) in [
        (&["h2", "http/1.1"][..], Some(&b"h2"[..])),
        (&["http/1.1", "h2"][..], Some(&b"h2"[..])),
        (&["http/1.1"][..], Some(&b"http/1.1"[..])),
        (&["h2"][..], Some(&b"h2"[..])),
        (&[][..], None),
    ] {
        for versions in [vec![&TLS13], vec![&TLS12]] {
            let client =
                Client { versions: versions.clone(), alpn: offered, ..Client::default() }.config(pki.roots()?)?;
            let stream = connect(server.addr, &client, "gateway.test").await?;
            assert_eq!(stream.get_ref().1.alpn_protocol(), expected, "client offered {offered:?}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn an_unknown_alpn_protocol_is_refused() -> TestResult {
    let (pki, _dir, server) = single_cert_server().await?;
    let client = Client { alpn: &["spdy/3"], ..Client::default() }.config(pki.roots()?)?;
    assert!(connect(server.addr, &client, "gateway.test").await.is_err());
    Ok(())
}

#[tokio::test]
async fn sessions_resume_with_tls13_tickets_and_tls12() -> TestResult {
    let (pki, _dir, server) = single_cert_server().await?;
    for versions in [vec![&TLS13], vec![&TLS12]] {
        // One client config: its session store carries the ticket to the second connection.
        let client = Client { versions: versions.clone(), ..Client::default() }.config(pki.roots()?)?;
        let mut first = connect(server.addr, &client, "gateway.test").await?;
        // Reading the echo makes the client process the TLS 1.3 NewSessionTicket.
        echo(&mut first, b"first").await?;
        assert_eq!(first.get_ref().1.handshake_kind(), Some(HandshakeKind::Full));
        let mut second = connect(server.addr, &client, "gateway.test").await?;
        echo(&mut second, b"second").await?;
        assert_eq!(second.get_ref().1.handshake_kind(), Some(HandshakeKind::Resumed), "{versions:?}");
    }
    Ok(())
}

/// A client session store that counts the TLS 1.3 tickets the server sent.
#[derive(Debug)]
struct CountedTickets {
    store: rustls::client::ClientSessionMemoryCache,
    received: std::sync::atomic::AtomicUsize,
}

impl CountedTickets {
    fn received(&self) -> usize {
        self.received.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl rustls::client::ClientSessionStore for CountedTickets {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: rustls::NamedGroup) {
        self.store.set_kx_hint(server_name, group);
    }
    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<rustls::NamedGroup> {
        self.store.kx_hint(server_name)
    }
    fn set_tls12_session(&self, server_name: ServerName<'static>, value: rustls::client::Tls12ClientSessionValue) {
        self.store.set_tls12_session(server_name, value);
    }
    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<rustls::client::Tls12ClientSessionValue> {
        self.store.tls12_session(server_name)
    }
    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.store.remove_tls12_session(server_name);
    }
    fn insert_tls13_ticket(&self, server_name: ServerName<'static>, value: rustls::client::Tls13ClientSessionValue) {
        self.received.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.store.insert_tls13_ticket(server_name, value);
    }
    fn take_tls13_ticket(&self, server_name: &ServerName<'static>) -> Option<rustls::client::Tls13ClientSessionValue> {
        self.store.take_tls13_ticket(server_name)
    }
}

#[tokio::test]
async fn one_tls13_ticket_is_sent_per_handshake_and_each_resumes() -> TestResult {
    let (pki, _dir, server) = single_cert_server().await?;
    let tickets = Arc::new(CountedTickets {
        store: rustls::client::ClientSessionMemoryCache::new(8),
        received: Default::default(),
    });
    let mut client = Arc::unwrap_or_clone(Client { versions: vec![&TLS13], ..Client::default() }.config(pki.roots()?)?);
    client.resumption = rustls::client::Resumption::store(tickets.clone());
    let client = Arc::new(client);
    let mut first = connect(server.addr, &client, "gateway.test").await?;
    // Reading the echo makes the client process the NewSessionTicket messages.
    echo(&mut first, b"first").await?;
    assert_eq!(first.get_ref().1.handshake_kind(), Some(HandshakeKind::Full));
    assert_eq!(tickets.received(), 1, "after a full handshake");
    for round in 2..=3 {
        let mut next = connect(server.addr, &client, "gateway.test").await?;
        echo(&mut next, b"again").await?;
        assert_eq!(next.get_ref().1.handshake_kind(), Some(HandshakeKind::Resumed), "round {round}");
        assert_eq!(tickets.received(), round, "one more ticket after each resumption");
    }
    Ok(())
}
