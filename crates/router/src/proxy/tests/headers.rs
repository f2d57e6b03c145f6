//! Header rules: unit tests of `prepare_*_headers`, then what an upstream and a client see
//! through the test proxy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::{HeaderMap, Method, Version};

use super::*;
use crate::proxy::{Asserted, prepare_request_headers, prepare_response_headers, replace_backend_jwt};

const REQUEST_ID: HeaderValue = HeaderValue::from_static("rid-1");

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    map
}

fn values<'h>(map: &'h HeaderMap, name: &str) -> Vec<&'h str> {
    map.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect()
}

fn prepare(map: &mut HeaderMap, version: Version, identity: &[(HeaderName, HeaderValue)]) {
    let host = HeaderValue::from_static("api.example.com");
    let (client_ip, request_id) = (client_ip_value(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))), REQUEST_ID);
    let fwd = ForwardHeaders {
        host: Some(&host),
        credential_header: Some(&AUTHORIZATION),
        identity,
        ..ForwardHeaders::new(&client_ip, "https", &request_id)
    };
    prepare_request_headers(map, version, &fwd).append_to(map);
}

#[test]
fn request_gets_forwarding_headers() {
    let mut map =
        headers(&[("host", "api.example.com"), ("x-forwarded-for", "10.0.0.1"), ("x-forwarded-for", "10.0.0.2")]);
    prepare(&mut map, Version::HTTP_11, &[]);
    assert_eq!(map.get(HOST), None, "the upstream client sets Host from the target");
    assert_eq!(values(&map, "x-forwarded-for"), ["10.0.0.1, 10.0.0.2, 192.0.2.7"]);
    assert_eq!(values(&map, "x-forwarded-proto"), ["https"]);
    assert_eq!(values(&map, "x-forwarded-host"), ["api.example.com"]);
    assert_eq!(values(&map, "x-request-id"), ["rid-1"]);
}

#[test]
fn the_backend_jwt_replaces_every_client_copy_and_without_one_the_copies_still_go() {
    let jwt_header = HeaderName::from_static("x-jwt-assertion");
    let client = [("x-jwt-assertion", "forged"), ("x-jwt-assertion", "second"), ("accept", "*/*")];
    let mut map = headers(&client);
    let mut asserted = Asserted::default();
    replace_backend_jwt(&mut map, &mut asserted, &jwt_header, Some(HeaderValue::from_static("minted")));
    asserted.append_to(&mut map);
    assert_eq!(values(&map, "x-jwt-assertion"), ["minted"]);
    assert_eq!(values(&map, "accept"), ["*/*"]);
    let mut map = headers(&client);
    let mut asserted = Asserted::default();
    replace_backend_jwt(&mut map, &mut asserted, &jwt_header, None);
    asserted.append_to(&mut map);
    assert!(values(&map, "x-jwt-assertion").is_empty(), "an Api without backendJwt: none at all");
}

#[test]
fn forwarded_for_starts_a_chain_and_unmaps_ipv4_in_ipv6() {
    let mut map = HeaderMap::new();
    let mapped = client_ip_value(IpAddr::V6(Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped()));
    let request_id = REQUEST_ID;
    let fwd = ForwardHeaders::new(&mapped, "http", &request_id);
    map.insert("x-forwarded-host", HeaderValue::from_static("spoofed"));
    prepare_request_headers(&mut map, Version::HTTP_2, &fwd).append_to(&mut map);
    assert_eq!(values(&map, "x-forwarded-for"), ["10.1.2.3"]);
    assert_eq!(map.get("x-forwarded-host"), None);
    let loopback = client_ip_value(IpAddr::V6(Ipv6Addr::LOCALHOST));
    let v6 = ForwardHeaders { client_ip: &loopback, ..fwd };
    prepare_request_headers(&mut map, Version::HTTP_2, &v6).append_to(&mut map);
    assert_eq!(values(&map, "x-forwarded-for"), ["10.1.2.3, ::1"]);
}

#[test]
fn hop_by_hop_and_connection_named_headers_are_removed() {
    let mut map = headers(&[
        ("connection", "keep-alive, X-Hop"),
        ("connection", "x-other-hop"),
        ("x-hop", "1"),
        ("x-other-hop", "1"),
        ("keep-alive", "timeout=5"),
        ("proxy-authorization", "Basic eA=="),
        ("proxy-connection", "keep-alive"),
        ("te", "trailers"),
        ("trailer", "x-checksum"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "h2c"),
        ("x-end-to-end", "kept"),
    ]);
    prepare(&mut map, Version::HTTP_11, &[]);
    let mut left: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
    left.sort_unstable();
    assert_eq!(left, ["x-end-to-end", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-request-id"]);
}

#[test]
fn a_websocket_upgrade_keeps_its_headers() {
    let mut map = headers(&[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-version", "13"),
        ("keep-alive", "timeout=5"),
    ]);
    prepare(&mut map, Version::HTTP_11, &[]);
    assert_eq!(values(&map, "connection"), ["upgrade"]);
    assert_eq!(values(&map, "upgrade"), ["websocket"]);
    assert_eq!(values(&map, "sec-websocket-version"), ["13"]);
    assert_eq!(map.get("keep-alive"), None);

    let mut h2 = headers(&[("connection", "upgrade"), ("upgrade", "websocket")]);
    prepare(&mut h2, Version::HTTP_2, &[]);
    assert_eq!((h2.get("connection"), h2.get("upgrade")), (None, None), "HTTP/2 has no upgrade");
}

#[test]
fn credential_and_spoofed_identity_are_replaced() {
    let app = HeaderName::from_static("x-tollgate-application-id");
    let identity = [
        (app.clone(), HeaderValue::from_static("app-1")),
        (HeaderName::from_static("x-user"), HeaderValue::from_static("alice")),
    ];
    let mut map = headers(&[
        ("authorization", "Bearer secret"),
        ("x-tollgate-application-id", "evil"),
        ("x-tollgate-application-id", "evil-2"),
        ("x-tollgate-subscriber", "evil"),
        ("x-user", "mallory"),
    ]);
    prepare(&mut map, Version::HTTP_11, &identity);
    assert_eq!(map.get(AUTHORIZATION), None);
    assert_eq!(values(&map, "x-tollgate-application-id"), ["app-1"]);
    assert_eq!(values(&map, "x-user"), ["alice"]);
    assert_eq!(map.get("x-tollgate-subscriber"), None);

    let mut anonymous = headers(&[("x-tollgate-application-id", "evil")]);
    prepare(&mut anonymous, Version::HTTP_11, &[]);
    assert_eq!(anonymous.get(&app), None, "no identity asserted: the namespace stays empty");
}

#[test]
fn response_loses_hop_by_hop_headers_unless_it_upgrades() {
    let mut map = headers(&[
        ("connection", "x-resp-hop"),
        ("x-resp-hop", "1"),
        ("keep-alive", "timeout=5"),
        ("proxy-authenticate", "Basic"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "h2,h2c"),
        ("content-type", "text/plain"),
    ]);
    prepare_response_headers(&mut map);
    assert_eq!(map.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["content-type"]);

    let mut upgrade = headers(&[
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ]);
    prepare_response_headers(&mut upgrade);
    assert_eq!(values(&upgrade, "connection"), ["upgrade"]);
    assert_eq!(values(&upgrade, "upgrade"), ["websocket"]);
    assert!(upgrade.contains_key("sec-websocket-accept"));
}

#[tokio::test]
async fn upstream_and_client_see_rewritten_headers() -> TestResult {
    let upstream = Server::plain(handler(|request| async move {
        let mut response = echo_head()(request).await;
        for (name, value) in
            [("connection", "x-resp-hop"), ("x-resp-hop", "1"), ("proxy-authenticate", "Basic"), ("x-kept", "yes")]
        {
            response.headers_mut().append(name, HeaderValue::from_static(value));
        }
        response
    }))
    .await?;
    let endpoint = endpoint(&[format!("{}/v2", upstream.url())], Strategy::LoadBalance, EndpointSettings::default())?;
    let proxy = start_proxy(upstreams()?, endpoint).await?;
    let request = Request::builder()
        .uri(format!("http://{}/base/pets/7?a=%2F&b", proxy.addr))
        .header("host", "api.example.com")
        .header("x-forwarded-for", "10.0.0.1")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "secret")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic eA==")
        .header("authorization", "Bearer token")
        .header("x-tollgate-application-id", "evil")
        .header("x-request-id", "client-id")
        .header("x-custom", "kept")
        .body(full(""))?;
    let response = client().request(request).await?;
    assert_eq!(response.headers().get("x-kept").map(|v| v.as_bytes()), Some(&b"yes"[..]));
    for name in ["connection", "x-resp-hop", "proxy-authenticate"] {
        assert_eq!(response.headers().get(name), None, "{name} reached the client");
    }
    let seen = Seen::read(response).await?;
    assert_eq!(seen.field("target"), Some("/v2/pets/7?a=%2F&b"));
    assert_eq!(seen.header("host"), [upstream.addr.to_string()]);
    assert_eq!(seen.header("x-forwarded-for"), ["10.0.0.1, 127.0.0.1"]);
    assert_eq!(seen.header("x-forwarded-proto"), ["http"]);
    assert_eq!(seen.header("x-forwarded-host"), ["api.example.com"]);
    assert_eq!(seen.header("x-request-id"), ["client-id"]);
    assert_eq!(seen.header("x-tollgate-application-id"), ["app-1"]);
    assert_eq!(seen.header("x-custom"), ["kept"]);
    for name in ["connection", "x-hop", "keep-alive", "proxy-authorization", "authorization"] {
        assert!(seen.header(name).is_empty(), "{name} reached the upstream");
    }
    Ok(())
}

#[tokio::test]
async fn an_http2_client_reaches_an_http1_upstream() -> TestResult {
    let upstream = Server::plain(echo_head()).await?;
    let endpoint = endpoint(&[upstream.url()], Strategy::LoadBalance, EndpointSettings::default())?;
    let proxy = start_proxy(upstreams()?, endpoint).await?;
    let h2: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).http2_only(true).build_http();
    let request =
        Request::builder().method(Method::PUT).uri(format!("http://{}/base/x", proxy.addr)).body(full("x"))?;
    let seen = Seen::read(h2.request(request).await?).await?;
    assert_eq!(seen.field("version"), Some("HTTP/1.1"));
    assert_eq!(seen.header("host"), [upstream.addr.to_string()]);
    assert_eq!(seen.header("x-forwarded-host"), [proxy.addr.to_string()]);
    Ok(())
}
