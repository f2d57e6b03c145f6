//! The per-request work around the upstream exchange that is the gateway's own: preparing a
//! client's headers for the upstream, and reading an upstream's response the way the lean
//! HTTP/1.1 exchange does (head, framing, body).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Version};
use tollgate_router::proxy::{ForwardHeaders, client_ip_value, decode_response, prepare_request_headers};

/// What nginx sends back for the load harness's upstream (100-byte JSON body).
const NGINX_RESPONSE: &str = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 17:00:00 GMT\r\n\
    Content-Type: application/json\r\nContent-Length: 100\r\nConnection: keep-alive\r\n\r\n\
    {\"id\":42,\"name\":\"bench-item\",\"status\":\"ok\",\"note\":\"a fixed-size upstream body for L7 gateway bench\"}";

/// The same body in three chunks, with a trailer.
const CHUNKED_RESPONSE: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
    20\r\n{\"id\":42,\"name\":\"bench-item\",\"st\r\n\
    20\r\natus\":\"ok\",\"note\":\"a fixed-size \r\n\
    24\r\nupstream body for L7 gateway bench\"}\r\n0\r\nx-checksum: 1\r\n\r\n";

/// The client's headers of a typical authenticated API call.
fn client_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(http::header::HOST, HeaderValue::from_static("api.example.com"));
    headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
    headers.insert(http::header::ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(http::header::USER_AGENT, HeaderValue::from_static("bench/1.0"));
    headers
}

fn forwarding(c: &mut Criterion) {
    let client_ip = client_ip_value(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    let host = HeaderValue::from_static("api.example.com");
    let request_id = HeaderValue::from_static("0f8c7c8e-5d1c-4b8e-9a47-3f2d1f0c9b11");
    let identity = [
        (HeaderName::from_static("x-tollgate-application-id"), HeaderValue::from_static("app-1")),
        (HeaderName::from_static("x-tollgate-key-type"), HeaderValue::from_static("PRODUCTION")),
    ];
    let fwd = ForwardHeaders {
        host: Some(&host),
        credential_header: Some(&AUTHORIZATION),
        identity: &identity,
        ..ForwardHeaders::new(&client_ip, "https", &request_id)
    };
    let headers = client_headers();
    c.bench_function("forwarding/prepare_request_headers", |b| {
        b.iter_batched_ref(
            || headers.clone(),
            |headers| prepare_request_headers(headers, Version::HTTP_11, black_box(&fwd)),
            criterion::BatchSize::SmallInput,
        );
    });
    c.bench_function("forwarding/upstream_response/content_length", |b| {
        b.iter(|| decode_response(black_box(NGINX_RESPONSE.as_bytes())));
    });
    c.bench_function("forwarding/upstream_response/chunked", |b| {
        b.iter(|| decode_response(black_box(CHUNKED_RESPONSE.as_bytes())));
    });
    assert!(decode_response(CHUNKED_RESPONSE.as_bytes()).is_some_and(|(_, body)| body.len() == 100));
    assert!(decode_response(NGINX_RESPONSE.as_bytes()).is_some_and(|(_, body)| body.len() == 100));
}

criterion_group!(benches, forwarding);
criterion_main!(benches);
