use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use prometheus::IntCounter;
use tokio::time::{Instant, Sleep};

/// The longest pause allowed between two reads of an upstream response body (the endpoint's
/// `timeoutMs`, model.md). A pause starts when the body is asked for a frame the upstream has
/// not sent yet; time the client takes to accept what was sent does not count.
#[derive(Debug)]
pub(super) struct PauseLimit {
    limit: Duration,
    /// Created on the first pause, then reset.
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether `timer` runs for the current pause.
    pausing: bool,
    /// `tollgate_upstream_errors_total{kind="timeout"}` of the API.
    timeouts: IntCounter,
}

/// An upstream response body broke off: the upstream paused longer than the endpoint timeout.
#[derive(Debug, thiserror::Error)]
#[error("the upstream paused its response body longer than the endpoint timeout")]
pub struct BodyPaused;

// === impl PauseLimit ===

impl PauseLimit {
    pub(super) fn new(limit: Duration, timeouts: IntCounter) -> Self {
        PauseLimit { limit, timer: None, pausing: false, timeouts }
    }

    /// The upstream sent something (or ended): the pause is over.
    pub(super) fn progressed(&mut self) {
        self.pausing = false;
    }

    /// The upstream has nothing yet: ready with [`BodyPaused`] once the pause is too long.
    pub(super) fn poll_pause(&mut self, cx: &mut Context<'_>) -> Poll<BodyPaused> {
        let deadline = Instant::now() + self.limit;
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.pausing {
            timer.as_mut().reset(deadline);
            self.pausing = true;
        }
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        tracing::debug!(timeout = ?self.limit, "upstream response body paused longer than the endpoint timeout");
        self.timeouts.inc();
        Poll::Ready(BodyPaused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(30);

    /// Polls the pause once.
    async fn poll_once(pauses: &mut PauseLimit) -> Poll<BodyPaused> {
        std::future::poll_fn(|cx| Poll::Ready(pauses.poll_pause(cx))).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_longer_than_the_limit_ends_the_body_and_is_counted() -> prometheus::Result<()> {
        let timeouts = IntCounter::new("timeouts", "test")?;
        let mut pauses = PauseLimit::new(LIMIT, timeouts.clone());
        let started = Instant::now();
        std::future::poll_fn(|cx| pauses.poll_pause(cx)).await;
        assert_eq!(started.elapsed(), LIMIT);
        assert_eq!(timeouts.get(), 1);
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn each_read_starts_a_new_pause() -> prometheus::Result<()> {
        let mut pauses = PauseLimit::new(LIMIT, IntCounter::new("timeouts", "test")?);
        assert!(poll_once(&mut pauses).await.is_pending());
        tokio::time::advance(Duration::from_secs(20)).await;
        pauses.progressed();
        assert!(poll_once(&mut pauses).await.is_pending());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(poll_once(&mut pauses).await.is_pending(), "40 s in all, but 20 s since the last read");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(poll_once(&mut pauses).await.is_ready());
        Ok(())
    }
}
