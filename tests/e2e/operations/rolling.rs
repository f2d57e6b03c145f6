//! operator.md, "Shutdown": "A rolling restart behind a load balancer that honours readiness
//! loses no request." Two gateway processes behind the harness balancer, continuous load on
//! fresh connections, one process restarted (SIGTERM, then started again), zero failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tollgate_tests::balancer::{Backend, Balancer, POLL_INTERVAL};
use tollgate_tests::{Client, Upstream, eventually};

use crate::support::{api, gateway};

/// Concurrent clients; each sends one request per new connection, back to back.
const WORKERS: usize = 4;
/// Bounds of the load, whatever happens.
const MAX_REQUESTS: usize = 50_000;
const MAX_LOAD_TIME: Duration = Duration::from_secs(20);
/// The load comes from one client IP: lift the per-IP limit of unsecured operations (the
/// built-in `Unauthenticated` policy, 500 a minute) so that only failures count.
const UNLIMITED_UNAUTHENTICATED: &str = "policies:\n  - {kind: subscription, name: Unauthenticated, limit: {requestCount: 100000000, unitTime: 1, timeUnit: min}}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_behind_a_readiness_aware_balancer_loses_no_request() {
    let upstream = Upstream::start("up").await;
    // drain_seconds (2 s) is well above the balancer's poll interval (100 ms): the balancer
    // sees the 503 and moves away while the process still accepts.
    assert!(Duration::from_secs(2) >= POLL_INTERVAL * 20);
    let setup = gateway()
        .api_file("a.yaml", &api("pets", "/petstore", &[upstream.url()], &["GET /pets"], ""))
        .api_file("open.yaml", UNLIMITED_UNAUTHENTICATED)
        .config("[shutdown]\ndrain_seconds = 2\ntimeout_seconds = 10")
        .config("[log]\naccess = false");
    let mut first = setup.start_again().await;
    let second = setup.start_again().await;
    let balancer = Balancer::start(vec![Backend::https(&first), Backend::https(&second)]).await;
    assert!(eventually(Duration::from_secs(5), async || balancer.ready() == [true, true]).await, "both backends ready");
    let load = Load::start(&Client::new(balancer.addr, setup.pki().ca_pem()));
    assert!(
        eventually(Duration::from_secs(10), async || load.ok() >= 50).await,
        "load is flowing: {:?}",
        load.failures()
    );

    let status = first.stop().await;
    assert_eq!(status.code(), Some(0), "the old process exits cleanly");
    let served_during_restart = load.ok();
    let restarted = setup.start_again().await;
    balancer.replace(0, Backend::https(&restarted));
    let rejoined = eventually(Duration::from_secs(10), async || balancer.forwarded()[0] >= 50).await;
    assert!(rejoined, "the restarted process takes traffic again: {:?}", balancer.forwarded());

    let (ok, failures) = load.stop().await;
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the rolling restart: {:?}",
        failures.len(),
        ok + failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(ok > served_during_restart + 50, "load continued through the restart: {ok} requests");
    assert_eq!(upstream.requests(), ok, "every answered request was proxied once");
    drop(second);
}

/// Bounded continuous load through one client.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(client: &Client) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicUsize::new(0));
        let deadline = tokio::time::Instant::now() + MAX_LOAD_TIME;
        let workers = (0..WORKERS)
            .map(|_| {
                let (client, stop, ok, failures, sent) =
                    (client.clone(), stop.clone(), ok.clone(), failures.clone(), sent.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst)
                        && tokio::time::Instant::now() < deadline
                        && sent.fetch_add(1, Ordering::SeqCst) < MAX_REQUESTS
                    {
                        let request =
                            client.request("GET", "/petstore/1.0.0/pets").body(tollgate_tests::empty()).unwrap();
                        match client.send(request).await {
                            Ok(reply) if reply.status == 200 => _ = ok.fetch_add(1, Ordering::SeqCst),
                            Ok(reply) => {
                                let failure = format!("status {}: {}", reply.status, reply.text());
                                failures.lock().unwrap().push(failure);
                            }
                            Err(error) => failures.lock().unwrap().push(error),
                        }
                    }
                })
            })
            .collect();
        Load { stop, ok, failures, workers }
    }

    fn ok(&self) -> usize {
        self.ok.load(Ordering::SeqCst)
    }

    fn failures(&self) -> Vec<String> {
        self.failures.lock().unwrap().clone()
    }

    async fn stop(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let (ok, failures) = (self.ok.clone(), self.failures.clone());
        for worker in self.workers {
            worker.await.unwrap();
        }
        let failures = failures.lock().unwrap().clone();
        (ok.load(Ordering::SeqCst), failures)
    }
}
