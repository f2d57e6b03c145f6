//! The secured API these tests throttle, its callers' tokens, and the contract's 429.

use std::fmt::Write as _;

use serde_json::json;
use tollgate_tests::{Client, GatewayProcess, Issuer, Reply, SigningKey, Upstream, empty};

/// The throttled API: name `Shop`, version `1`, base path `/shop/1`.
pub(super) const API: &str = "Shop";
pub(super) const VERSION: &str = "1";
/// Its two secured operations.
pub(super) const ITEMS: &str = "/shop/1/items";
pub(super) const OTHER: &str = "/shop/1/other";

/// A token issuer with one key, and the upstream behind every API.
pub(super) struct Fixture {
    pub(super) issuer: Issuer,
    key: SigningKey,
    pub(super) upstream: Upstream,
}

/// The YAML of `Shop` with its applications (each subscribed to it), key mappings and policies.
pub(super) struct Shop<'a> {
    fixture: &'a Fixture,
    api_policy: Option<&'a str>,
    resource_policies: Vec<(&'a str, &'a str)>,
    /// Application id, its `application` policy, its subscription's policy.
    apps: Vec<(&'a str, &'a str, &'a str)>,
    policies: Vec<String>,
}

// === impl Fixture ===

impl Fixture {
    pub(super) async fn start() -> Fixture {
        let key = SigningKey::ec256("k1");
        Fixture { issuer: Issuer::start(vec![key.clone()]).await, key, upstream: Upstream::start("up").await }
    }

    /// A token of application `app` (consumer key `ck-<app>`) for subject `user-1`.
    pub(super) fn token(&self, app: &str) -> String {
        self.token_for(app, "user-1")
    }

    pub(super) fn token_for(&self, app: &str, subject: &str) -> String {
        self.key.sign(&self.issuer.claims(json!({"azp": format!("ck-{app}"), "sub": subject})))
    }

    pub(super) fn shop(&self) -> Shop<'_> {
        Shop { fixture: self, api_policy: None, resource_policies: Vec::new(), apps: Vec::new(), policies: Vec::new() }
    }
}

// === impl Shop ===

impl<'a> Shop<'a> {
    /// The Api's `throttlingPolicy`.
    pub(super) fn api_policy(mut self, name: &'a str) -> Self {
        self.api_policy = Some(name);
        self
    }

    /// The `throttlingPolicy` of the operation `GET <target>` (`/items` or `/other`).
    pub(super) fn resource_policy(mut self, target: &'a str, name: &'a str) -> Self {
        self.resource_policies.push((target, name));
        self
    }

    /// An application with the given `application` policy, subscribed with `subscription`.
    pub(super) fn app(mut self, id: &'a str, application: &'a str, subscription: &'a str) -> Self {
        self.apps.push((id, application, subscription));
        self
    }

    /// A policy, as a YAML flow mapping (see [`policy`]).
    pub(super) fn policy(mut self, yaml: impl Into<String>) -> Self {
        self.policies.push(yaml.into());
        self
    }

    pub(super) fn yaml(&self) -> String {
        let mut yaml = String::from("apis:\n  - id: shop\n    name: Shop\n    version: \"1\"\n    context: /shop\n");
        if let Some(policy) = self.api_policy {
            let _ = writeln!(yaml, "    throttlingPolicy: {policy}");
        }
        let _ =
            writeln!(yaml, "    endpoints:\n      production:\n        urls: [\"{}\"]", self.fixture.upstream.url());
        yaml.push_str("    operations:\n");
        for target in ["/items", "/other"] {
            let _ = write!(yaml, "      - {{target: {target}, verb: GET");
            if let Some((_, policy)) = self.resource_policies.iter().find(|(t, _)| *t == target) {
                let _ = write!(yaml, ", throttlingPolicy: {policy}");
            }
            yaml.push_str("}\n");
        }
        yaml.push_str(&self.fixture.issuer.key_manager_yaml("km", ""));
        self.identities(&mut yaml);
        if !self.policies.is_empty() {
            yaml.push_str("policies:\n");
            self.policies.iter().for_each(|policy| yaml.push_str(&format!("  - {policy}\n")));
        }
        yaml
    }

    fn identities(&self, yaml: &mut String) {
        let (mut applications, mut mappings, mut subscriptions) = (String::new(), String::new(), String::new());
        for (id, application, subscription) in &self.apps {
            let _ = writeln!(applications, "  - {{id: {id}, name: {id}, policy: {application}}}");
            let _ = writeln!(
                mappings,
                "  - {{applicationId: {id}, consumerKey: ck-{id}, keyType: PRODUCTION, keyManager: km}}"
            );
            let _ = writeln!(
                subscriptions,
                "  - {{id: sub-{id}, apiId: shop, applicationId: {id}, policy: {subscription}, status: UNBLOCKED}}"
            );
        }
        let _ = write!(yaml, "applications:\n{applications}keyMappings:\n{mappings}subscriptions:\n{subscriptions}");
    }
}

/// A policy of `count` requests per `seconds` (`stopOnQuotaReach` default), as a YAML flow mapping.
pub(super) fn policy(kind: &str, name: &str, count: u32, seconds: u32) -> String {
    format!("{{kind: {kind}, name: {name}, limit: {{requestCount: {count}, unitTime: {seconds}, timeUnit: sec}}}}")
}

/// `policy` with more fields, e.g. [`burst`] or `stopOnQuotaReach: false`.
pub(super) fn extended(policy: &str, fields: &str) -> String {
    format!("{}, {fields}}}", policy.strip_suffix('}').unwrap_or(policy))
}

/// A subscription policy's `burst` of `count` requests per `seconds`.
pub(super) fn burst(count: u32, seconds: u32) -> String {
    format!("burst: {{requestCount: {count}, unitTime: {seconds}, timeUnit: sec}}")
}

/// `GET path` with `Authorization: Bearer <token>` on a new connection.
pub(super) async fn get(client: &Client, path: &str, token: &str) -> Reply {
    let request = client.request("GET", path).header("authorization", format!("Bearer {token}"));
    client.send(request.body(empty()).unwrap()).await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Asserts a request reached the upstream; returns the reply.
pub(super) fn admitted(reply: Reply) -> Reply {
    assert_eq!(reply.status, 200, "expected admission: {} {:?}", reply.text(), reply.headers);
    reply
}

/// The quota headers of a reply, `(RateLimit-Policy, RateLimit)`, if any.
pub(super) fn quota_headers(reply: &Reply) -> (Option<&str>, Option<&str>) {
    (reply.header("ratelimit-policy"), reply.header("ratelimit"))
}

/// Asserts the contract's 429 (client.md, "Error responses"): the tier's code, a JSON body,
/// `Retry-After` in whole seconds ≥ 1, and `RateLimit-Policy`/`RateLimit` naming `level` with
/// quota `quota` per `window` seconds and none remaining. Returns `(Retry-After, t)`.
pub(super) fn assert_throttled(reply: &Reply, level: &str, code: &str, quota: u32, window: u64) -> (u64, u64) {
    let context = || format!("{} {:?} {}", reply.status, reply.headers, reply.text());
    assert_eq!(reply.status, 429, "{}", context());
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{}", context());
    let body = reply.json();
    assert_eq!(body["code"], code, "{}", context());
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", context());
    assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()), "{}", context());
    let retry_after = retry_after(reply).unwrap_or_else(|| panic!("Retry-After: {}", context()));
    assert!((1..=window).contains(&retry_after), "Retry-After {retry_after} outside 1..={window}: {}", context());
    let expected = format!("\"{level}\";q={quota};w={window}");
    assert_eq!(reply.header("ratelimit-policy"), Some(expected.as_str()), "{}", context());
    let current = reply.header("ratelimit").unwrap_or_default();
    let reset = current.strip_prefix(&format!("\"{level}\";r=0;t=")).and_then(|t| t.parse::<u64>().ok());
    let reset = reset.unwrap_or_else(|| panic!("RateLimit {current:?} is not \"{level}\";r=0;t=<s>: {}", context()));
    // `t` rounds the wait for the whole quota up; the emission interval rounds up by < 1 µs.
    assert!((1..=window + 1).contains(&reset), "t={reset} outside 1..={}: {}", window + 1, context());
    (retry_after, reset)
}

/// `Retry-After` as whole seconds ≥ 1 (digits only), or `None`.
pub(super) fn retry_after(reply: &Reply) -> Option<u64> {
    let value = reply.header("retry-after")?;
    let seconds = value.bytes().all(|b| b.is_ascii_digit()).then(|| value.parse::<u64>().ok()).flatten()?;
    (seconds >= 1).then_some(seconds)
}

/// `RateLimit: "<level>";r=<r>;t=<t>` as `(level, r, t)`.
pub(super) fn parse_ratelimit(value: &str) -> Option<(String, u32, u64)> {
    let (level, rest) = value.strip_prefix('"')?.split_once("\";r=")?;
    let (remaining, reset) = rest.split_once(";t=")?;
    Some((level.to_owned(), remaining.parse().ok()?, reset.parse().ok()?))
}

/// `tollgate_throttled_total{api, version, level}`.
pub(super) async fn throttled_total(gateway: &GatewayProcess, api: &str, version: &str, level: &str) -> f64 {
    let labels = [("api", api), ("version", version), ("level", level)];
    gateway.metric_sum("tollgate_throttled_total", &labels).await
}
