//! client.md, "Credentials" and the credential rows of "Error responses", through the real
//! gateway with a real JWKS server over HTTP (GitHub issue 3, the enforcer): the error table,
//! algorithms and attacks, JWKS rotation, floods and outages, subscriptions and scopes,
//! revocation, and that no token ever leaks into a response, a log line or an upstream.

mod api_keys;
mod backend_jwt;
pub(crate) mod catalog;
mod credential_header;
mod errors;
mod jwks;
mod mutual_tls;
mod revocation;
mod secrecy;
mod subscriptions;
mod tokens;

use serde_json::Value;
use tollgate_tests::{Client, Issuer, Reply, SigningKey, empty};

/// GET `path` with `Authorization: Bearer <token>` (no credential for `None`), on a new
/// connection.
async fn get(client: &Client, path: &str, token: Option<&str>) -> Reply {
    match token {
        Some(token) => get_with(client, path, &[("authorization", &format!("Bearer {token}"))]).await,
        None => get_with(client, path, &[]).await,
    }
}

/// GET `path` with these headers, on a new connection.
async fn get_with(client: &Client, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = client.request("GET", path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    client.send(request.body(empty()).unwrap()).await.unwrap()
}

/// A token of `issuer` signed by `key`, with its default claims plus `extra`.
fn token(issuer: &Issuer, key: &SigningKey, extra: Value) -> String {
    key.sign(&issuer.claims(extra))
}

/// Asserts one of the gateway's own answers (client.md, "Error responses"): the status, a JSON
/// body of exactly `{code, message, description}` strings with this `code`, and the
/// `WWW-Authenticate` challenge a 401 carries (no `error` for 900902) and nothing else has.
#[track_caller]
fn assert_rejected(reply: &Reply, (status, code): (u16, &str), case: &str) {
    assert_eq!((reply.status.as_u16(), reply.code()), (status, code.to_owned()), "{case}: {}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"), "{case}");
    let body = reply.json();
    let fields = body.as_object().map(|o| o.iter().filter(|(_, v)| v.is_string()).count());
    let keys = body.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys, ["code", "description", "message"], "{case}: the contract's body");
    assert_eq!(fields, Some(3), "{case}: every field is a string");
    let challenge = match (status, code) {
        (401, "900902") => Some(r#"Bearer realm="tollgate""#),
        (401, _) => Some(r#"Bearer realm="tollgate", error="invalid_token""#),
        _ => None,
    };
    assert_eq!(reply.header("www-authenticate"), challenge, "{case}");
}
