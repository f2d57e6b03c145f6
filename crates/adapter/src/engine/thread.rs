//! The configuration thread: owns the engine's state and runs every build, one at a time,
//! off the request path's workers.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use super::worker::Worker;

/// A long-lived thread rather than Tokio's blocking pool: building a 10k-API snapshot takes
/// tens of milliseconds of CPU and tens of megabytes, and on one long-lived thread the
/// allocator reuses that memory for the next build instead of leaving it in the heaps of
/// pool threads that come and go.
#[derive(Debug, Clone)]
pub(crate) struct ConfigThread {
    jobs: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// A job panicked (the engine may be half-updated: the source starts over with a whole
/// set), or the thread is gone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("applying the update failed: {0}")]
pub struct JobFailed(String);

// === impl ConfigThread ===

impl ConfigThread {
    /// Starts the thread with `worker`; it ends when the last handle is dropped.
    /// Started within a Tokio runtime, the thread runs in its context: applying a snapshot
    /// starts background work there (the JWKS caches of new key managers).
    pub(crate) fn spawn(mut worker: Worker) -> io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let runtime = tokio::runtime::Handle::try_current().ok();
        std::thread::Builder::new().name("tollgate-config".into()).spawn(move || {
            let _runtime = runtime.as_ref().map(tokio::runtime::Handle::enter);
            for job in queue {
                job(&mut worker);
            }
        })?;
        Ok(ConfigThread { jobs })
    }

    /// Queues `job`; `done` gets its result (or its panic), on the thread. When the thread
    /// is gone, `done` is dropped uncalled.
    pub(crate) fn submit<R: 'static>(
        &self,
        job: impl FnOnce(&mut Worker) -> R + Send + 'static,
        done: impl FnOnce(Result<R, JobFailed>) + Send + 'static,
    ) {
        let job: Job = Box::new(move |worker| {
            let outcome = catch_unwind(AssertUnwindSafe(|| job(worker))).map_err(|panic| panic_message(&*panic));
            // A panicking `done` must not end the thread either.
            let _ = catch_unwind(AssertUnwindSafe(|| done(outcome.map_err(JobFailed))));
        });
        // The thread only ends when every handle is dropped.
        let _ = self.jobs.send(job);
    }
}

// === impl JobFailed ===

impl JobFailed {
    pub(crate) fn gone() -> Self {
        JobFailed("the configuration thread is gone".into())
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic.downcast_ref::<&str>().copied().or_else(|| panic.downcast_ref::<String>().map(String::as_str));
    format!("panicked: {}", text.unwrap_or("(no message)"))
}
