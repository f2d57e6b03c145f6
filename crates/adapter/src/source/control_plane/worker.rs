//! The configuration thread: owns the [`Engine`] and runs every decode, build and apply, one
//! at a time, off the request path's workers.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::engine::Engine;

/// A long-lived thread rather than Tokio's blocking pool: building a 10k-API snapshot takes
/// tens of milliseconds of CPU and tens of megabytes, and on one long-lived thread the
/// allocator reuses that memory for the next build instead of leaving it in the heaps of
/// pool threads that come and go.
#[derive(Debug)]
pub(crate) struct ConfigThread {
    jobs: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce(&mut Engine) + Send>;

/// A job panicked (the engine may be half-updated: the caller starts over from a snapshot),
/// or the thread is gone.
#[derive(Debug, thiserror::Error)]
#[error("applying the update failed: {0}")]
pub(crate) struct JobFailed(String);

// === impl ConfigThread ===

impl ConfigThread {
    /// Starts the thread with `engine`; it ends when this handle is dropped.
    pub(crate) fn spawn(mut engine: Engine) -> io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("tollgate-config".into()).spawn(move || {
            for job in queue {
                job(&mut engine);
            }
        })?;
        Ok(ConfigThread { jobs })
    }

    /// Runs `job` on the thread and waits for its result without blocking the runtime.
    pub(crate) async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Engine) -> R + Send + 'static,
    ) -> Result<R, JobFailed> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |engine| {
            let outcome = catch_unwind(AssertUnwindSafe(|| job(engine))).map_err(|panic| panic_message(&*panic));
            let _ = done.send(outcome);
        });
        self.jobs.send(job).map_err(|_| JobFailed("the configuration thread is gone".into()))?;
        match result.await {
            Ok(outcome) => outcome.map_err(JobFailed),
            Err(_) => Err(JobFailed("the configuration thread is gone".into())),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic.downcast_ref::<&str>().copied().or_else(|| panic.downcast_ref::<String>().map(String::as_str));
    format!("panicked: {}", text.unwrap_or("(no message)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_and_a_panic_does_not_end_the_thread() -> Result<(), JobFailed> {
        let thread = ConfigThread::spawn(Engine::new("default")).map_err(|e| JobFailed(e.to_string()))?;
        assert_eq!(thread.run(|engine| engine.revision()).await?, None);
        let name = thread.run(|_| std::thread::current().name().map(str::to_owned)).await?;
        assert_eq!(name.as_deref(), Some("tollgate-config"));
        let failed = thread.run(|_| -> () { panic!("boom") }).await;
        assert!(failed.is_err_and(|error| error.to_string().contains("boom")));
        assert_eq!(thread.run(|_| 7).await?, 7, "the thread goes on after a panic");
        Ok(())
    }
}
