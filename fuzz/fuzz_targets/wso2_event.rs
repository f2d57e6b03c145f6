#![no_main]
//! WSO2 event-hub messages: the first byte picks the routing key (the topics the gateway
//! binds, and one it does not), the rest is the body; the decoded event goes through the
//! tenant filter. Also the bytes as an OpenAPI document with `x-wso2-*` extensions, mapped
//! onto an Api. Nothing here may panic, whatever the input.

use libfuzzer_sys::fuzz_target;
use tollgate_adapter::wso2::{OpenApi, TenantFilter, api_from_openapi, decode_event};
use tollgate_router::api::Api;

const TOPICS: [&str; 6] = ["notification", "keymanager", "keyManager", "tokenRevocation", "throttleData", "other"];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else { return };
    let topic = TOPICS[usize::from(*selector) % TOPICS.len()];
    if let Ok(event) = decode_event(topic, body) {
        let _ = TenantFilter::default().admits(&event);
        let _ = TenantFilter::new("wso2.com").admits(&event);
    }
    if let Ok(document) = OpenApi::from_file("fuzz.yaml", body) {
        if let Ok(dto) = api_from_openapi(&document) {
            let _ = Api::try_from(dto);
        }
    }
});
