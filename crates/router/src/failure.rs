//! Every way the gateway itself answers a request instead of the upstream, turned into the
//! contract's response (client.md, "Error responses") in one exhaustive match.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use tollgate_enforcer::Rejection;
use tollgate_enforcer::backend_jwt::BackendJwtError;

use crate::body::ResponseBody;
use crate::path::PathError;
use crate::proxy::ProxyError;

/// Why the gateway answered a request itself.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("no configuration loaded yet")]
    NotReady,
    #[error("bad request path: {0}")]
    BadPath(PathError),
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("request headers over the limit")]
    HeadersTooLarge,
    /// A `Transfer-Encoding` other than `chunked` (RFC 9112 §6.1).
    #[error("transfer coding not implemented")]
    UnsupportedTransferCoding,
    #[error("no route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed { allow: HeaderValue },
    #[error("rejected: {0}")]
    Rejected(Rejection),
    #[error("upstream: {0}")]
    Upstream(ProxyError),
    /// The Api asks for a backend JWT and none could be made: the request is not forwarded.
    #[error("backend JWT: {0}")]
    BackendJwt(BackendJwtError),
}

/// What a failure looks like on the wire, before it becomes a response.
struct Answer {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    description: &'static str,
}

// === impl Failure ===

impl Failure {
    /// The contract's response: JSON body `{"code","message","description"}` with the
    /// headers the status calls for (`Allow`, `WWW-Authenticate`, `Retry-After`, `RateLimit*`).
    pub fn into_response(self) -> Response<ResponseBody> {
        let answer = self.answer();
        let mut response = Response::new(ResponseBody::full(answer.body()));
        *response.status_mut() = answer.status;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.decorate(response.headers_mut());
        response
    }

    pub fn status(&self) -> StatusCode {
        self.answer().status
    }

    /// The contract's error code (`"900901"`, `"102503"`, ...), as the body carries it.
    pub fn code(&self) -> &'static str {
        self.answer().code
    }

    fn answer(&self) -> Answer {
        match self {
            Failure::NotReady => Answer::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "102500",
                "Service unavailable",
                "The gateway has no configuration yet",
            ),
            Failure::BadPath(_) => {
                Answer::new(StatusCode::BAD_REQUEST, "400", "Bad request", "The request path is not allowed")
            }
            Failure::Malformed(_) => {
                Answer::new(StatusCode::BAD_REQUEST, "400", "Bad request", "The request is malformed")
            }
            Failure::HeadersTooLarge => Answer::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "431",
                "Request header fields too large",
                "The request headers exceed the gateway's limit",
            ),
            Failure::UnsupportedTransferCoding => Answer::new(
                StatusCode::NOT_IMPLEMENTED,
                "501",
                "Not implemented",
                "The request's transfer coding is not supported",
            ),
            Failure::NoRoute => Answer::new(
                StatusCode::NOT_FOUND,
                "404",
                "Not Found",
                "No matching resource found for given API Request",
            ),
            Failure::MethodNotAllowed { .. } => Answer::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "405",
                "Method not allowed",
                "Method not allowed for given API resource",
            ),
            Failure::Rejected(rejection) => {
                Answer::new(rejection.status(), rejection.code(), rejection.message(), rejection.description())
            }
            Failure::Upstream(error) => upstream_answer(error),
            // WSO2's code for an authentication failure of the gateway's own (the contract
            // has no row: the upstream must not be reached without its JWT).
            Failure::BackendJwt(_) => Answer::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "900900",
                "Internal server error",
                "The gateway could not assert the caller to the upstream",
            ),
        }
    }

    fn decorate(&self, headers: &mut http::HeaderMap) {
        match self {
            Failure::MethodNotAllowed { allow } => {
                headers.insert(ALLOW, allow.clone());
            }
            Failure::Rejected(rejection) => decorate_rejection(rejection, headers),
            Failure::NotReady
            | Failure::BadPath(_)
            | Failure::Malformed(_)
            | Failure::HeadersTooLarge
            | Failure::UnsupportedTransferCoding
            | Failure::NoRoute
            | Failure::Upstream(_)
            | Failure::BackendJwt(_) => {}
        }
    }
}

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Self {
        Failure::Rejected(rejection)
    }
}

fn upstream_answer(error: &ProxyError) -> Answer {
    match error {
        ProxyError::Timeout => {
            Answer::new(StatusCode::GATEWAY_TIMEOUT, "102504", "Gateway timeout", "The upstream did not answer in time")
        }
        ProxyError::ClientBody => {
            Answer::new(StatusCode::BAD_REQUEST, "400", "Bad request", "The request body is malformed")
        }
        ProxyError::Connect | ProxyError::Reset => Answer::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "102503",
            "Service unavailable",
            "The upstream could not be reached",
        ),
    }
}

fn decorate_rejection(rejection: &Rejection, headers: &mut http::HeaderMap) {
    if let Some(error) = rejection.bearer_error() {
        let challenge = match error {
            Some(_) => HeaderValue::from_static(r#"Bearer realm="tollgate", error="invalid_token""#),
            None => HeaderValue::from_static(r#"Bearer realm="tollgate""#),
        };
        headers.insert(WWW_AUTHENTICATE, challenge);
    }
    if let Rejection::RateLimited(throttled) = rejection {
        headers.extend(throttled.headers());
    }
}

// === impl Answer ===

impl Answer {
    fn new(status: StatusCode, code: &'static str, message: &'static str, description: &'static str) -> Self {
        Answer { status, code, message, description }
    }

    /// The fields are fixed ASCII strings without quotes or backslashes, so no escaping is needed.
    fn body(&self) -> Bytes {
        format!(r#"{{"code":"{}","message":"{}","description":"{}"}}"#, self.code, self.message, self.description)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_valid_json_with_string_codes() {
        let failures =
            [Failure::NotReady, Failure::NoRoute, Failure::HeadersTooLarge, Failure::Upstream(ProxyError::Timeout)];
        for failure in failures {
            let answer = failure.answer();
            let json: serde_json::Value = serde_json::from_slice(&answer.body()).unwrap_or_default();
            assert_eq!(json["code"], answer.code, "{failure:?}");
            assert!(json["message"].is_string() && json["description"].is_string());
        }
    }

    #[test]
    fn missing_credential_challenge_has_no_error_parameter() {
        let response = Failure::Rejected(Rejection::MissingCredential).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], r#"Bearer realm="tollgate""#);
        let response =
            Failure::Rejected(Rejection::InvalidToken(tollgate_enforcer::TokenError::Expired)).into_response();
        assert_eq!(response.headers()[WWW_AUTHENTICATE], r#"Bearer realm="tollgate", error="invalid_token""#);
    }
}
