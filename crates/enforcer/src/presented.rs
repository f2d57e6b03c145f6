use http::HeaderValue;

use crate::client_cert::PresentedChain;
use crate::rejection::{Rejection, TokenError};
use crate::schemes::SecuritySchemes;
use crate::token::CredentialHeader;

/// What the client presented, as the router extracted it from the request (DESIGN.md,
/// "Credentials are extracted, then decided"). Nothing here has been checked: the enforcer
/// decides with the Api's schemes which of it counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Presented<'a> {
    /// The certificate chain of the TLS connection, when the client sent one (whatever the
    /// Api's schemes: only those with `mutualssl` look at it).
    pub client_certificate: Option<&'a PresentedChain>,
    /// The Api's `authorizationHeader`.
    pub bearer: CredentialHeader<'a>,
    /// The API key, from the `apiKeyHeader` header or, without that header, the query
    /// parameter of the same name.
    pub api_key: ApiKeyPresented<'a>,
    /// The `Referer` header when sent exactly once (an API key's `permittedReferer`).
    pub referer: Option<&'a HeaderValue>,
}

/// Where an API key came from, if anywhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApiKeyPresented<'a> {
    #[default]
    Absent,
    Header(&'a HeaderValue),
    /// The query parameter's value as sent (an API key is base64url and dots, which need no
    /// escaping; an escaped one does not parse and is refused as malformed).
    Query(&'a str),
    /// The header, or without it the query parameter, sent more than once.
    Repeated,
}

/// The one application-level credential a request is judged by (client.md, "Combining
/// schemes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppCredential<'a> {
    Bearer(&'a str),
    ApiKey(&'a str),
}

// === impl Presented ===

impl<'a> Presented<'a> {
    /// Only a bearer credential header, as the Api's `authorizationHeader` carried it.
    pub fn bearer(bearer: CredentialHeader<'a>) -> Self {
        Presented { bearer, ..Presented::default() }
    }

    /// [`TokenError::RepeatedCredential`] when a credential of one of `schemes` was sent more
    /// than once; credentials of other schemes are ignored.
    pub(crate) fn check_repeated(&self, schemes: SecuritySchemes) -> Result<(), TokenError> {
        let bearer = schemes.oauth2 && self.bearer == CredentialHeader::Repeated;
        let api_key = schemes.api_key && self.api_key == ApiKeyPresented::Repeated;
        match bearer || api_key {
            true => Err(TokenError::RepeatedCredential),
            false => Ok(()),
        }
    }

    /// The bearer token when the Api has `oauth2` and the header is present (a value that is
    /// not `Bearer <token>` is malformed); else the API key when the Api has `api_key` and one
    /// was sent; else [`Rejection::MissingCredential`]. An empty header counts as absent.
    pub(crate) fn application_credential(&self, schemes: SecuritySchemes) -> Result<AppCredential<'a>, Rejection> {
        if schemes.oauth2
            && let Some(value) = non_empty(self.bearer)?
        {
            return bearer_token(value).map(AppCredential::Bearer).map_err(Rejection::from);
        }
        if schemes.api_key
            && let Some(key) = self.api_key_text()?
        {
            return Ok(AppCredential::ApiKey(key));
        }
        Err(Rejection::MissingCredential)
    }

    fn api_key_text(&self) -> Result<Option<&'a str>, TokenError> {
        let key = match self.api_key {
            ApiKeyPresented::Absent => return Ok(None),
            ApiKeyPresented::Header(value) => as_text(value)?,
            ApiKeyPresented::Query(value) => value,
            ApiKeyPresented::Repeated => return Err(TokenError::RepeatedCredential),
        };
        Ok(Some(key).filter(|key| !key.is_empty()))
    }
}

/// The trimmed header text; `None` when absent or empty.
fn non_empty(header: CredentialHeader<'_>) -> Result<Option<&str>, TokenError> {
    match header {
        CredentialHeader::Absent => Ok(None),
        CredentialHeader::Once(value) => Ok(Some(as_text(value)?).filter(|v| !v.is_empty())),
        CredentialHeader::Repeated => Err(TokenError::RepeatedCredential),
    }
}

/// `from_utf8` (word-at-a-time) rather than `to_str` (byte loop): this runs on every request.
fn as_text(value: &HeaderValue) -> Result<&str, TokenError> {
    std::str::from_utf8(value.as_bytes()).map(str::trim).map_err(|_| TokenError::Malformed)
}

/// The token of a `Bearer <token>` value (scheme case-insensitive); another scheme or shape is
/// [`TokenError::Malformed`]. What follows the scheme is not inspected here: the token parser
/// refuses anything but base64url and dots, and a cache lookup can only match a valid token.
fn bearer_token(value: &str) -> Result<&str, TokenError> {
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    let token = token.trim_start();
    match scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
        true => Ok(token),
        false => Err(TokenError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const BOTH: SecuritySchemes = SecuritySchemes::BEARER_AND_API_KEY;
    const API_KEY_ONLY: SecuritySchemes = SecuritySchemes::API_KEY;

    fn header(value: &str) -> HeaderValue {
        HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("unexpected"))
    }

    /// The bearer token of an `Authorization` value, owned.
    fn bearer(value: &str) -> Result<String, Rejection> {
        let value = header(value);
        let credential =
            Presented::bearer(CredentialHeader::Once(&value)).application_credential(SecuritySchemes::default());
        credential.map(|credential| match credential {
            AppCredential::Bearer(token) => token.to_owned(),
            AppCredential::ApiKey(key) => format!("api key {key}"),
        })
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer("Bearer abc"), Ok("abc".to_owned()));
        assert_eq!(bearer("bEaReR   abc"), Ok("abc".to_owned()));
        assert_eq!(bearer(""), Err(Rejection::MissingCredential));
        let absent = Presented::default().application_credential(SecuritySchemes::default());
        assert_eq!(absent, Err(Rejection::MissingCredential));
        let malformed = Err(Rejection::InvalidToken(TokenError::Malformed));
        for value in ["Basic abc", "Bearer", "Bearer ", "abc", "Bearerabc", "Bearer\tabc"] {
            assert_eq!(bearer(value), malformed, "{value}");
        }
        let binary = HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap_or(HeaderValue::from_static(""));
        let presented = Presented::bearer(CredentialHeader::Once(&binary));
        assert_eq!(presented.application_credential(SecuritySchemes::default()), Err(TokenError::Malformed.into()));
    }

    #[test]
    fn the_bearer_token_wins_over_an_api_key_and_a_bad_one_is_not_passed_over() {
        let (token, key) = (header("Bearer tok"), header("key"));
        let both = Presented {
            bearer: CredentialHeader::Once(&token),
            api_key: ApiKeyPresented::Header(&key),
            ..Presented::default()
        };
        assert_eq!(both.application_credential(BOTH), Ok(AppCredential::Bearer("tok")));
        let basic = header("Basic xyz");
        let bad_bearer = Presented { bearer: CredentialHeader::Once(&basic), ..both };
        assert_eq!(bad_bearer.application_credential(BOTH), Err(TokenError::Malformed.into()));
        assert_eq!(bad_bearer.application_credential(API_KEY_ONLY), Ok(AppCredential::ApiKey("key")), "ignored");
    }

    #[test]
    fn an_api_key_comes_from_the_header_or_the_query_and_empty_is_absent() {
        let key = header(" key ");
        let from_header = Presented { api_key: ApiKeyPresented::Header(&key), ..Presented::default() };
        assert_eq!(from_header.application_credential(BOTH), Ok(AppCredential::ApiKey("key")));
        assert_eq!(from_header.application_credential(SecuritySchemes::default()), Err(Rejection::MissingCredential));
        let from_query = Presented { api_key: ApiKeyPresented::Query("q"), ..Presented::default() };
        assert_eq!(from_query.application_credential(API_KEY_ONLY), Ok(AppCredential::ApiKey("q")));
        let empty = Presented { api_key: ApiKeyPresented::Query(""), ..Presented::default() };
        assert_eq!(empty.application_credential(API_KEY_ONLY), Err(Rejection::MissingCredential));
    }

    #[test]
    fn a_repeated_credential_counts_only_for_the_apis_schemes() {
        let repeated_key = Presented { api_key: ApiKeyPresented::Repeated, ..Presented::default() };
        assert_eq!(repeated_key.check_repeated(API_KEY_ONLY), Err(TokenError::RepeatedCredential));
        assert_eq!(repeated_key.check_repeated(SecuritySchemes::default()), Ok(()));
        let repeated_bearer = Presented::bearer(CredentialHeader::Repeated);
        assert_eq!(repeated_bearer.check_repeated(SecuritySchemes::default()), Err(TokenError::RepeatedCredential));
        assert_eq!(repeated_bearer.check_repeated(API_KEY_ONLY), Ok(()));
    }
}
