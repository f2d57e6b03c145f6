//! Endpoint behaviour: round robin, failover, upstream down or slow, retries.

use std::time::Duration;

use tokio::net::TcpListener;
use tollgate_tests::{Upstream, UpstreamBehavior, empty, eventually};

use crate::support::{api, gateway};

/// An address on which nothing listens.
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn load_balance_rotates_and_skips_a_dead_target() {
    let (a, b) = (Upstream::start("a").await, Upstream::start("b").await);
    let urls = [a.url(), closed_port().await, b.url()];
    let gw = gateway().api_file("a.yaml", &api("lb", "/lb", &urls, &["GET /x"], "")).start().await;
    let client = gw.client();
    let mut seen = Vec::new();
    for _ in 0..6 {
        let reply = client.get("/lb/1.0.0/x").await;
        assert_eq!(reply.status, 200, "a dead target is skipped, never an error");
        seen.push(reply.echo().upstream);
    }
    assert!(
        seen.iter().filter(|u| *u == "a").count() >= 2 && seen.iter().filter(|u| *u == "b").count() >= 2,
        "{seen:?}"
    );
}

#[tokio::test]
async fn failover_uses_the_next_target_only_when_the_first_is_down() {
    let (primary, backup) = (Upstream::start("primary").await, Upstream::start("backup").await);
    let failover = |urls: &[String]| {
        api("fo", "/fo", urls, &["GET /x"], "").replace("        urls:", "        type: failover\n        urls:")
    };
    let gw = gateway().api_file("a.yaml", &failover(&[primary.url(), backup.url()])).start().await;
    for _ in 0..3 {
        assert_eq!(gw.client().get("/fo/1.0.0/x").await.echo().upstream, "primary");
    }
    let gw = gateway().api_file("a.yaml", &failover(&[closed_port().await, backup.url()])).start().await;
    for _ in 0..3 {
        assert_eq!(gw.client().get("/fo/1.0.0/x").await.echo().upstream, "backup");
    }
}

#[tokio::test]
async fn all_targets_down_is_503_102503_and_counted() {
    let gw = gateway().api_file("a.yaml", &api("down", "/down", &[closed_port().await], &["GET /x"], "")).start().await;
    let reply = gw.client().get("/down/1.0.0/x").await;
    assert_eq!((reply.status.as_u16(), reply.code()), (503, "102503".into()));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let errors = gw.metric_sum("tollgate_upstream_errors_total", &[("api", "down"), ("kind", "connect")]).await;
    assert_eq!(errors, 1.0);
}

#[tokio::test]
async fn a_slow_upstream_is_504_102504() {
    let slow = Upstream::start("slow").await;
    let endpoint = slow.url();
    let doc = api("slow", "/slow", &[endpoint], &["GET /x"], "")
        .replace("        urls:", "        timeoutMs: 300\n        urls:");
    let gw = gateway().api_file("a.yaml", &doc).start().await;
    let reply = gw.client().get("/slow/1.0.0/x?delay_ms=5000").await;
    assert_eq!((reply.status.as_u16(), reply.code()), (504, "102504".into()));
    let errors = gw.metric_sum("tollgate_upstream_errors_total", &[("api", "slow"), ("kind", "timeout")]).await;
    assert_eq!(errors, 1.0);
}

#[tokio::test]
async fn idempotent_requests_are_retried_on_listed_statuses_and_posts_are_not() {
    let flaky =
        Upstream::with(UpstreamBehavior { name: "flaky".into(), status: Some(503), ..Default::default() }).await;
    let healthy = Upstream::start("healthy").await;
    let doc = api("retry", "/retry", &[flaky.url(), healthy.url()], &["GET /x", "POST /x"], "").replace(
        "        urls:",
        "        type: failover\n        retries: {count: 1, statusCodes: [503]}\n        urls:",
    );
    let gw = gateway().api_file("a.yaml", &doc).start().await;
    let client = gw.client();
    let reply = client.get("/retry/1.0.0/x").await;
    assert_eq!((reply.status.as_u16(), reply.echo().upstream.as_str()), (200, "healthy"));
    let post = client.send(client.request("POST", "/retry/1.0.0/x").body(empty()).unwrap()).await.unwrap();
    assert_eq!(post.status, 503, "a POST is never retried");
    assert_eq!(flaky.requests(), 2);
}

/// A raw HTTP/1.1 upstream on 127.0.0.1 that answers every request head with `answer`
/// (keeping the connection open), for framing an ordinary upstream would never send.
async fn raw_upstream(answer: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stream.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                    received.extend_from_slice(&chunk[..n]);
                    while let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                        received.drain(..end + 4);
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn chunked_upstream_bodies_arrive_whole_and_conflicting_lengths_are_503() {
    let chunked =
        raw_upstream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwell\r\n7;x=y\r\n-framed\r\n0\r\n\r\n")
            .await;
    let smuggling = raw_upstream("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nbody").await;
    let gw = gateway()
        .api_file("a.yaml", &api("chunk", "/chunk", &[chunked], &["GET /x"], ""))
        .api_file("b.yaml", &api("smuggle", "/smuggle", &[smuggling], &["GET /x"], ""))
        .start()
        .await;
    let client = gw.client();
    for _ in 0..3 {
        let reply = client.get("/chunk/1.0.0/x").await;
        assert_eq!((reply.status.as_u16(), &reply.body[..]), (200, &b"well-framed"[..]));
    }
    let reply = client.get("/smuggle/1.0.0/x").await;
    assert_eq!((reply.status.as_u16(), reply.code()), (503, "102503".into()));
    let errors = gw.metric_sum("tollgate_upstream_errors_total", &[("api", "smuggle"), ("kind", "reset")]).await;
    assert_eq!(errors, 1.0);
}

/// With file descriptors exhausted every `accept` fails, 20 times a second: the log gets one
/// line for the burst and one when it ends, not one per failure; the metric counts them all.
#[tokio::test]
async fn exhausted_file_descriptors_log_a_burst_of_accept_failures_once() {
    // Repeated failures are debug lines: the test waits for them instead of for time.
    let mut gw = gateway().env("RUST_LOG", "info,tollgate_router::server::accept_log=debug").start().await;
    let pid = gw.pid();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let soft = limits.lines().find(|l| l.starts_with("Max open files")).unwrap().split_whitespace().nth(3).unwrap();
    let soft: usize = soft.parse().unwrap();
    // The soft limit only (`N:`), so that it can be raised again without privileges.
    let limit = |n: usize| {
        let status =
            std::process::Command::new("prlimit").arg(format!("--pid={pid}")).arg(format!("--nofile={n}:")).status();
        assert!(status.unwrap().success(), "prlimit --nofile={n}:");
    };
    limit(open + 4);
    let mut clients = Vec::new();
    for _ in 0..16 {
        clients.push(tokio::net::TcpStream::connect(gw.client().addr()).await.unwrap());
    }
    let repeated = eventually(Duration::from_secs(20), async || {
        gw.logs().stderr_text().matches("accept failed again").count() >= 3
    })
    .await;
    assert!(repeated, "accept did not fail repeatedly");
    limit(soft);
    // A request answered on the TLS listener: an accept succeeded again, which ends the burst.
    assert_eq!(gw.client().get("/").await.status, 404);
    let failures =
        gw.metric_sum("tollgate_connection_errors_total", &[("listener", "https"), ("kind", "accept")]).await;
    drop(clients);
    assert_eq!(gw.stop().await.code(), Some(0));
    gw.logs().closed().await;
    let stderr = gw.logs().stderr_text();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("WARN") && l.contains("accept")).collect();
    assert!(failures >= 3.0, "{failures} failures counted");
    assert_eq!(lines.len(), 2, "{failures} failures: {lines:#?}");
    assert!(lines[0].contains("accept failed") && lines[1].contains("accept recovered"), "{lines:#?}");
}
