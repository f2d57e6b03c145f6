//! operator.md, "Tracing" (GitHub issue 14): W3C Trace Context to every upstream attempt,
//! sampled requests exported as OTLP/HTTP protobuf spans to a fake collector that decodes
//! them, a failing collector never in the way, spans flushed on SIGTERM, and the access
//! log's `trace_id`.

use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;
use tollgate_tests::{
    Client, Collector, CollectorMode, Echo, GatewayProcess, Issuer, Reply, SigningKey, Span, Upstream,
    UpstreamBehavior, empty, eventually, hex, int_attribute, text_attribute,
};

use crate::auth::catalog::Catalog;
use crate::support::{api, gateway};

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const STATUS_ERROR: i32 = 2;

#[tokio::test]
async fn a_sampled_client_context_continues_through_the_gateway_to_the_upstream() {
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let gw = traced_gateway(&up, &tracing_config(&collector, 0.0, "")).await;
    let sent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let reply =
        get_with(&gw.client(), "/t/1.0.0/items/7", &[("traceparent", &sent), ("tracestate", "vendor=abc")]).await;
    assert_eq!(reply.status, 200);
    let echo = reply.echo();
    let (trace, parent, flags) = traceparent_of(&echo);
    assert_eq!((trace.as_str(), flags.as_str()), (CLIENT_TRACE, "01"), "the client's trace, sampled");
    assert_ne!(parent, CLIENT_SPAN, "the upstream's parent is the gateway's span, not the client's");
    assert_eq!(echo.headers["tracestate"], ["vendor=abc"]);

    let spans = collector.trace(CLIENT_TRACE, 2).await;
    let server = one_of_kind(&spans, SERVER);
    let client = one_of_kind(&spans, CLIENT);
    assert_eq!(hex(&server.parent_span_id), CLIENT_SPAN, "the server span is the client's child");
    assert_eq!(hex(&client.parent_span_id), hex(&server.span_id), "the client span is the server span's child");
    assert_eq!(hex(&client.span_id), parent, "the upstream received the client span's id");
    assert_eq!(server.trace_state, "vendor=abc");
    assert_eq!(text_attribute(server, "http.request.method").as_deref(), Some("GET"));
    assert_eq!(text_attribute(server, "url.path").as_deref(), Some("/t/1.0.0/items/7"));
    assert_eq!(text_attribute(server, "http.route").as_deref(), Some("/t/1.0.0/items/{id}"));
    assert_eq!(int_attribute(server, "http.response.status_code"), Some(200));
    assert_eq!(text_attribute(server, "tollgate.api").as_deref(), Some("t"));
    assert_eq!(text_attribute(server, "tollgate.api_version").as_deref(), Some("1.0.0"));
    assert_eq!(text_attribute(server, "tollgate.error_code"), None);
    assert_ne!(server.status.as_ref().map(|s| s.code), Some(STATUS_ERROR));
    assert_eq!(text_attribute(client, "server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(int_attribute(client, "server.port"), Some(i64::from(up.addr.port())));
    assert_eq!(int_attribute(client, "http.response.status_code"), Some(200));
    assert_eq!(collector.service_names().first().map(String::as_str), Some("edge"));
}

#[tokio::test]
async fn without_a_client_context_a_new_trace_starts_and_ratio_one_samples_it() {
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let gw = traced_gateway(&up, &tracing_config(&collector, 1.0, "")).await;
    let reply = gw.client().get("/t/1.0.0/items/1").await;
    let (trace, parent, flags) = traceparent_of(&reply.echo());
    assert_eq!(flags, "01");
    assert!(trace.len() == 32 && trace != "0".repeat(32), "{trace}");
    let spans = collector.trace(&trace, 2).await;
    let server = one_of_kind(&spans, SERVER);
    assert!(server.parent_span_id.is_empty(), "a root span");
    assert_eq!(hex(&one_of_kind(&spans, CLIENT).span_id), parent);
}

#[tokio::test]
async fn an_invalid_context_starts_a_new_trace_and_the_request_is_served() {
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let gw = traced_gateway(&up, &tracing_config(&collector, 0.0, "")).await;
    let invalid = [
        format!("00-{}-{CLIENT_SPAN}-01", CLIENT_TRACE.to_uppercase()),
        format!("00-{}-{CLIENT_SPAN}-01", "0".repeat(32)),
        format!("00-{CLIENT_TRACE}-{}-01", "0".repeat(16)),
        format!("ff-{CLIENT_TRACE}-{CLIENT_SPAN}-01"),
        format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01-extra"),
        format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}"),
        "garbage".to_owned(),
    ];
    for value in &invalid {
        let reply = get_with(&gw.client(), "/t/1.0.0/items/1", &[("traceparent", value), ("tracestate", "a=b")]).await;
        assert_eq!(reply.status, 200, "{value}");
        let echo = reply.echo();
        let (trace, _, flags) = traceparent_of(&echo);
        assert_ne!(trace, CLIENT_TRACE, "{value}: a new trace");
        assert_eq!(flags, "00", "{value}: not sampled at ratio 0");
        assert!(!echo.headers.contains_key("tracestate"), "{value}: tracestate goes with an invalid parent");
    }
}

#[tokio::test]
async fn an_unsampled_context_is_propagated_and_nothing_is_exported() {
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let gw = traced_gateway(&up, &tracing_config(&collector, 0.0, "")).await;
    let unsampled = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-00");
    let echo = get_with(&gw.client(), "/t/1.0.0/items/1", &[("traceparent", &unsampled)]).await.echo();
    let (trace, parent, flags) = traceparent_of(&echo);
    assert_eq!((trace.as_str(), flags.as_str()), (CLIENT_TRACE, "00"));
    assert_ne!(parent, CLIENT_SPAN);
    // A sampled request after it: once its spans arrive, the unsampled one would have too.
    let marker = "0af7651916cd43dd8448eb211c80319c";
    let sampled = format!("00-{marker}-{CLIENT_SPAN}-01");
    assert_eq!(get_with(&gw.client(), "/t/1.0.0/items/1", &[("traceparent", &sampled)]).await.status, 200);
    collector.trace(marker, 2).await;
    assert!(collector.spans().iter().all(|span| hex(&span.trace_id) == marker), "only the sampled trace");
}

#[tokio::test]
async fn each_retry_is_a_client_span_and_the_upstream_sees_its_own() {
    let flaky =
        Upstream::with(UpstreamBehavior { name: "flaky".into(), status: Some(503), ..Default::default() }).await;
    let (healthy, collector) = (Upstream::start("healthy").await, Collector::start().await);
    let doc = api("r", "/r", &[flaky.url(), healthy.url()], &["GET /x"], "").replace(
        "        urls:",
        "        type: failover\n        retries: {count: 1, statusCodes: [503]}\n        urls:",
    );
    let gw = gateway().api_file("a.yaml", &doc).config(&tracing_config(&collector, 1.0, "")).start().await;
    let reply = gw.client().get("/r/1.0.0/x").await;
    assert_eq!((reply.status.as_u16(), reply.echo().upstream.as_str()), (200, "healthy"));
    let (trace, parent, _) = traceparent_of(&reply.echo());
    let spans = collector.trace(&trace, 3).await;
    let server = one_of_kind(&spans, SERVER);
    let mut attempts: Vec<&Span> = spans.iter().filter(|span| span.kind == CLIENT).collect();
    attempts.sort_by_key(|span| span.start_time_unix_nano);
    assert_eq!(attempts.len(), 2, "one client span per attempt");
    assert!(attempts.iter().all(|span| span.parent_span_id == server.span_id));
    assert_ne!(attempts[0].span_id, attempts[1].span_id);
    let ports: Vec<_> = attempts.iter().map(|span| int_attribute(span, "server.port")).collect();
    assert_eq!(ports, [Some(i64::from(flaky.addr.port())), Some(i64::from(healthy.addr.port()))]);
    assert_eq!(int_attribute(attempts[0], "http.response.status_code"), Some(503));
    assert_eq!(attempts[0].status.as_ref().map(|s| s.code), Some(STATUS_ERROR));
    assert_eq!(hex(&attempts[1].span_id), parent, "the healthy upstream saw the second attempt's span");
}

#[tokio::test]
async fn a_401_and_a_503_are_exported_as_errors_with_their_codes() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let down = api("down", "/down", &[closed_port().await], &["GET /x"], "").replace("apis:\n", "");
    let catalog =
        Catalog::one_subscriber(&issuer, &up, "app-1", "ck-1").yaml().replacen("apis:\n", &format!("apis:\n{down}"), 1);
    let gw = gateway().api_file("a.yaml", &catalog).config(&tracing_config(&collector, 1.0, "")).start().await;
    let client = gw.client();

    let rejected = client.get("/pets/1/items").await;
    assert_eq!((rejected.status.as_u16(), rejected.code()), (401, "900902".to_owned()));
    let unreachable = client.get("/down/1.0.0/x").await;
    assert_eq!((unreachable.status.as_u16(), unreachable.code()), (503, "102503".to_owned()));
    let token = key.sign(&issuer.claims(json!({"azp": "ck-1"})));
    let admitted = get_with(&client, "/pets/1/items", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(admitted.status, 200);

    let spans = collector_servers(&collector, 3).await;
    let by_status =
        |code: i64| spans.iter().find(|span| int_attribute(span, "http.response.status_code") == Some(code));
    let (denied, failed, served) = (by_status(401).unwrap(), by_status(503).unwrap(), by_status(200).unwrap());
    assert_eq!(text_attribute(denied, "tollgate.error_code").as_deref(), Some("900902"));
    assert_eq!(denied.status.as_ref().map(|s| s.code), Some(STATUS_ERROR));
    assert_eq!(text_attribute(failed, "tollgate.error_code").as_deref(), Some("102503"));
    assert_eq!(failed.status.as_ref().map(|s| s.code), Some(STATUS_ERROR));
    assert_eq!(text_attribute(served, "tollgate.application_id").as_deref(), Some("app-1"));
    assert_eq!(text_attribute(served, "tollgate.error_code"), None);
}

#[tokio::test]
async fn a_failing_or_hanging_collector_never_touches_requests_and_drops_are_counted() {
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let gw = traced_gateway(&up, &tracing_config(&collector, 1.0, "export_timeout_ms = 300")).await;
    assert_eq!(gw.metric("tollgate_tracing_spans_dropped_total").await, Some(0.0), "exposed from the start");
    for mode in [CollectorMode::Unavailable, CollectorMode::Hang] {
        collector.set_mode(mode);
        let before = gw.metric("tollgate_tracing_spans_dropped_total").await.unwrap_or_default();
        for _ in 0..5 {
            assert_eq!(gw.client().get("/t/1.0.0/items/1").await.status, 200, "{mode:?}");
        }
        let dropped = eventually(Duration::from_secs(15), async || {
            gw.metric("tollgate_tracing_spans_dropped_total").await.unwrap_or_default() >= before + 10.0
        })
        .await;
        assert!(dropped, "{mode:?}: the spans of 5 requests (server + client each) are counted as dropped");
    }
    assert!(collector.spans().is_empty());
}

#[tokio::test]
async fn spans_still_queued_are_flushed_on_sigterm() {
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    // A batch would wait an hour: only the shutdown flush can deliver it.
    let mut gw = traced_gateway(&up, &tracing_config(&collector, 1.0, "batch_delay_ms = 3600000")).await;
    let (trace, _, _) = traceparent_of(&gw.client().get("/t/1.0.0/items/1").await.echo());
    assert_eq!(collector.received(), 0, "nothing exported before the signal");
    assert!(gw.stop().await.success());
    let spans: Vec<Span> = collector.spans().into_iter().filter(|span| hex(&span.trace_id) == trace).collect();
    assert_eq!(spans.len(), 2, "the server and client spans arrived before the process exited");
}

#[tokio::test]
async fn every_access_log_line_has_the_trace_id() {
    let up = Upstream::start("up").await;
    // No [tracing] at all: the context is still propagated and logged.
    let gw = gateway().api_file("a.yaml", &api("t", "/t", &[up.url()], &["GET /items/{id}"], "")).start().await;
    let client = gw.client();
    let continued = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let echo = get_with(&client, "/t/1.0.0/items/1", &[("traceparent", &continued), ("x-request-id", "continued")])
        .await
        .echo();
    assert_eq!(traceparent_of(&echo).0, CLIENT_TRACE);
    let fresh = get_with(&client, "/t/1.0.0/items/1", &[("x-request-id", "fresh")]).await;
    let fresh_trace = traceparent_of(&fresh.echo()).0;
    get_with(&client, "/nowhere", &[("x-request-id", "unrouted")]).await;

    let logs = gw.logs();
    let line_of = |id: &str| {
        let lines = logs.stdout_lines();
        let line = lines.iter().find(|line| line.contains(&format!("\"request_id\":\"{id}\"")))?;
        serde_json::from_str::<serde_json::Value>(line).ok()
    };
    assert!(eventually(Duration::from_secs(5), async || line_of("unrouted").is_some()).await);
    assert_eq!(line_of("continued").unwrap()["trace_id"], CLIENT_TRACE);
    assert_eq!(line_of("fresh").unwrap()["trace_id"], fresh_trace.as_str());
    let unrouted = line_of("unrouted").unwrap()["trace_id"].as_str().unwrap_or_default().to_owned();
    assert!(unrouted.len() == 32 && unrouted.bytes().all(|b| b.is_ascii_hexdigit()), "{unrouted}");
}

// === helpers ===

/// `[tracing]` exporting to `collector` at `ratio`, with extra lines.
fn tracing_config(collector: &Collector, ratio: f64, extra: &str) -> String {
    format!(
        "[tracing]\notlp_endpoint = {:?}\nservice_name = \"edge\"\nsample_ratio = {ratio:?}\n{extra}\n",
        collector.url()
    )
}

/// A gateway serving API `t` (`GET /items/{id}`) from `up`, with `config`.
async fn traced_gateway(up: &Upstream, config: &str) -> GatewayProcess {
    let doc = api("t", "/t", &[up.url()], &["GET /items/{id}"], "");
    gateway().api_file("a.yaml", &doc).config(config).start().await
}

async fn get_with(client: &Client, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = client.request("GET", path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    client.send(request.body(empty()).unwrap()).await.unwrap()
}

/// The trace id, parent id and flags of the one `traceparent` the upstream received.
fn traceparent_of(echo: &Echo) -> (String, String, String) {
    let values = &echo.headers["traceparent"];
    assert_eq!(values.len(), 1, "{values:?}");
    let parts: Vec<&str> = values[0].split('-').collect();
    assert_eq!((parts.len(), parts[0]), (4, "00"), "{values:?}");
    (parts[1].to_owned(), parts[2].to_owned(), parts[3].to_owned())
}

#[track_caller]
fn one_of_kind(spans: &[Span], kind: i32) -> &Span {
    let of_kind: Vec<&Span> = spans.iter().filter(|span| span.kind == kind).collect();
    assert_eq!(of_kind.len(), 1, "{spans:?}");
    of_kind[0]
}

/// The server spans, once there are `count`.
async fn collector_servers(collector: &Collector, count: usize) -> Vec<Span> {
    let servers = || collector.spans().into_iter().filter(|span| span.kind == SERVER).collect::<Vec<_>>();
    assert!(eventually(Duration::from_secs(15), async || servers().len() >= count).await, "{:?}", collector.spans());
    servers()
}

/// An address on which nothing listens.
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
