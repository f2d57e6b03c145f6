//! CORS for APIs that configure it: the gateway answers preflights itself and decorates
//! actual responses for allowed origins.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use crate::api::{Api, Cors};
use crate::body::ResponseBody;

/// A 204 answer when `request` is a CORS preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) for an API with `cors`; `None` otherwise. An origin
/// that is not allowed gets the 204 without `Access-Control-*` headers, so the browser refuses.
pub(super) fn preflight<B>(api: &Api, request: &Request<B>) -> Option<Response<ResponseBody>> {
    let cors = api.cors.as_ref()?;
    let headers = request.headers();
    if request.method() != Method::OPTIONS || !headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
        return None;
    }
    let origin = headers.get(ORIGIN)?;
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    if allows(cors, origin) {
        let out = response.headers_mut();
        allow_origin(cors, origin, out);
        insert_list(out, ACCESS_CONTROL_ALLOW_METHODS, &cors.allow_methods);
        insert_list(out, ACCESS_CONTROL_ALLOW_HEADERS, &cors.allow_headers);
        if let Some(max_age) = cors.max_age_seconds {
            out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
        }
    }
    Some(response)
}

/// Adds `Access-Control-Allow-Origin` (and friends) to an upstream response when the
/// request's origin is allowed.
pub(super) fn decorate(api: &Api, origin: Option<&HeaderValue>, out: &mut HeaderMap) {
    let (Some(cors), Some(origin)) = (api.cors.as_ref(), origin) else { return };
    if allows(cors, origin) {
        allow_origin(cors, origin, out);
        insert_list(out, ACCESS_CONTROL_EXPOSE_HEADERS, &cors.expose_headers);
    }
}

fn allows(cors: &Cors, origin: &HeaderValue) -> bool {
    cors.allow_origins.iter().any(|allowed| &**allowed == "*" || allowed.as_bytes() == origin.as_bytes())
}

/// Echoes the origin (never `*` with credentials, per the Fetch standard) and says the
/// answer varies by origin.
fn allow_origin(cors: &Cors, origin: &HeaderValue, out: &mut HeaderMap) {
    let wildcard = cors.allow_origins.iter().any(|allowed| &**allowed == "*");
    let value = match wildcard && !cors.allow_credentials {
        true => HeaderValue::from_static("*"),
        false => origin.clone(),
    };
    out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    out.append(VARY, HeaderValue::from_static("Origin"));
    if cors.allow_credentials {
        out.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
}

fn insert_list(out: &mut HeaderMap, name: http::HeaderName, items: &[std::sync::Arc<str>]) {
    if items.is_empty() {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&items.join(", ")) {
        out.insert(name, value);
    }
}
