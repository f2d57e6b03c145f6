use std::time::Duration;

use http::header::{ACCEPT, CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use http::{HeaderMap, HeaderValue, StatusCode};

/// JWKS documents larger than this are refused (a real one is a few KiB).
pub(crate) const MAX_JWKS_BYTES: usize = 1 << 20;

/// What one JWKS request brought back.
#[derive(Debug)]
pub(crate) enum Download {
    Fresh {
        body: Vec<u8>,
        etag: Option<HeaderValue>,
        max_age: Option<Duration>,
    },
    /// `304 Not Modified` to our `If-None-Match`: the keys we have are current.
    NotModified {
        max_age: Option<Duration>,
    },
}

/// Why a JWKS request failed; the previous keys keep serving.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DownloadError {
    #[error("no HTTP client could be built")]
    NoClient,
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("answered {0}")]
    Status(StatusCode),
    #[error("body over {MAX_JWKS_BYTES} bytes")]
    TooLarge,
}

/// The HTTP client for JWKS fetches: rustls (aws-lc-rs) with the system roots, every request
/// bounded by `timeout`. `None` (logged) when the TLS configuration cannot be built.
pub(crate) fn http_client(timeout: Duration) -> Option<reqwest::Client> {
    // Another part of the process may have installed the provider first: that is fine.
    let _already_installed = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .inspect_err(|error| tracing::error!(%error, "JWKS HTTP client unavailable"))
        .ok()
}

/// GETs a JWKS, conditionally when `etag` is known, reading at most [`MAX_JWKS_BYTES`].
pub(crate) async fn download(
    client: &reqwest::Client,
    url: &str,
    etag: Option<&HeaderValue>,
) -> Result<Download, DownloadError> {
    let mut request = client.get(url).header(ACCEPT, "application/jwk-set+json, application/json");
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag.clone());
    }
    let mut response = request.send().await?;
    let max_age = max_age(response.headers());
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Download::NotModified { max_age });
    }
    if !status.is_success() {
        return Err(DownloadError::Status(status));
    }
    let etag = response.headers().get(ETAG).cloned();
    if response.content_length().is_some_and(|len| len > MAX_JWKS_BYTES as u64) {
        return Err(DownloadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(DownloadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Download::Fresh { body, etag, max_age })
}

/// The freshness a response asks for: `max-age` of `Cache-Control`, zero for `no-cache` or
/// `no-store` (the caller clamps it), `None` when it says nothing.
pub(crate) fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let directives = || {
        headers.get_all(CACHE_CONTROL).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim)
    };
    let uncached = |d: &str| d.eq_ignore_ascii_case("no-cache") || d.eq_ignore_ascii_case("no-store");
    if directives().any(uncached) {
        return Some(Duration::ZERO);
    }
    directives().find_map(|directive| {
        let (name, value) = directive.split_once('=')?;
        let seconds = value.trim().trim_matches('"').parse::<u64>().ok();
        name.trim().eq_ignore_ascii_case("max-age").then_some(seconds).flatten().map(Duration::from_secs)
    })
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CACHE_CONTROL, HeaderValue::from_str(value).expect("a header value"));
        }
        headers
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age(&headers(&["public, max-age=300"])), Some(Duration::from_secs(300)));
        assert_eq!(max_age(&headers(&["public", "MAX-AGE = \"42\""])), Some(Duration::from_secs(42)));
        assert_eq!(max_age(&headers(&["s-maxage=5, max-age=60, must-revalidate"])), Some(Duration::from_secs(60)));
        assert_eq!(max_age(&headers(&["max-age=60, no-cache"])), Some(Duration::ZERO));
        assert_eq!(max_age(&headers(&["no-store"])), Some(Duration::ZERO));
        assert_eq!(max_age(&headers(&["max-age=soon"])), None);
        assert_eq!(max_age(&headers(&[])), None);
    }
}
