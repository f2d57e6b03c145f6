//! The fake API-M's HTTP side: routing under `/internal/data/v1`, HTTP Basic, faults.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::artifacts::runtime_zip;
use super::state::{State, listed};

const DATA_PATH: &str = "/internal/data/v1/";

/// What one request gets.
enum Answer {
    Json(u16, Value),
    Zip(Vec<u8>),
    /// 200 with these bytes as JSON.
    Raw(Vec<u8>),
    Empty(u16),
}

pub(super) async fn connection(stream: tokio::net::TcpStream, shared: Arc<Mutex<State>>) {
    let service = service_fn(move |request| handle(shared.clone(), request));
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
}

async fn handle(shared: Arc<Mutex<State>>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let delay = shared.lock().unwrap().delay;
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let body = body.collect().await?.to_bytes();
    let query = Query::parse(parts.uri.query());
    let resource = parts.uri.path().strip_prefix(DATA_PATH).unwrap_or("").to_owned();
    let answer = {
        let mut state = shared.lock().unwrap();
        if let Some(status) = state.failing {
            Answer::Empty(status)
        } else if !authorized(&state, &parts.headers) {
            Answer::Json(401, json!({"code": 900901, "message": "Invalid Credentials"}))
        } else if state.corrupt.contains(&resource) {
            corrupt(&resource)
        } else {
            state.requests.push(resource.clone());
            answer(&mut state, &parts.method, &resource, &query, &body)
        }
    };
    Ok(respond(answer))
}

fn answer(state: &mut State, method: &Method, resource: &str, query: &Query, body: &[u8]) -> Answer {
    let by = |list: &[Value], key: &str, wanted: Option<&String>| -> Answer {
        let found = list.iter().filter(|entry| {
            wanted.is_none_or(|w| entry[key] == w.as_str() || entry[key].as_i64().is_some_and(|n| w.parse() == Ok(n)))
        });
        Answer::Json(200, listed(found.cloned().collect()))
    };
    match (method, resource) {
        (&Method::GET, "apis") => Answer::Json(
            200,
            state.apis_json(query.get("gatewayLabel").map(String::as_str), query.get("apiId").map(String::as_str)),
        ),
        (&Method::GET, "applications") => by(&state.applications, "id", query.value("appId")),
        (&Method::GET, "subscriptions") => by(&state.subscriptions, "apiUUID", query.value("apiUUID")),
        (&Method::GET, "application-key-mappings") => {
            let found = state.key_mappings.iter().filter(|m| {
                query.get("consumerKey").is_none_or(|ck| m["consumerKey"] == **ck)
                    && query.get("keymanager").is_none_or(|km| m["keyManager"] == **km)
            });
            Answer::Json(200, listed(found.cloned().collect()))
        }
        (&Method::GET, "subscription-policies") => by(&state.subscription_policies, "name", query.value("policyName")),
        (&Method::GET, "application-policies") => by(&state.application_policies, "name", query.value("policyName")),
        (&Method::GET, "api-policies") => by(&state.api_policies, "name", query.value("policyName")),
        (&Method::GET, "keymanagers") => Answer::Json(200, state.key_managers_json()),
        (&Method::GET, "revokedjwt") => Answer::Json(200, state.revoked_json()),
        (&Method::GET, "runtime-artifacts") => artifacts(state, query),
        (&Method::PATCH, "apis/deployed-revisions") => match serde_json::from_slice::<Value>(body) {
            Ok(patch) if patch.is_array() => {
                state.patches.push(patch);
                Answer::Empty(200)
            }
            _ => Answer::Empty(400),
        },
        _ => Answer::Empty(404),
    }
}

/// A body of the right type that does not hold what it says.
fn corrupt(resource: &str) -> Answer {
    match resource {
        "runtime-artifacts" => Answer::Zip(b"PK\x03\x04 this is not a zip archive".to_vec()),
        _ => Answer::Raw(b"{\"count\": 1, \"list\": [ not json".to_vec()),
    }
}

/// `type=Envoy` and a base64 `gatewayLabel` are required, as API-M requires them.
fn artifacts(state: &State, query: &Query) -> Answer {
    let labels =
        query.get("gatewayLabel").and_then(|label| STANDARD.decode(label).ok()).and_then(|b| String::from_utf8(b).ok());
    let (Some(labels), Some("Envoy")) = (labels, query.get("type").map(String::as_str)) else {
        return Answer::Json(400, json!({"code": 900900, "message": "bad request"}));
    };
    let labels: Vec<String> = labels.split('|').map(str::to_owned).collect();
    match runtime_zip(state, &labels, query.get("apiId").map(String::as_str)) {
        Some(zip) => Answer::Zip(zip),
        None => Answer::Json(404, json!({"code": 900910, "message": "No Api artifacts found for given criteria"})),
    }
}

fn authorized(state: &State, headers: &HeaderMap) -> bool {
    let expected = format!("Basic {}", STANDARD.encode(format!("{}:{}", state.username, state.password)));
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match answer {
        Answer::Json(status, body) => (status, "application/json", serde_json::to_vec(&body).unwrap()),
        Answer::Zip(bytes) => (200, "application/zip", bytes),
        Answer::Raw(bytes) => (200, "application/json", bytes),
        Answer::Empty(status) => (status, "application/json", Vec::new()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert("content-type", content_type.parse().unwrap());
    response
}

/// The query, percent-decoded.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: Option<&str>) -> Query {
        Query(crate::query_pairs(query).map(|(key, value)| (decode(key), decode(value))).collect())
    }

    fn get(&self, key: &str) -> Option<&String> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn value(&self, key: &str) -> Option<&String> {
        self.get(key)
    }
}

/// `%XX` and `+` decoded.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
