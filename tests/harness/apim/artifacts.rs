//! The runtime-artifacts zip (INTERFACE.md §3), built in memory from the APIs deployed on
//! the labels asked for.

use std::io::Write;

use serde_json::{Value, json};

use super::state::{FakeApi, Form, State};

/// The zip of the APIs on `labels` (one API with `api_id`), or `None` when there are none.
pub(super) fn runtime_zip(state: &State, labels: &[String], api_id: Option<&str>) -> Option<Vec<u8>> {
    let apis: Vec<&FakeApi> =
        state.apis.iter().filter(|api| api.on_label(labels) && api_id.is_none_or(|id| api.uuid == id)).collect();
    if apis.is_empty() {
        return None;
    }
    let deployments: Vec<Value> = apis.iter().map(|api| deployment(api, labels, state.form)).collect();
    let deployments = json!({"type": "deployments", "version": "v4.3.0", "data": {"deployments": deployments}});
    let env_properties = json!({"type": "env_properties", "version": "v4.3.0", "apis": state.env_properties});
    let mut files = vec![
        ("deployments.json".to_owned(), serde_json::to_vec(&deployments).unwrap()),
        ("env_properties.json".to_owned(), serde_json::to_vec(&env_properties).unwrap()),
    ];
    files.extend(apis.iter().map(|api| (api.api_file(), api_zip(api))));
    Some(zip(&files))
}

fn deployment(api: &FakeApi, labels: &[String], form: Form) -> Value {
    let environments: Vec<Value> = api
        .environments
        .iter()
        .filter(|(name, _)| labels.contains(name))
        .map(|(name, vhost)| match form {
            Form::Legacy => json!({"name": name, "vhost": vhost}),
            Form::Current => {
                json!({"name": name, "vhost": vhost, "deployedTimeStamp": 1_709_005_211_337u64, "type": "hybrid"})
            }
        })
        .collect();
    json!({"apiFile": api.api_file(), "environments": environments, "organizationId": "carbon.super"})
}

fn api_zip(api: &FakeApi) -> Vec<u8> {
    let mut files = vec![(format!("{}/api.json", api.folder), api.api_json.clone())];
    files.extend(api.files.iter().map(|(path, bytes)| (format!("{}/{path}", api.folder), bytes.clone())));
    zip(&files)
}

/// A deflated zip of `files`.
pub(super) fn zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}
