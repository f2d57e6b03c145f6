//! The `wso2-apim` source (contract/wso2.md): WSO2 API Manager 4.x as the control plane.
//! REST pulls of the internal data API and the runtime-artifacts zip, kept current by the
//! AMQP event hub; what it reads goes through [`crate::wso2`]'s mapping to the engine.

pub mod hub;
mod hub_signal;

pub use hub::{HubSettings, HubSettingsError, HubTask, spawn_event_hub};
pub use hub_signal::{Ack, Acker, HubMessage, HubSignal};
