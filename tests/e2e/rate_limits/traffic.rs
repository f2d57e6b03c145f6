//! Continuous traffic for the bounds: callers on keep-alive connections, each in its own task,
//! tallying what came back over a measured interval.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tollgate_tests::{Client, Conn, Reply, empty};

use super::fixture::retry_after;

/// One caller: `GET path` (with a bearer token) over one keep-alive connection, opened again
/// after a transport error.
pub(super) struct Caller {
    client: Client,
    path: String,
    token: Option<String>,
    conn: Option<Conn>,
}

/// What came back to one caller.
#[derive(Debug, Default, Clone)]
pub(super) struct Tally {
    /// Responses by status.
    pub(super) statuses: BTreeMap<u16, u64>,
    /// 429s by `(code, RateLimit-Policy)`.
    pub(super) throttles: BTreeMap<(String, String), u64>,
    /// Transport errors and malformed 429s (the first few, and how many).
    pub(super) problems: Vec<String>,
    pub(super) problem_count: u64,
}

/// Callers running until a deadline or until stopped.
pub(super) struct Traffic {
    started: Instant,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    workers: Vec<JoinHandle<Tally>>,
}

// === impl Caller ===

impl Caller {
    pub(super) fn new(client: Client, path: &str, token: Option<&str>) -> Caller {
        Caller { client, path: path.to_owned(), token: token.map(str::to_owned), conn: None }
    }

    pub(super) async fn send(&mut self) -> Result<Reply, String> {
        let mut conn = match self.conn.take() {
            Some(conn) if !conn.is_closed() => conn,
            _ => self.client.connect().await?,
        };
        let mut request = self.client.request("GET", &self.path);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let reply = conn.send(request.body(empty()).map_err(|e| e.to_string())?).await?;
        self.conn = Some(conn);
        Ok(reply)
    }
}

// === impl Tally ===

impl Tally {
    /// 200s: requests the gateway admitted.
    pub(super) fn admitted(&self) -> u64 {
        self.status(200)
    }

    pub(super) fn status(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// Responses other than 200 and 429, transport errors, and 429s without the contract's headers.
    pub(super) fn unexpected(&self) -> u64 {
        let others: u64 =
            self.statuses.iter().filter(|(status, _)| ![200, 429].contains(*status)).map(|(_, n)| n).sum();
        others + self.problem_count
    }

    pub(super) fn total(&self) -> u64 {
        self.statuses.values().sum()
    }

    pub(super) fn merge(mut self, other: &Tally) -> Tally {
        other.statuses.iter().for_each(|(status, n)| *self.statuses.entry(*status).or_default() += n);
        other.throttles.iter().for_each(|(key, n)| *self.throttles.entry(key.clone()).or_default() += n);
        self.problems.extend(other.problems.iter().take(5).cloned());
        self.problem_count += other.problem_count;
        self
    }

    fn record(&mut self, result: Result<Reply, String>) {
        match result {
            Ok(reply) => {
                *self.statuses.entry(reply.status.as_u16()).or_default() += 1;
                if reply.status == 429 {
                    self.record_throttle(&reply);
                }
            }
            Err(error) => self.problem(format!("transport: {error}")),
        }
    }

    fn record_throttle(&mut self, reply: &Reply) {
        let code = serde_json::from_slice::<serde_json::Value>(&reply.body).ok().and_then(|body| {
            body["code"].as_str().map(str::to_owned) // the contract's code is a string
        });
        let policy = reply.header("ratelimit-policy").map(str::to_owned);
        let json = reply.header("content-type").is_some_and(|value| value.starts_with("application/json"));
        match (code, policy, retry_after(reply), reply.header("ratelimit")) {
            (Some(code), Some(policy), Some(_), Some(_)) if json => {
                *self.throttles.entry((code, policy)).or_default() += 1;
            }
            _ => self.problem(format!(
                "429 without the contract's body or headers: {:?} {}",
                reply.headers,
                reply.text()
            )),
        }
    }

    fn problem(&mut self, problem: String) {
        self.problem_count += 1;
        if self.problems.len() < 5 {
            self.problems.push(problem);
        }
    }
}

// === impl Traffic ===

impl Traffic {
    /// Starts every caller in its own task: one request, then `pace`, again, until `duration`
    /// has passed since the start (or [`Traffic::finish`] stops them).
    pub(super) fn start(callers: Vec<Caller>, pace: Duration, duration: Duration) -> Traffic {
        let (started, stop, sent) = (Instant::now(), Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let deadline = started + duration;
        let workers = callers
            .into_iter()
            .map(|mut caller| {
                let (stop, sent) = (stop.clone(), sent.clone());
                tokio::spawn(async move {
                    let mut tally = Tally::default();
                    while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
                        tally.record(caller.send().await);
                        sent.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(pace).await;
                    }
                    tally
                })
            })
            .collect();
        Traffic { started, stop, sent, workers }
    }

    /// Requests answered so far, all callers together.
    pub(super) fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Stops the callers (at once, or at their deadline with `stop == false`) and waits for
    /// them; returns each caller's tally and the time from the start until the last answer.
    pub(super) async fn finish(self, stop: bool) -> (Vec<Tally>, Duration) {
        self.stop.store(stop, Ordering::SeqCst);
        let mut tallies = Vec::new();
        for worker in self.workers {
            tallies.push(worker.await.unwrap());
        }
        (tallies, self.started.elapsed())
    }
}

/// Every tally in one.
pub(super) fn sum(tallies: &[Tally]) -> Tally {
    tallies.iter().fold(Tally::default(), Tally::merge)
}
