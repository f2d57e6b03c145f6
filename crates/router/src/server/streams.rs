//! The send timeout of one HTTP/2 stream.
//!
//! hyper writes a response body only while the stream has flow-control capacity; a client
//! that announces a zero window (or never updates it) keeps the stream — and the upstream
//! connection its body streams from — waiting for as long as it likes, while the TCP
//! connection itself stays writable. hyper runs each stream as a task given to the server's
//! executor, so [`StreamExecutor`] wraps every stream task in a [`Guarded`] future: it shares
//! a [`SendProgress`] with the stream's response body through a task-local, and when the body
//! has handed hyper a frame (or its head) and has not been asked for the next one within the
//! send timeout, the task is dropped. Dropping it resets the stream (h2 sends RST_STREAM
//! CANCEL for a stream whose last handle goes away unfinished) and drops the body, which
//! releases its upstream connection. hyper offers no per-stream write timeout of its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tokio::time::{Instant, Sleep};

use crate::metrics::ConnectionErrors;

tokio::task_local! {
    static SEND_PROGRESS: Arc<SendProgress>;
}

/// Spawns hyper's HTTP/2 stream tasks on tokio, each under its send timeout.
#[derive(Debug, Clone)]
pub(super) struct StreamExecutor {
    pub(super) send_timeout: Duration,
    pub(super) errors: ConnectionErrors,
}

/// Whether a stream's response is waiting for the client to take it.
#[derive(Debug, Default)]
pub(super) struct SendProgress {
    /// Frames (and the head) handed to hyper so far.
    handed: AtomicU64,
    /// The last one handed is not yet taken: hyper has not asked for the next.
    waiting: AtomicBool,
}

pin_project! {
    /// A stream task that ends when its response waits for the client longer than the send
    /// timeout.
    pub(super) struct Guarded<F: 'static> {
        #[pin]
        inner: TaskLocalFuture<Arc<SendProgress>, F>,
        progress: Arc<SendProgress>,
        send_timeout: Duration,
        errors: ConnectionErrors,
        // Created when the response first waits, then reset.
        deadline: Option<Pin<Box<Sleep>>>,
        // The `handed` count the deadline runs for.
        armed_for: u64,
    }
}

// === impl StreamExecutor ===

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, stream: F) {
        let progress = Arc::new(SendProgress::default());
        tokio::spawn(Guarded {
            inner: SEND_PROGRESS.scope(progress.clone(), stream),
            progress,
            send_timeout: self.send_timeout,
            errors: self.errors.clone(),
            deadline: None,
            armed_for: 0,
        });
    }
}

// === impl SendProgress ===

impl SendProgress {
    /// The progress of the HTTP/2 stream whose task this is, if any.
    pub(super) fn current() -> Option<Arc<SendProgress>> {
        SEND_PROGRESS.try_with(Arc::clone).ok()
    }

    /// A frame (or the response head) went to hyper to be written.
    pub(super) fn handed(&self) {
        self.handed.fetch_add(1, Ordering::Relaxed);
        self.waiting.store(true, Ordering::Relaxed);
    }

    /// hyper asks for the next frame: what was handed has been taken.
    pub(super) fn asked(&self) {
        self.waiting.store(false, Ordering::Relaxed);
    }

    /// The count of the frame waiting to be taken, if one is.
    fn waiting(&self) -> Option<u64> {
        self.waiting.load(Ordering::Relaxed).then(|| self.handed.load(Ordering::Relaxed))
    }
}

// === impl Guarded ===

impl<F: Future<Output = ()>> Future for Guarded<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.inner.poll(cx).is_ready() {
            return Poll::Ready(());
        }
        let Some(handed) = this.progress.waiting() else { return Poll::Pending };
        let deadline = Instant::now() + *this.send_timeout;
        let sleep = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if *this.armed_for != handed {
            sleep.as_mut().reset(deadline);
            *this.armed_for = handed;
        }
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        tracing::debug!(send_timeout = ?this.send_timeout, "HTTP/2 stream reset: the client did not take its response");
        this.errors.send_timeout.inc();
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executor() -> prometheus::Result<StreamExecutor> {
        let errors = crate::metrics::RouterMetrics::unregistered()?.connection_errors("https");
        Ok(StreamExecutor { send_timeout: Duration::from_secs(30), errors })
    }

    /// A stream task that hands its frame over and then waits forever, like hyper waiting for
    /// flow-control capacity; it reports whether it was dropped.
    async fn stalled_stream(dropped: tokio::sync::oneshot::Sender<()>) {
        struct Dropped(Option<tokio::sync::oneshot::Sender<()>>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.take().map(|tx| tx.send(()));
            }
        }
        let _dropped = Dropped(Some(dropped));
        if let Some(progress) = SendProgress::current() {
            progress.handed();
        }
        std::future::pending::<()>().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_whose_response_is_not_taken_is_dropped_after_the_send_timeout() -> prometheus::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let executor = executor()?;
        hyper::rt::Executor::execute(&executor, stalled_stream(tx));
        let started = Instant::now();
        assert!(rx.await.is_ok(), "the stalled stream task was dropped");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert_eq!(executor.errors.send_timeout.get(), 1);
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_waiting_for_its_upstream_is_left_alone() -> prometheus::Result<()> {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let waiting_upstream = async move {
            let progress = SendProgress::current();
            if let Some(progress) = &progress {
                progress.handed();
                progress.asked();
            }
            stalled_after_asking(tx).await;
        };
        hyper::rt::Executor::execute(&executor()?, waiting_upstream);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let alive = matches!(rx.try_recv(), Err(tokio::sync::oneshot::error::TryRecvError::Empty));
        assert!(alive, "not dropped: the body was asked for its next frame");
        Ok(())
    }

    async fn stalled_after_asking(_alive: tokio::sync::oneshot::Sender<()>) {
        std::future::pending::<()>().await;
    }
}
