//! The `GET /config` document (operator.md, "Admin listener"): what is served, where it comes
//! from, and the effective settings, never secrets.

use std::sync::Arc;

use serde_json::{Value, json};
use tollgate_adapter::source::wso2_apim::without_userinfo;
use tollgate_adapter::{ApiSummary, SourceKind, Wso2Status};

use super::Parts;
use crate::admin::ConfigView;
use crate::config::Loaded;

/// The settings (secrets are never serialised: see [`crate::config::Config`]) and the source
/// are fixed at start; the served APIs and the sync state are read at each request.
pub(super) fn config_view(parts: &Parts, loaded: &Loaded) -> ConfigView {
    let (store, status) = (parts.store.clone(), parts.status.clone());
    let settings = serde_json::to_value(&loaded.config).unwrap_or(Value::Null);
    let source = &loaded.config.source;
    let (origin, source) = match source.kind {
        SourceKind::File => (source.path.display().to_string(), json!({ "kind": source.kind, "path": source.path })),
        SourceKind::ControlPlane => {
            (source.url.clone(), json!({ "kind": source.kind, "url": source.url, "environment": source.environment }))
        }
        SourceKind::Wso2Apim => (
            source.url.clone(),
            json!({ "kind": source.kind, "url": source.url, "environments": source.environments,
                "brokerUrls": source.broker_urls.iter().map(|url| without_userinfo(url)).collect::<Vec<_>>() }),
        ),
    };
    let wso2 = parts.wso2.clone();
    Arc::new(move || {
        let source = with_wso2_sync(&source, wso2.as_ref());
        let snapshot = store.load();
        let sync = status.load();
        let apis: Vec<Value> = snapshot
            .iter()
            .flat_map(|snapshot| snapshot.routes.apis())
            .map(|api| {
                let file = sync.api_files.get(&**api.id()).map(|file| format!("{origin}/{file}"));
                served_api(ApiSummary::of(api), file.as_deref().unwrap_or(&origin))
            })
            .collect();
        json!({
            "revision": snapshot.as_ref().map(|s| s.revision),
            "source": source,
            "sync": &*sync,
            "apis": apis,
            "settings": settings,
        })
    })
}

/// The source, with the `wso2-apim` source's event hub connection, last event and last
/// full pull (`eventHub`, `lastEvent`, `lastPull`) when it is that source.
fn with_wso2_sync(source: &Value, wso2: Option<&Wso2Status>) -> Value {
    let mut source = source.clone();
    if let (Some(wso2), Value::Object(fields)) = (wso2, &mut source) {
        let sync = wso2.load();
        fields.insert(
            "eventHub".into(),
            json!({ "connected": sync.broker_connected, "broker": sync.broker, "error": sync.broker_error }),
        );
        fields.insert("lastEvent".into(), json!(sync.last_event));
        fields.insert("lastPull".into(), json!(sync.last_pull));
    }
    source
}

/// One served API with where it came from: its file in the file source's directory, or the
/// control plane's URL.
fn served_api(summary: ApiSummary, origin: &str) -> Value {
    let mut api = serde_json::to_value(summary).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut api {
        fields.insert("origin".into(), Value::String(origin.to_owned()));
    }
    api
}
