//! The allocation budget of the lean upstream path: a bodiless `GET` to a plain-HTTP target
//! whose transport is bound and whose connection is pooled, from [`Upstreams::forward`] (the
//! request pipeline's one call: header preparation, the attempt, the response head, the
//! response header rewrite) until the response body has been read to its end.
//!
//! Counted on the test's own thread (allocation-counter counts per thread): the gateway side
//! runs on a current-thread runtime there, the upstream on a thread of its own. What a
//! request allocates that a snapshot build could have made once shows up here as a count
//! over the budget; the number is a count, not a time, so it does not depend on the machine.

use std::error::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use http::header::{ACCEPT, HOST, USER_AGENT};
use http::{HeaderValue, Request};
use http_body_util::BodyExt;
use prometheus::IntCounter;
use tollgate_router::api::{Endpoint, EndpointSettings, Strategy, Target};
use tollgate_router::proxy::{ForwardHeaders, Outbound, RequestBody, UpstreamPath, UpstreamSettings, Upstreams};
use tollgate_router::trace::RequestTrace;

type BoxError = Box<dyn Error + Send + Sync>;
type TestResult = Result<(), BoxError>;
/// A response body of at most 16 bytes: its bytes and their count (no allocation to keep it).
type Received = ([u8; 16], usize);

/// Requests counted (after two that connect and warm the buffers up).
const REQUESTS: usize = 50;
/// Allocations a request may make: the response's header map (its index table and its
/// entries). See benches/README.md, "Performance step 2", for what was cut.
const BUDGET_PER_REQUEST: u64 = 2;
/// Allocations the whole run may make besides: buffers that still grow once or twice.
const RUN_SLACK: u64 = 3;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello";

#[test]
fn a_pooled_bodiless_get_stays_within_its_allocation_budget() -> TestResult {
    assert_eq!(allocation_counter::measure(|| drop(std::hint::black_box(Box::new(1)))).count_total, 1);
    let upstream = fixed_upstream()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let upstreams = Upstreams::new(UpstreamSettings::default())?;
    let target = Target::parse(&format!("http://{upstream}/v1"))?;
    let endpoint = Endpoint::new(vec![target], Strategy::LoadBalance, EndpointSettings::default());
    let facts = ClientFacts::new();
    let body_timeouts = IntCounter::new("body_timeouts", "test")?;
    let send = |requests: Vec<_>, answers: &mut Vec<_>| {
        runtime.block_on(async {
            for request in requests {
                answers.push(forward(&upstreams, &endpoint, &facts, &body_timeouts, request).await);
            }
        });
    };
    let mut answers = Vec::with_capacity(REQUESTS + 2);
    send(vec![client_request()?, client_request()?], &mut answers);
    let requests = (0..REQUESTS).map(|_| client_request()).collect::<Result<Vec<_>, _>>()?;
    let counted = allocation_counter::measure(|| send(requests, &mut answers));
    assert_eq!(answers.len(), REQUESTS + 2);
    for answer in answers {
        let (received, length) = answer?;
        assert_eq!(&received[..length], b"hello");
    }
    let per_request = counted.count_total as f64 / REQUESTS as f64;
    eprintln!("lean path: {per_request:.2} allocations, {} bytes per request", counted.bytes_total / REQUESTS as u64);
    assert!(
        counted.count_total <= BUDGET_PER_REQUEST * REQUESTS as u64 + RUN_SLACK,
        "{per_request:.2} allocations per request, budget {BUDGET_PER_REQUEST}"
    );
    Ok(())
}

/// What the request pipeline knows about the client, made once per connection or request.
struct ClientFacts {
    client_ip: HeaderValue,
    host: HeaderValue,
    request_id: HeaderValue,
}

impl ClientFacts {
    fn new() -> Self {
        ClientFacts {
            client_ip: HeaderValue::from_static("192.0.2.7"),
            host: HeaderValue::from_static("api.example.com"),
            request_id: HeaderValue::from_static("0b0e6a4e-4b7c-4a4e-9f3c-2f6a1c9d8e7f"),
        }
    }
}

/// A client's `GET` as hyper hands it to the pipeline (made outside the count, as hyper
/// allocates it before the pipeline runs).
fn client_request() -> Result<Request<RequestBody>, http::Error> {
    Request::get("/pets/7?x=1")
        .header(HOST, "api.example.com")
        .header(USER_AGENT, "wrk")
        .header(ACCEPT, "*/*")
        .body(RequestBody::Empty)
}

/// The request through `forward`, and its response body read to the end.
async fn forward(
    upstreams: &Upstreams,
    endpoint: &Endpoint,
    facts: &ClientFacts,
    body_timeouts: &IntCounter,
    request: Request<RequestBody>,
) -> Result<Received, BoxError> {
    let headers =
        ForwardHeaders { host: Some(&facts.host), ..ForwardHeaders::new(&facts.client_ip, "https", &facts.request_id) };
    let path = UpstreamPath { rest: "/pets/7", query: Some("x=1") };
    let outbound =
        Outbound { endpoint, path, headers, sent: tokio::time::Instant::now(), body_timeouts: body_timeouts.clone() };
    let forwarded = upstreams.forward(request, outbound, &mut RequestTrace::detached()).await?;
    let mut body = forwarded.response.into_body();
    let mut received = [0; 16];
    let mut length = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            received.get_mut(length..length + data.len()).ok_or("body too long")?.copy_from_slice(&data);
            length += data.len();
        }
    }
    Ok((received, length))
}

/// An upstream that answers every request head on a connection with [`RESPONSE`]; it
/// allocates nothing per request (its thread is not counted anyway).
fn fixed_upstream() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer_heads(stream));
        }
    });
    Ok(address)
}

fn answer_heads(mut stream: TcpStream) {
    let mut buffer = [0; 4096];
    // How much of "\r\n\r\n" the bytes read so far end with.
    let mut matched = 0;
    while let Ok(read @ 1..) = stream.read(&mut buffer) {
        for &byte in &buffer[..read] {
            matched = match (matched, byte) {
                (0 | 2, b'\r') => matched + 1,
                (1 | 3, b'\n') => matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if matched == 4 {
                matched = 0;
                if stream.write_all(RESPONSE).is_err() {
                    return;
                }
            }
        }
    }
}
