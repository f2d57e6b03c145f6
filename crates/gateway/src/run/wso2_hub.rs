//! The `wso2-apim` source's event hub, as the gateway starts it: the AMQP consumer of
//! `tollgate_adapter::source::wso2_apim::hub` on `source.broker_urls`, trusting
//! `source.ca_file` for `amqps` brokers besides the system roots. Without `broker_urls` the
//! signal channel closes at once and the source follows API-M by full pulls alone.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tollgate_adapter::Wso2Settings;
use tollgate_adapter::source::wso2_apim::{HubSignal, spawn_event_hub};

use super::Fatal;

/// How many hub signals may wait for the source; a full channel holds deliveries back
/// (the broker keeps the rest), it never drops one.
const SIGNAL_BUFFER: usize = 1024;

/// Starts the event hub for `settings`: the signals it sends, and its task.
pub(super) fn start_event_hub(
    settings: &Wso2Settings,
) -> Result<(mpsc::Receiver<HubSignal>, Option<JoinHandle<()>>), Fatal> {
    let (sender, signals) = mpsc::channel(SIGNAL_BUFFER);
    let Some(hub) = settings.hub.clone() else {
        tracing::info!("no source.broker_urls: following API-M by full pulls only");
        return Ok((signals, None));
    };
    let hub = match &settings.ca_file {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|error| Fatal::Config(format!("source.ca_file {}: {error}", path.display())))?;
            hub.with_ca_pem(pem)
        }
        None => hub,
    };
    Ok((signals, spawn_event_hub(hub, sender).into_handle()))
}
