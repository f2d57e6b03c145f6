//! Credential extraction (DESIGN.md, "Credentials are extracted, then decided"): what the
//! client presented, by the Api's schemes, into one [`Presented`] for the enforcer; and the
//! query string the upstream gets once an API key sent there is taken out of it.

use std::borrow::Cow;

use http::HeaderMap;
use http::header::REFERER;
use tollgate_enforcer::client_cert::PresentedChain;
use tollgate_enforcer::{ApiKeyPresented, CredentialHeader, Presented};

use crate::api::{Api, ApiKeyName};

/// What the request presented for `api`: its `authorizationHeader` when the Api has `oauth2`;
/// its API key (header, else query parameter) and `Referer` when the Api has `api_key`; the
/// connection's client certificate (`chain`) when the Api has `mutualssl`. Credentials of
/// schemes the Api does not list are not looked at.
pub(super) fn presented<'a>(
    api: &Api,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    chain: Option<&'a PresentedChain>,
) -> Presented<'a> {
    let schemes = api.guard.schemes;
    let client_certificate = chain.filter(|_| schemes.mutual_tls);
    if !schemes.api_key {
        return Presented { client_certificate, ..Presented::bearer(bearer(api, headers)) };
    }
    let referer = match CredentialHeader::of(headers, &REFERER) {
        CredentialHeader::Once(referer) => Some(referer),
        CredentialHeader::Absent | CredentialHeader::Repeated => None,
    };
    Presented {
        bearer: bearer(api, headers),
        api_key: api_key(&api.api_key, headers, query),
        referer,
        client_certificate,
    }
}

/// The query string to forward: the original one, byte for byte, except that an API key taken
/// from it (an Api with `api_key`, no API-key header) is removed. `None`: no query at all.
pub(super) fn forwarded_query<'a>(api: &Api, headers: &HeaderMap, query: Option<&'a str>) -> Option<Cow<'a, str>> {
    let query = query?;
    let carries_key = api.guard.schemes.api_key
        && !headers.contains_key(&api.api_key.header)
        && parameters(query).any(|(name, _)| name == &*api.api_key.query);
    if !carries_key {
        return Some(Cow::Borrowed(query));
    }
    let kept: Vec<&str> = query.split('&').filter(|pair| parameter(pair).0 != &*api.api_key.query).collect();
    (!kept.is_empty()).then(|| Cow::Owned(kept.join("&")))
}

fn bearer<'a>(api: &Api, headers: &'a HeaderMap) -> CredentialHeader<'a> {
    match api.guard.schemes.oauth2 {
        true => CredentialHeader::of(headers, &api.auth_header),
        false => CredentialHeader::Absent,
    }
}

/// The API-key header when present (once or repeated), else the query parameter.
fn api_key<'a>(name: &ApiKeyName, headers: &'a HeaderMap, query: Option<&'a str>) -> ApiKeyPresented<'a> {
    match CredentialHeader::of(headers, &name.header) {
        CredentialHeader::Once(value) => ApiKeyPresented::Header(value),
        CredentialHeader::Repeated => ApiKeyPresented::Repeated,
        CredentialHeader::Absent => query_key(query.unwrap_or_default(), &name.query),
    }
}

fn query_key<'a>(query: &'a str, name: &str) -> ApiKeyPresented<'a> {
    let mut values = parameters(query).filter(|(key, _)| *key == name).map(|(_, value)| value);
    match (values.next(), values.next()) {
        (None, _) => ApiKeyPresented::Absent,
        (Some(value), None) => ApiKeyPresented::Query(value),
        (Some(_), Some(_)) => ApiKeyPresented::Repeated,
    }
}

/// `name=value` pairs of a query string, raw (not percent-decoded); empty pairs are skipped.
fn parameters(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').filter(|pair| !pair.is_empty()).map(parameter)
}

fn parameter(pair: &str) -> (&str, &str) {
    pair.split_once('=').unwrap_or((pair, ""))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use tollgate_enforcer::SecuritySchemes;

    use super::*;

    fn api(schemes: SecuritySchemes) -> Api {
        let guard = tollgate_enforcer::ApiGuard {
            id: "pets".into(),
            name: "pets".into(),
            version: "1".into(),
            blocked: false,
            throttling_policy: None,
            schemes,
            base_paths: Box::new(["/pets/1".into()]),
            client_certificates: Default::default(),
        };
        Api {
            guard,
            base_paths: Box::new(["/pets/1".into()]),
            vhosts: Box::new([]),
            auth_header: http::header::AUTHORIZATION,
            api_key: ApiKeyName::default(),
            endpoints: Default::default(),
            cors: None,
            backend_jwt: false,
            operations: Box::new([]),
            metrics: Default::default(),
        }
    }

    const API_KEY: SecuritySchemes = SecuritySchemes::API_KEY;
    const BOTH: SecuritySchemes = SecuritySchemes::BEARER_AND_API_KEY;

    /// A header map with these pairs, appended (a repeated name keeps every copy).
    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(http::HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn the_key_comes_from_the_header_before_the_query() {
        let with_header = headers(&[("apikey", "h")]);
        let from_header = presented(&api(API_KEY), &with_header, Some("apikey=q"), None);
        assert_eq!(from_header.api_key, ApiKeyPresented::Header(&HeaderValue::from_static("h")));
        let none = HeaderMap::new();
        assert_eq!(presented_key(&none, "a=1&apikey=q&b"), ApiKeyPresented::Query("q"));
        assert_eq!(presented_key(&none, "apikey=q&apikey=q"), ApiKeyPresented::Repeated);
        assert_eq!(presented_key(&none, "APIKEY=q&apikeys=q&xapikey=q"), ApiKeyPresented::Absent);
        let twice = headers(&[("apikey", "a"), ("apikey", "b")]);
        assert_eq!(presented(&api(API_KEY), &twice, None, None).api_key, ApiKeyPresented::Repeated);
    }

    fn presented_key<'a>(headers: &'a HeaderMap, query: &'a str) -> ApiKeyPresented<'a> {
        presented(&api(API_KEY), headers, Some(query), None).api_key
    }

    #[test]
    fn only_the_apis_schemes_are_looked_at() {
        let both = headers(&[("authorization", "Bearer t"), ("apikey", "k"), ("referer", "https://r/")]);
        let oauth_only = presented(&api(SecuritySchemes::default()), &both, None, None);
        assert_eq!((oauth_only.api_key, oauth_only.referer), (ApiKeyPresented::Absent, None));
        let key_only = presented(&api(API_KEY), &both, None, None);
        assert_eq!(key_only.bearer, CredentialHeader::Absent);
        assert_eq!(key_only.referer.map(HeaderValue::as_bytes), Some(&b"https://r/"[..]));
        assert!(matches!(presented(&api(BOTH), &both, None, None).bearer, CredentialHeader::Once(_)));
    }

    #[test]
    fn the_client_certificate_counts_only_for_a_mutualssl_api() {
        let chain = PresentedChain::new(vec![rustls::pki_types::CertificateDer::from(vec![0x30, 0x00])]);
        let none = HeaderMap::new();
        let mutual_tls = SecuritySchemes { mutual_tls: true, ..SecuritySchemes::NONE };
        let with_mtls = presented(&api(mutual_tls), &none, None, chain.as_ref());
        assert!(with_mtls.client_certificate.is_some());
        for schemes in [SecuritySchemes::default(), API_KEY] {
            assert!(presented(&api(schemes), &none, None, chain.as_ref()).client_certificate.is_none(), "{schemes:?}");
        }
    }

    #[test]
    fn a_query_key_is_removed_and_everything_else_kept_byte_for_byte() {
        let none = HeaderMap::new();
        let forwarded = |schemes, query| forwarded_query(&api(schemes), &none, Some(query)).map(Cow::into_owned);
        assert_eq!(forwarded(API_KEY, "a=%2F&apikey=k&b=&&c"), Some("a=%2F&b=&&c".to_owned()));
        assert_eq!(forwarded(API_KEY, "apikey=k"), None);
        assert_eq!(forwarded(API_KEY, "apikey=1&apikey=2&x"), Some("x".to_owned()), "every copy goes");
        assert_eq!(forwarded(SecuritySchemes::default(), "apikey=k"), Some("apikey=k".to_owned()), "not a credential");
        let with_header = headers(&[("apikey", "h")]);
        let kept = forwarded_query(&api(API_KEY), &with_header, Some("apikey=q")).map(Cow::into_owned);
        assert_eq!(kept, Some("apikey=q".to_owned()), "the header is the credential; the query is not touched");
        assert_eq!(forwarded_query(&api(API_KEY), &none, None), None);
    }
}
