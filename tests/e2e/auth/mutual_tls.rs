//! client.md, "Credentials (securitySchemes mutualssl)" and every `mutualssl` row of
//! "Combining schemes" (GitHub issue 13, part 2), with real client certificates over real TLS:
//! a leaf listed directly, leaves of a listed CA, an expired leaf, a foreign CA's leaf, none,
//! over HTTP/1.1 and HTTP/2; the listener asking for a certificate only while some Api uses
//! `mutualssl`; a certificate's `policy` limiting the requests made with it, alone or with a token.

use std::time::Duration;

use serde_json::json;
use tollgate_tests::{
    ApiManager, Client, GatewayProcess, IssuedCert, Issuer, Pki, Reply, SigningKey, Upstream, eventually,
};

use super::catalog::{ApiSpec, Catalog, KeyType};
use super::{assert_rejected, get_with, token};
use crate::support::gateway;

/// The client certificates of one test: leaves of the gateway's CA (listed as a CA), an
/// expired one, a foreign CA's leaf, and a leaf listed by itself.
struct Certificates {
    ca_leaf: IssuedCert,
    expired: IssuedCert,
    foreign: IssuedCert,
    listed_leaf: IssuedCert,
}

impl Certificates {
    fn new(ca: &Pki) -> Self {
        let (foreign_ca, lone_ca) = (Pki::new(), Pki::new());
        Certificates {
            ca_leaf: ca.issue_client("client-of-the-ca"),
            expired: ca.issue_expired_client("expired"),
            foreign: foreign_ca.issue_client("foreign"),
            listed_leaf: lone_ca.issue_client("listed-by-itself"),
        }
    }

    /// `(alias, PEM, policy)` entries: the CA (so its leaves) and the lone leaf.
    fn entries<'a>(&'a self, ca: &'a Pki) -> [(&'a str, &'a str, Option<&'a str>); 2] {
        [("test-ca", ca.ca_pem(), None), ("lone-leaf", &self.listed_leaf.cert_pem, None)]
    }
}

/// GET `path` on a new connection of `client` with these headers.
async fn get(client: &Client, path: &str, headers: &[(&str, &str)]) -> Reply {
    get_with(client, path, headers).await
}

/// An admitted request, for [`expect`].
const PASS: (u16, &str) = (200, "");

/// GETs `path` with `headers` on a new connection of `client`, presenting `cert` when given,
/// and asserts the outcome: [`PASS`], or the gateway's rejection `(status, code)`.
async fn expect(
    client: &Client,
    cert: Option<&IssuedCert>,
    (path, headers): (&str, &[(&str, &str)]),
    expected: (u16, &str),
    case: &str,
) -> Reply {
    let client = match cert {
        Some(cert) => client.clone().client_certificate(cert),
        None => client.clone(),
    };
    let reply = get(&client, path, headers).await;
    match expected {
        PASS => assert_eq!(reply.status, 200, "{case} over {:?}: {}", reply.version, reply.text()),
        expected => assert_rejected(&reply, expected, &format!("{case} over {:?}", reply.version)),
    }
    reply
}

/// A gateway serving Api `vault` (`mutualssl` only, `GET /gold`) that accepts [`Certificates`]'s
/// listed leaf and its CA, and the upstream behind it.
async fn vault() -> (Upstream, Certificates, GatewayProcess) {
    let up = Upstream::start("up").await;
    let setup = gateway();
    let certificates = Certificates::new(setup.pki());
    let api = ApiSpec::new("vault", &up)
        .schemes(&["mutualssl"])
        .client_certificates(&certificates.entries(setup.pki()))
        .get("/gold", &[]);
    let gw = setup.api_file("a.yaml", &Catalog::new().api(api).yaml()).start().await;
    (up, certificates, gw)
}

#[tokio::test]
async fn mutualssl_only_accepts_listed_certificates_and_leaves_of_listed_cas_over_http1_and_http2() {
    let (up, certificates, gw) = vault().await;
    let mut admitted = 0;
    for base in [gw.client(), gw.client().http2()] {
        let cases = [
            ("a leaf of the listed CA", Some(&certificates.ca_leaf), PASS),
            ("the listed leaf", Some(&certificates.listed_leaf), PASS),
            ("expired", Some(&certificates.expired), (401, "900901")),
            ("a foreign CA's leaf", Some(&certificates.foreign), (401, "900901")),
            ("no certificate", None, (401, "900902")),
        ];
        for (case, cert, expected) in cases {
            expect(&base, cert, ("/vault/1/gold", &[]), expected, case).await;
            admitted += usize::from(expected == PASS);
        }
    }
    assert_eq!(up.requests(), admitted, "only accepted certificates reach the upstream");
    for (code, count) in [("900901", 4.0), ("900902", 2.0)] {
        let counted = gw.metric_sum("tollgate_auth_failures_total", &[("api", "vault"), ("code", code)]).await;
        assert_eq!(counted, count, "every {code} is counted");
    }
}

#[tokio::test]
async fn hostile_chains_get_the_contracts_error_never_a_5xx() {
    let (up, certificates, gw) = vault().await;
    let leaf = &certificates.ca_leaf;
    let long_chain = IssuedCert {
        cert_pem: format!("{}{}", leaf.cert_pem, gw.pki().ca_pem().repeat(12)),
        key_pem: leaf.key_pem.clone(),
    };
    expect(&gw.client(), Some(&long_chain), ("/vault/1/gold", &[]), (401, "900901"), "a chain of 13 certificates")
        .await;
    let with_foreign_intermediates = IssuedCert {
        cert_pem: format!("{}{}", certificates.foreign.cert_pem, certificates.ca_leaf.cert_pem),
        key_pem: certificates.foreign.key_pem.clone(),
    };
    let case = "a foreign leaf with an unrelated certificate as intermediate";
    expect(&gw.client(), Some(&with_foreign_intermediates), ("/vault/1/gold", &[]), (401, "900901"), case).await;
    assert_eq!(up.requests(), 0);
}

/// The combining table's rows with `mutualssl`: `(name, schemes)`, each API served at
/// `/{name}/1/x`.
const COMBINED: [(&str, &[&str]); 4] = [
    ("either", &["oauth2", "mutualssl"]),
    ("cert-mandatory", &["oauth2", "mutualssl", "mutualssl_mandatory"]),
    ("key-mandatory", &["api_key", "mutualssl", "oauth_basic_auth_api_key_mandatory"]),
    ("both-mandatory", &["api_key", "mutualssl", "mutualssl_mandatory", "oauth_basic_auth_api_key_mandatory"]),
];

/// What a request of the combined tests presents.
#[derive(Debug, Clone, Copy)]
enum Cert {
    None,
    Accepted,
    Foreign,
}

#[derive(Debug, Clone, Copy)]
enum Credential {
    None,
    Good,
    Bad,
}

#[tokio::test]
async fn each_combination_of_mutualssl_with_oauth2_and_api_key_and_the_mandatory_flags() {
    let (key, apim, up) = (SigningKey::ec256("k1"), ApiManager::new(), Upstream::start("up").await);
    let issuer = Issuer::start(vec![key.clone()]).await;
    let setup = gateway();
    let certificates = Certificates::new(setup.pki());
    let mut catalog = Catalog::new().key_manager(&issuer, "").api_manager(&apim, "apim").application(
        "app",
        "ck-app",
        KeyType::Production,
    );
    for (name, schemes) in COMBINED {
        let api = ApiSpec::new(name, &up).schemes(schemes).client_certificates(&certificates.entries(setup.pki()));
        catalog = catalog.api(api.get("/x", &[])).subscription(name, "app", "UNBLOCKED");
    }
    let gw = setup.api_file("a.yaml", &catalog.yaml()).start().await;
    let bearer = format!("Bearer {}", token(&issuer, &key, json!({"azp": "ck-app"})));
    let subscribed: Vec<_> = COMBINED.iter().map(|(name, _)| (*name, "1", "", "Unlimited")).collect();
    let api_key = apim.sign(&apim.claims("app-uuid", &subscribed));
    use Cert as C;
    use Credential as K;
    let pass = PASS;
    let rows: Vec<(&str, Cert, Credential, (u16, &str))> = vec![
        // both, neither mandatory: the credential passes or the certificate is accepted.
        ("either", C::None, K::Good, pass),
        ("either", C::Accepted, K::None, pass),
        ("either", C::Foreign, K::Good, pass),
        ("either", C::None, K::None, (401, "900902")),
        ("either", C::Foreign, K::None, (401, "900901")),
        ("either", C::Accepted, K::Bad, (401, "900901")),
        // both, mutualssl_mandatory: the certificate first, the credential when presented.
        ("cert-mandatory", C::Accepted, K::None, pass),
        ("cert-mandatory", C::Accepted, K::Good, pass),
        ("cert-mandatory", C::None, K::Good, (401, "900902")),
        ("cert-mandatory", C::Foreign, K::Good, (401, "900901")),
        ("cert-mandatory", C::Accepted, K::Bad, (401, "900901")),
        ("cert-mandatory", C::Foreign, K::None, (401, "900901")),
        // both, oauth_basic_auth_api_key_mandatory: the credential; no certificate examined.
        ("key-mandatory", C::None, K::Good, pass),
        ("key-mandatory", C::Foreign, K::Good, pass),
        ("key-mandatory", C::Accepted, K::None, (401, "900902")),
        ("key-mandatory", C::Accepted, K::Bad, (401, "900901")),
        // both mandatory: both pass; either absent 900902; the failing one's error.
        ("both-mandatory", C::Accepted, K::Good, pass),
        ("both-mandatory", C::Accepted, K::None, (401, "900902")),
        ("both-mandatory", C::None, K::Good, (401, "900902")),
        ("both-mandatory", C::Foreign, K::Good, (401, "900901")),
        ("both-mandatory", C::Accepted, K::Bad, (401, "900901")),
        ("both-mandatory", C::None, K::None, (401, "900902")),
    ];
    for (name, cert, credential, expected) in rows {
        let presented = match cert {
            C::None => None,
            C::Accepted => Some(&certificates.ca_leaf),
            C::Foreign => Some(&certificates.foreign),
        };
        let uses_api_key = name.ends_with("mandatory") && name != "cert-mandatory";
        let header = match (credential, uses_api_key) {
            (K::None, _) => None,
            (K::Good, false) => Some(("authorization", bearer.clone())),
            (K::Good, true) => Some(("apikey", api_key.clone())),
            (K::Bad, false) => Some(("authorization", "Bearer not-a-jwt".to_owned())),
            (K::Bad, true) => Some(("apikey", "not-a-jwt".to_owned())),
        };
        let headers: Vec<(&str, &str)> = header.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let case = format!("{name} with certificate {cert:?} and credential {credential:?}");
        expect(&gw.client(), presented, (&format!("/{name}/1/x"), &headers), expected, &case).await;
    }
    let ignored = get(&gw.client(), "/key-mandatory/1/x", &[("authorization", &bearer)]).await;
    assert_rejected(&ignored, (401, "900902"), "a bearer token on an api_key Api is not a credential");
}

#[tokio::test]
async fn the_listener_asks_for_a_certificate_only_while_an_api_uses_mutualssl() {
    let up = Upstream::start("up").await;
    let setup = gateway();
    let leaf = setup.pki().issue_client("client");
    let open = ApiSpec::new("open", &up).open_get("/x");
    let gw = setup.api_file("a.yaml", &Catalog::new().api(open).yaml()).start().await;
    let client = gw.client().client_certificate(&leaf);
    let mut before = client.connect().await.unwrap();
    assert_eq!(client.get("/open/1/x").await.status, 200);
    assert_eq!(client.certificate_requests(), 0, "no Api uses mutualssl: no CertificateRequest");

    let mtls = ApiSpec::new("vault", &up)
        .schemes(&["mutualssl"])
        .client_certificates(&[("ca", gw.pki().ca_pem(), None)])
        .get("/gold", &[]);
    std::fs::write(gw.dir.join("apis/mtls.yaml"), Catalog::new().api(mtls).yaml()).unwrap();
    let asked = async || client.get("/open/1/x").await.status == 200 && client.certificate_requests() > 0;
    assert!(eventually(Duration::from_secs(10), asked).await, "a snapshot with a mutualssl Api turns the request on");
    assert_eq!(client.get("/vault/1/gold").await.status, 200, "the certificate is presented and accepted");
    let old = before.send(client.request("GET", "/vault/1/gold").body(tollgate_tests::empty()).unwrap()).await.unwrap();
    assert_rejected(&old, (401, "900902"), "a connection made before keeps what it negotiated: no certificate");
    let without = gw.client();
    assert_rejected(&without.get("/vault/1/gold").await, (401, "900902"), "requested, never required");
    assert_eq!(without.get("/open/1/x").await.status, 200, "a client without a certificate still connects");

    std::fs::remove_file(gw.dir.join("apis/mtls.yaml")).unwrap();
    let fresh = gw.client().client_certificate(&leaf);
    let gone = async || fresh.get("/vault/1/gold").await.status == 404;
    assert!(eventually(Duration::from_secs(10), gone).await, "the mutualssl Api is removed");
    let counted = fresh.certificate_requests();
    assert_eq!(fresh.get("/open/1/x").await.status, 200);
    assert_eq!(fresh.certificate_requests(), counted, "no Api uses mutualssl any more: not asked");
}

#[tokio::test]
async fn a_certificates_policy_limits_the_requests_made_with_it() {
    let up = Upstream::start("up").await;
    let setup = gateway();
    let (limited, other) = (setup.pki().issue_client("limited"), Pki::new().issue_client("other"));
    let api = ApiSpec::new("vault", &up)
        .schemes(&["mutualssl"])
        .client_certificates(&[("limited", &limited.cert_pem, Some("ThreePerMin")), ("other", &other.cert_pem, None)])
        .get("/gold", &[]);
    let catalog = Catalog::new().api(api).policy("subscription", "ThreePerMin", 3);
    let gw = setup.api_file("a.yaml", &catalog.yaml()).start().await;
    let (client, unlimited) = (gw.client().client_certificate(&limited), gw.client().client_certificate(&other));
    let mut conn = client.connect().await.unwrap();
    for i in 0..3 {
        let reply = conn.send(client.request("GET", "/vault/1/gold").body(tollgate_tests::empty()).unwrap()).await;
        assert_eq!(reply.unwrap().status, 200, "request {i} within the policy");
    }
    let limited_reply = client.get("/vault/1/gold").await;
    assert_rejected(&limited_reply, (429, "900804"), "the fourth request in the minute, on a new connection");
    assert!(limited_reply.header("retry-after").is_some());
    assert_eq!(limited_reply.header("ratelimit-policy"), Some("\"certificate\";q=3;w=60"), "the certificate tier");
    for _ in 0..5 {
        assert_eq!(
            unlimited.get("/vault/1/gold").await.status,
            200,
            "another certificate has its own (Unlimited) policy"
        );
    }
}

#[tokio::test]
async fn a_certificates_policy_also_limits_requests_admitted_with_a_token() {
    let (key, up) = (SigningKey::ec256("k1"), Upstream::start("up").await);
    let issuer = Issuer::start(vec![key.clone()]).await;
    let setup = gateway();
    let (limited, other) = (setup.pki().issue_client("limited"), Pki::new().issue_client("other"));
    let entries = [("limited", limited.cert_pem.as_str(), Some("ThreePerMin")), ("other", &other.cert_pem, None)];
    let schemes = ["oauth2", "mutualssl", "mutualssl_mandatory"];
    let mut catalog = Catalog::new().key_manager(&issuer, "").application("app", "ck-app", KeyType::Production);
    for name in ["vault", "spare"] {
        let api = ApiSpec::new(name, &up).schemes(&schemes).client_certificates(&entries).get("/gold", &[]);
        catalog = catalog.api(api).subscription(name, "app", "UNBLOCKED");
    }
    let gw = setup.api_file("a.yaml", &catalog.policy("subscription", "ThreePerMin", 3).yaml()).start().await;
    let bearer = format!("Bearer {}", token(&issuer, &key, json!({"azp": "ck-app"})));
    let with_token = [("authorization", bearer.as_str())];
    let gold = ("/vault/1/gold", &with_token[..]);
    for i in 0..3 {
        expect(&gw.client(), Some(&limited), gold, PASS, &format!("request {i} within the policy")).await;
    }
    let case = "the fourth request with the certificate and a valid token";
    let limited_reply = expect(&gw.client(), Some(&limited), gold, (429, "900804"), case).await;
    assert_eq!(limited_reply.header("ratelimit-policy"), Some("\"certificate\";q=3;w=60"), "the certificate tier");
    assert!(limited_reply.header("ratelimit").is_some_and(|value| value.starts_with("\"certificate\";r=0;")));
    let case = "the same token with another certificate: its subscription is Unlimited";
    expect(&gw.client(), Some(&other), gold, PASS, case).await;
    let case = "the same certificate on another Api has its own counter";
    expect(&gw.client(), Some(&limited), ("/spare/1/gold", &with_token), PASS, case).await;
    assert_eq!(up.requests(), 5);
}
