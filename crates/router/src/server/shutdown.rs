use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// Where the gateway is in its life (operator.md, "Shutdown").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Serving,
    /// Not ready, still accepting, so load balancers move away.
    Draining,
    /// Listeners closed; open connections finish within the deadline.
    Closing,
}

/// Moves every listener through the phases; held by the gateway.
#[derive(Debug)]
pub struct ShutdownTrigger {
    phase: watch::Sender<Phase>,
    deadline: Duration,
}

/// A listener's view of the shutdown.
#[derive(Debug, Clone)]
pub struct Shutdown {
    phase: watch::Receiver<Phase>,
    deadline: Duration,
}

// === impl ShutdownTrigger ===

impl ShutdownTrigger {
    /// `deadline`: how long open connections get once listeners close.
    pub fn new(deadline: Duration) -> Self {
        let (phase, _) = watch::channel(Phase::Serving);
        ShutdownTrigger { phase, deadline }
    }

    pub fn subscribe(&self) -> Shutdown {
        Shutdown { phase: self.phase.subscribe(), deadline: self.deadline }
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub fn set(&self, phase: Phase) {
        self.phase.send_if_modified(|current| {
            let advance = phase > *current;
            if advance {
                *current = phase;
            }
            advance
        });
    }
}

// === impl Shutdown ===

impl Shutdown {
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// Resolves once listeners must close (also when the trigger is gone).
    pub async fn closing(&mut self) {
        let _ = self.phase.wait_for(|phase| *phase >= Phase::Closing).await;
    }

    /// Waits for `connections` to finish, at most until the deadline.
    pub async fn finish(&self, connections: impl Future<Output = ()>) {
        if tokio::time::timeout(self.deadline, connections).await.is_err() {
            tracing::warn!(deadline = ?self.deadline, "connections still open at the shutdown deadline");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_only_move_forward_and_wake_listeners() {
        let trigger = ShutdownTrigger::new(Duration::from_secs(1));
        let mut shutdown = trigger.subscribe();
        trigger.set(Phase::Draining);
        assert_eq!(shutdown.phase(), Phase::Draining);
        trigger.set(Phase::Serving);
        assert_eq!(trigger.phase(), Phase::Draining);
        trigger.set(Phase::Closing);
        tokio::time::timeout(Duration::from_secs(1), shutdown.closing()).await.ok();
        assert_eq!(shutdown.phase(), Phase::Closing);
    }
}
