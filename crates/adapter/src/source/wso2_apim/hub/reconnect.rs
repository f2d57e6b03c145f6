//! The hub's life: rounds over the brokers in order until one connects and binds, then
//! forwarding until that connection is lost, then the next round after a backoff.

use tokio::sync::mpsc;

use super::super::hub_signal::HubSignal;
use super::session::{Session, SessionEnd};
use super::settings::HubSettings;
use crate::source::control_plane::Backoff;

/// Whether the hub goes on.
enum Flow {
    Retry,
    Stop,
}

/// Runs until the source drops its receiver, whatever the hub is doing then (connecting,
/// forwarding or waiting); its connection is dropped, which closes it.
pub(super) async fn run(settings: HubSettings, signals: mpsc::Sender<HubSignal>) {
    tokio::select! {
        () = rounds(&settings, &signals) => {}
        () = signals.closed() => {}
    }
    tracing::debug!("event hub stopped: the source is gone");
}

/// Every round that connects sends [`HubSignal::Connected`]; every round that ends — a
/// lost connection or no broker reachable — sends [`HubSignal::Disconnected`] and waits
/// (0.5 s doubling to 30 s with jitter by default; reset by each successful connect).
async fn rounds(settings: &HubSettings, signals: &mpsc::Sender<HubSignal>) {
    let mut backoff = Backoff::new(settings.backoff_min, settings.backoff_max);
    while let Flow::Retry = round(settings, signals, &mut backoff).await {
        let delay = backoff.wait().await;
        tracing::debug!(?delay, "event hub: reconnecting");
    }
}

/// Tries each broker in order; forwards on the first that binds.
async fn round(settings: &HubSettings, signals: &mpsc::Sender<HubSignal>, backoff: &mut Backoff) -> Flow {
    let mut failures = Vec::with_capacity(settings.brokers().len());
    for broker in settings.brokers() {
        let session = match Session::open(broker, settings).await {
            Ok(session) => session,
            Err(error) => {
                tracing::warn!(%broker, %error, "event hub: cannot use broker");
                failures.push(format!("{broker}: {error}"));
                continue;
            }
        };
        backoff.reset();
        tracing::info!(%broker, "event hub connected; every topic is bound");
        if signals.send(HubSignal::Connected { broker: broker.shown().to_owned() }).await.is_err() {
            return Flow::Stop;
        }
        return match session.forward(signals).await {
            SessionEnd::SourceGone => Flow::Stop,
            SessionEnd::Lost(error) => {
                tracing::warn!(%broker, %error, "event hub disconnected");
                disconnected(signals, format!("{broker}: {error}")).await
            }
        };
    }
    disconnected(signals, format!("no broker reachable ({})", failures.join("; "))).await
}

async fn disconnected(signals: &mpsc::Sender<HubSignal>, reason: String) -> Flow {
    match signals.send(HubSignal::Disconnected { reason }).await {
        Ok(()) => Flow::Retry,
        Err(_) => Flow::Stop,
    }
}
