use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::rejection::TokenError;

/// A token's claims (a JSON object), read through accessors that apply the contract's rules.
#[derive(Debug, Clone)]
pub struct Claims(Map<String, Value>);

/// When a token may be used, in whole Unix seconds. Fractional `exp`/`nbf` are rounded up,
/// which is exact for whole-second clocks: `now < exp` ⇔ `now < ceil(exp)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// The token is expired from this second on (plus the key manager's skew).
    pub expires_at: u64,
    /// The token is not valid before this second (minus the skew).
    pub not_before: Option<u64>,
}

/// The claim that names the client when the key manager's claim is absent.
const FALLBACK_CONSUMER_KEY_CLAIM: &str = "client_id";

// === impl Claims ===

impl Claims {
    /// Parses a JSON object; anything else is [`TokenError::Malformed`].
    pub(crate) fn from_json(json: &[u8]) -> Result<Self, TokenError> {
        serde_json::from_slice(json).map(Claims).map_err(|_| TokenError::Malformed)
    }

    /// Any claim, as JSON.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// `iss` when it is a string.
    pub fn issuer(&self) -> Option<&str> {
        self.string("iss")
    }

    /// `exp` (required, numeric: [`TokenError::MissingExpiry`] otherwise) and `nbf`
    /// (optional, numeric when present: [`TokenError::InvalidNotBefore`] otherwise).
    pub fn lifetime(&self) -> Result<Lifetime, TokenError> {
        self.with_expiry(self.seconds("exp").ok_or(TokenError::MissingExpiry)?)
    }

    /// A lifetime ending at `expires_at`, with the token's `nbf`.
    fn with_expiry(&self, expires_at: u64) -> Result<Lifetime, TokenError> {
        let not_before = match self.get("nbf") {
            None => None,
            Some(_) => Some(self.seconds("nbf").ok_or(TokenError::InvalidNotBefore)?),
        };
        Ok(Lifetime { expires_at, not_before })
    }

    /// [`Claims::lifetime`] where an absent `exp` means no expiry (WSO2 API keys): the token
    /// then expires at `u64::MAX`. A non-numeric `exp` is still [`TokenError::MissingExpiry`].
    pub fn lifetime_or_unlimited(&self) -> Result<Lifetime, TokenError> {
        match self.get("exp") {
            None => self.with_expiry(u64::MAX),
            Some(_) => self.lifetime(),
        }
    }

    /// `sub`; absent is `Ok(None)`, a non-string is [`TokenError::Malformed`].
    pub fn subject(&self) -> Result<Option<&str>, TokenError> {
        self.optional_string("sub")
    }

    /// `jti`; absent is `Ok(None)`, a non-string is [`TokenError::Malformed`].
    pub fn token_id(&self) -> Result<Option<&str>, TokenError> {
        self.optional_string("jti")
    }

    /// Whether `aud` (a string or an array of strings) names one of `audiences`; always true
    /// when `audiences` is empty (the key manager does not check audiences).
    pub fn has_audience(&self, audiences: &[Arc<str>]) -> bool {
        if audiences.is_empty() {
            return true;
        }
        let wanted = |aud: &str| audiences.iter().any(|a| &**a == aud);
        match self.get("aud") {
            Some(Value::String(aud)) => wanted(aud),
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(wanted),
            Some(_) | None => false,
        }
    }

    /// The consumer key: the string claim `claim`, else `client_id`.
    pub fn consumer_key(&self, claim: &str) -> Option<&str> {
        self.string(claim).or_else(|| self.string(FALLBACK_CONSUMER_KEY_CLAIM))
    }

    /// The scopes in `claim`: a space-separated string or an array of strings (other
    /// elements are ignored). Absent or of another type: none.
    pub fn scopes(&self, claim: &str) -> Vec<Arc<str>> {
        match self.get(claim) {
            Some(Value::String(scopes)) => scopes.split(' ').filter(|s| !s.is_empty()).map(Arc::from).collect(),
            Some(Value::Array(scopes)) => scopes.iter().filter_map(Value::as_str).map(Arc::from).collect(),
            Some(_) | None => Vec::new(),
        }
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    fn optional_string(&self, name: &str) -> Result<Option<&str>, TokenError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(TokenError::Malformed),
        }
    }

    /// A JSON number of seconds, rounded up; negative is 0, huge saturates.
    fn seconds(&self, name: &str) -> Option<u64> {
        // `as` from f64 saturates (and maps NaN to 0, which JSON cannot express anyway).
        self.get(name).and_then(Value::as_f64).map(|seconds| seconds.ceil() as u64)
    }
}

// === impl Lifetime ===

impl Lifetime {
    /// [`TokenError::Expired`] from `exp + skew` on, [`TokenError::NotYetValid`] before
    /// `nbf - skew`.
    pub fn check(self, now: u64, skew: Duration) -> Result<(), TokenError> {
        let skew = skew.as_secs();
        if now >= self.expires_at.saturating_add(skew) {
            return Err(TokenError::Expired);
        }
        match self.not_before {
            Some(not_before) if not_before > now.saturating_add(skew) => Err(TokenError::NotYetValid),
            Some(_) | None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]
mod tests {
    use super::*;

    fn claims(json: &str) -> Claims {
        Claims::from_json(json.as_bytes()).expect("a JSON object")
    }

    const SKEW: Duration = Duration::from_secs(30);

    #[test]
    fn exp_must_be_numeric_and_floats_round_up() {
        assert_eq!(claims(r#"{"exp":"1000"}"#).lifetime(), Err(TokenError::MissingExpiry));
        assert_eq!(claims("{}").lifetime(), Err(TokenError::MissingExpiry));
        assert_eq!(claims(r#"{"exp":1000,"nbf":"5"}"#).lifetime(), Err(TokenError::InvalidNotBefore));
        let lifetime = claims(r#"{"exp":999.2,"nbf":-4}"#).lifetime();
        assert_eq!(lifetime, Ok(Lifetime { expires_at: 1000, not_before: Some(0) }));
    }

    #[test]
    fn without_exp_an_api_key_never_expires_but_a_bad_exp_is_still_bad() {
        let forever = claims(r#"{"nbf":5}"#).lifetime_or_unlimited();
        assert_eq!(forever, Ok(Lifetime { expires_at: u64::MAX, not_before: Some(5) }));
        assert_eq!(claims(r#"{"exp":"soon"}"#).lifetime_or_unlimited(), Err(TokenError::MissingExpiry));
        assert_eq!(claims(r#"{"exp":9}"#).lifetime_or_unlimited().map(|l| l.expires_at), Ok(9));
        assert_eq!(forever.map(|l| l.check(u64::MAX - 1, SKEW)), Ok(Ok(())));
    }

    #[test]
    fn expiry_and_not_before_honour_the_skew() {
        let lifetime = Lifetime { expires_at: 1_000, not_before: Some(500) };
        assert_eq!(lifetime.check(1_029, SKEW), Ok(()));
        assert_eq!(lifetime.check(1_030, SKEW), Err(TokenError::Expired));
        assert_eq!(lifetime.check(1_000, Duration::ZERO), Err(TokenError::Expired));
        assert_eq!(lifetime.check(470, SKEW), Ok(()));
        assert_eq!(lifetime.check(469, SKEW), Err(TokenError::NotYetValid));
    }

    #[test]
    fn audience_is_a_string_or_an_array() {
        let wanted: [Arc<str>; 2] = ["a".into(), "b".into()];
        assert!(claims(r#"{"aud":"b"}"#).has_audience(&wanted));
        assert!(claims(r#"{"aud":["x",1,"a"]}"#).has_audience(&wanted));
        assert!(!claims(r#"{"aud":["x"]}"#).has_audience(&wanted));
        assert!(!claims(r#"{"aud":7}"#).has_audience(&wanted));
        assert!(!claims("{}").has_audience(&wanted));
        assert!(claims("{}").has_audience(&[]));
    }

    #[test]
    fn scopes_and_consumer_key() {
        let c = claims(r#"{"scope":" read  write ","scp":["a",2,"b"],"client_id":"cid","azp":"az"}"#);
        assert_eq!(c.scopes("scope"), vec![Arc::from("read"), Arc::from("write")]);
        assert_eq!(c.scopes("scp"), vec![Arc::from("a"), Arc::from("b")]);
        assert!(c.scopes("none").is_empty());
        assert_eq!(c.consumer_key("azp"), Some("az"));
        assert_eq!(c.consumer_key("cnf"), Some("cid"));
        assert_eq!(claims(r#"{"sub":1}"#).subject(), Err(TokenError::Malformed));
        assert_eq!(claims(r#"{"jti":"j"}"#).token_id(), Ok(Some("j")));
    }
}
