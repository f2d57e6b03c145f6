//! `secured: false` operations: the `Unauthenticated` subscription policy applies per client
//! IP, the address the connection comes from. On Linux every 127.0.0.0/8 address is local, so
//! the client binds its socket to 127.0.0.2 or 127.0.0.3 before connecting.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http::Request;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;
use tollgate_tests::{Reply, Upstream, empty};

use super::fixture::{admitted, assert_throttled, policy};
use crate::support::{api, gateway};

#[tokio::test]
async fn the_unauthenticated_quota_is_per_client_ip() {
    let up = Upstream::start("up").await;
    let mut yaml = api("open", "/open", &[up.url()], &["GET /x"], "");
    yaml.push_str(&format!("policies:\n  - {}\n", policy("subscription", "Unauthenticated", 3, 60)));
    let gw = gateway().api_file("open.yaml", &yaml).start().await;
    let target = gw.http.expect("a plain listener");
    let (first, second) = (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
    for _ in 0..3 {
        admitted(get_from(first, target, &[]).await);
    }
    assert_throttled(&get_from(first, target, &[]).await, "subscription", "900804", 3, 60);
    // Another address has a quota of its own.
    for _ in 0..3 {
        let reply = admitted(get_from(second, target, &[]).await);
        assert_eq!(reply.echo().headers["x-forwarded-for"], ["127.0.0.3"], "the gateway saw the bound address");
    }
    assert_throttled(&get_from(second, target, &[]).await, "subscription", "900804", 3, 60);
    // A header cannot buy a new quota: the key is the connection's address.
    let spoofed = get_from(first, target, &[("x-forwarded-for", "10.9.9.9")]).await;
    assert_throttled(&spoofed, "subscription", "900804", 3, 60);
    let labels = [("api", "open"), ("version", "1.0.0"), ("level", "subscription")];
    assert_eq!(gw.metric_sum("tollgate_throttled_total", &labels).await, 3.0);
}

/// `GET /open/1.0.0/x` over plain HTTP/1.1 on a connection from `source` to `target`.
async fn get_from(source: IpAddr, target: SocketAddr, headers: &[(&str, &str)]) -> Reply {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap_or_else(|e| panic!("cannot bind {source}: {e}"));
    let stream = socket.connect(target).await.unwrap_or_else(|e| panic!("{source} → {target}: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let mut request = Request::get("/open/1.0.0/x").header("host", format!("localhost:{}", target.port()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender.send_request(request.body(empty()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply { status: parts.status, version: parts.version, headers: parts.headers, body }
}
