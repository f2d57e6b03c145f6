//! client.md, "Credentials (securitySchemes api_key)" and "Combining schemes" (GitHub issue 13):
//! WSO2 API keys minted as API-M mints them (RS256 JWTs with its claims, verified with its
//! certificate), through the real gateway over HTTP/1.1 and HTTP/2.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Value, json};
use tollgate_tests::{ApiManager, Client, Issuer, Reply, SigningKey, Upstream};

use super::catalog::{ApiSpec, Catalog, KeyType};
use super::{assert_rejected, get, get_with, token};
use crate::support::gateway;

const PIZZA: (&str, &str, &str, &str) = ("pizza", "1", "/pizza/1", "Unlimited");

/// GET `path` with the API key in the `apikey` header.
async fn with_key(client: &Client, path: &str, key: &str) -> Reply {
    get_with(client, path, &[("apikey", key)]).await
}

/// An API `id` served at `/{id}/1` that takes API keys only, with `GET /menu`.
fn key_api(id: &str, up: &Upstream) -> ApiSpec {
    ApiSpec::new(id, up).schemes(&["api_key"]).get("/menu", &[])
}

#[tokio::test]
async fn a_key_from_the_header_or_the_query_reaches_the_upstream_without_it_over_http1_and_http2() {
    let (apim, up) = (ApiManager::new(), Upstream::start("up").await);
    let catalog = Catalog::new().api_manager(&apim, "apim").api(key_api("pizza", &up));
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let key = apim.sign(&apim.claims("app-uuid-1", &[PIZZA]));
    for client in [gw.client(), gw.client().http2()] {
        let reply = with_key(&client, "/pizza/1/menu?size=L", &key).await;
        assert_eq!(reply.status, 200, "{:?}: {}", reply.version, reply.text());
        let echo = reply.echo();
        assert!(!echo.headers.contains_key("apikey"), "the key's header is not forwarded");
        assert_eq!(echo.target, "/menu?size=L");
        assert_eq!(echo.headers["x-tollgate-application-id"], ["app-uuid-1"]);
        assert_eq!(echo.headers["x-tollgate-key-type"], ["PRODUCTION"]);
        let in_query = client.get(&format!("/pizza/1/menu?a=%2F&apikey={key}&b=")).await;
        assert_eq!(in_query.status, 200, "{}", in_query.text());
        assert_eq!(in_query.echo().target, "/menu?a=%2F&b=", "the key is removed, the rest kept byte for byte");
    }
    assert_eq!(up.requests(), 4);
}

#[tokio::test]
async fn every_api_key_row_of_the_error_table() {
    let (apim, up) = (ApiManager::new(), Upstream::start("up").await);
    let revoked_claims = apim.claims("app-revoked", &[PIZZA]);
    let catalog = Catalog::new()
        .api_manager(&apim, "apim")
        .api(key_api("pizza", &up))
        .revoked_jti(revoked_claims["jti"].as_str().unwrap());
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let client = gw.client();
    let good = apim.claims("app-uuid-1", &[PIZZA]);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good.clone();
        change(&mut claims);
        apim.sign(&claims)
    };
    let forged = SigningKey::rsa("apim-gateway-certificate").sign(&good);
    let cases: Vec<(&str, String, (u16, &str))> = vec![
        ("malformed", "not-a-jwt".to_owned(), (401, "900901")),
        ("signed by another key", forged, (401, "900901")),
        ("HS256 with API-M's public key", apim.key.sign_hs256_with_public_pem(&good), (401, "900901")),
        ("expired", with(&|c| c["exp"] = json!(tollgate_tests::now() - 3600)), (401, "900901")),
        ("unknown issuer", with(&|c| c["iss"] = json!("https://other-apim/oauth2/token")), (401, "900901")),
        ("revoked", apim.sign(&revoked_claims), (401, "900901")),
        ("subscribedAPIs not a list", with(&|c| c["subscribedAPIs"] = json!({"name": "pizza"})), (401, "900901")),
        ("subscribedAPIs of strings", with(&|c| c["subscribedAPIs"] = json!(["pizza"])), (401, "900901")),
        ("permittedIP garbage", with(&|c| c["permittedIP"] = json!("127.0.0.1, localhost")), (401, "900901")),
        ("keytype unknown", with(&|c| c["keytype"] = json!("STAGING")), (401, "900901")),
        ("SANDBOX without a sandbox endpoint", with(&|c| c["keytype"] = json!("SANDBOX")), (401, "900901")),
        (
            "not subscribed to this API",
            apim.sign(&apim.claims("app-uuid-1", &[("other", "1", "/other/1", "Gold")])),
            (403, "900908"),
        ),
        (
            "subscribed to another version",
            with(&|c| c["subscribedAPIs"] = json!([{"name": "pizza", "version": "2", "context": "/pizza/2"}])),
            (403, "900908"),
        ),
        ("from an IP it does not permit", with(&|c| c["permittedIP"] = json!("10.0.0.0/8, ::2")), (403, "900908")),
        (
            "for a Referer it does not permit",
            with(&|c| c["permittedReferer"] = json!("https://shop.example/*")),
            (403, "900908"),
        ),
    ];
    for (case, key, expected) in &cases {
        assert_rejected(&with_key(&client, "/pizza/1/menu", key).await, *expected, case);
    }
    assert_rejected(&client.get("/pizza/1/menu").await, (401, "900902"), "no key");
    assert_rejected(&with_key(&client, "/pizza/1/menu", "").await, (401, "900902"), "an empty key header");
    let oversize = format!("{}.{}", apim.sign(&good), "A".repeat(16 * 1024));
    assert_rejected(&with_key(&client, "/pizza/1/menu", &oversize).await, (401, "900901"), "over 16 KiB in the header");
    let oversize_query = client.get(&format!("/pizza/1/menu?apikey={oversize}")).await;
    assert_rejected(&oversize_query, (401, "900901"), "over 16 KiB in the query");
    let key = apim.sign(&good);
    let twice = get_with(&client, "/pizza/1/menu", &[("apikey", &key), ("apikey", &key)]).await;
    assert_rejected(&twice, (401, "900901"), "the key header twice, both copies valid");
    let twice_in_query = client.get(&format!("/pizza/1/menu?apikey={key}&apikey={key}")).await;
    assert_rejected(&twice_in_query, (401, "900901"), "the key parameter twice");
    assert_eq!(up.requests(), 0, "no rejected request reaches the upstream");
    for (code, count) in [("900901", 15.0), ("900908", 4.0), ("900902", 2.0)] {
        let counted = gw.metric_sum("tollgate_auth_failures_total", &[("api", "pizza"), ("code", code)]).await;
        assert_eq!(counted, count, "every {code} is counted");
    }
}

#[tokio::test]
async fn permitted_ip_and_referer_admit_only_the_callers_they_name() {
    let (apim, up) = (ApiManager::new(), Upstream::start("up").await);
    let catalog = Catalog::new().api_manager(&apim, "apim").api(key_api("pizza", &up));
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let mut claims = apim.claims("app-uuid-1", &[PIZZA]);
    claims["permittedIP"] = json!("127.0.0.2, 2001:db8::/32");
    let by_ip = apim.sign(&claims);
    let other_loopback = gw.client().from_ip(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    assert_eq!(with_key(&other_loopback, "/pizza/1/menu", &by_ip).await.status, 200, "from 127.0.0.2");
    let spoofing = [("apikey", by_ip.as_str()), ("x-forwarded-for", "127.0.0.2")];
    let spoofed = get_with(&gw.client(), "/pizza/1/menu", &spoofing).await;
    assert_rejected(&spoofed, (403, "900908"), "from 127.0.0.1, X-Forwarded-For is not trusted");
    claims["permittedIP"] = json!("");
    claims["permittedReferer"] = json!("https://shop.example/*, https://*.partner.example/app/*");
    let by_referer = apim.sign(&claims);
    for (referer, admitted) in [
        ("https://shop.example/cart", true),
        ("https://eu.partner.example/app/x", true),
        ("https://partner.example/app/x", false),
        ("http://shop.example/cart", false),
    ] {
        let reply = get_with(&gw.client(), "/pizza/1/menu", &[("apikey", &by_referer), ("referer", referer)]).await;
        match admitted {
            true => assert_eq!(reply.status, 200, "{referer}: {}", reply.text()),
            false => assert_rejected(&reply, (403, "900908"), referer),
        }
    }
    assert_eq!(up.requests(), 3);
}

#[tokio::test]
async fn a_key_accepted_on_one_api_is_refused_on_another_and_contexts_name_apis_too() {
    let (apim, up) = (ApiManager::new(), Upstream::start("up").await);
    let catalog = Catalog::new()
        .api_manager(&apim, "apim")
        .api(key_api("pizza", &up).default_version())
        .api(key_api("pasta", &up))
        .api(ApiSpec::new("renamed", &up).schemes(&["api_key"]).get("/menu", &[]));
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let client = gw.client();
    let key = apim.sign(&apim.claims("app-uuid-1", &[PIZZA, ("Renamed API", "9", "/renamed/1", "Gold")]));
    assert_eq!(with_key(&client, "/pizza/1/menu", &key).await.status, 200);
    assert_eq!(with_key(&client, "/pizza/menu", &key).await.status, 200, "the default-version path");
    assert_rejected(&with_key(&client, "/pasta/1/menu", &key).await, (403, "900908"), "verified, cached, other API");
    assert_eq!(with_key(&client, "/renamed/1/menu", &key).await.status, 200, "named by its versioned context");
}

/// The application a request reaches the upstream as, or the gateway's rejection.
type Expected = Result<&'static str, (u16, &'static str)>;

/// Request headers, as (name, value) pairs.
type Headers<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn combined_schemes_examine_one_credential_and_never_pass_a_bad_one_over() {
    let (apim, up) = (ApiManager::new(), Upstream::start("up").await);
    let signer = SigningKey::ec256("k1");
    let issuer = Issuer::start(vec![signer.clone()]).await;
    let catalog = Catalog::new()
        .key_manager(&issuer, "")
        .api_manager(&apim, "apim")
        .api(
            ApiSpec::new("both", &up)
                .schemes(&["oauth2", "api_key", "oauth_basic_auth_api_key_mandatory"])
                .get("/menu", &[]),
        )
        .api(ApiSpec::new("keys", &up).schemes(&["api_key"]).api_key_header("X-Api-Key").get("/menu", &[]))
        .api(ApiSpec::new("tokens", &up).get("/menu", &[]))
        .application("app", "ck-app", KeyType::Production)
        .subscription("both", "app", "UNBLOCKED")
        .subscription("tokens", "app", "UNBLOCKED");
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let client = gw.client();
    let bearer = format!("Bearer {}", token(&issuer, &signer, json!({"azp": "ck-app"})));
    let apis = [
        ("both", "1", "/both/1", "Unlimited"),
        ("keys", "1", "/keys/1", "Unlimited"),
        ("tokens", "1", "/tokens/1", "Unlimited"),
    ];
    let key = apim.sign(&apim.claims("app-uuid-1", &apis));
    let cases: [(&str, Headers<'_>, Expected); 9] = [
        ("/both/1/menu", &[("authorization", &bearer)], Ok("app")),
        ("/both/1/menu", &[("apikey", &key)], Ok("app-uuid-1")),
        ("/both/1/menu", &[("authorization", &bearer), ("apikey", "garbage")], Ok("app")),
        ("/both/1/menu", &[("authorization", "Bearer garbage"), ("apikey", &key)], Err((401, "900901"))),
        ("/both/1/menu", &[("authorization", "Basic YTpi"), ("apikey", &key)], Err((401, "900901"))),
        ("/both/1/menu", &[], Err((401, "900902"))),
        ("/keys/1/menu", &[("authorization", "Bearer garbage"), ("x-api-key", &key)], Ok("app-uuid-1")),
        ("/keys/1/menu", &[("apikey", &key)], Err((401, "900902"))),
        ("/tokens/1/menu", &[("apikey", &key)], Err((401, "900902"))),
    ];
    for (path, headers, expected) in cases {
        let reply = get_with(&client, path, headers).await;
        let case = format!("{path} with {:?}", headers.iter().map(|(name, _)| name).collect::<Vec<_>>());
        match expected {
            Ok(application) => {
                assert_eq!(reply.status, 200, "{case}: {}", reply.text());
                assert_eq!(reply.echo().headers["x-tollgate-application-id"], [application], "{case}");
            }
            Err(rejection) => assert_rejected(&reply, rejection, &case),
        }
    }
    let headers = [("authorization", "Bearer other"), ("x-api-key", key.as_str())];
    let ignored = get_with(&client, "/keys/1/menu?X-Api-Key=x", &headers);
    let echo = ignored.await.echo();
    assert_eq!(
        echo.headers["authorization"],
        ["Bearer other"],
        "a header of a scheme the Api does not list is forwarded"
    );
    assert!(!echo.headers.contains_key("x-api-key"));
    assert_eq!(echo.target, "/menu?X-Api-Key=x", "the key came in the header: the query is not touched");
    let tokens = get(&client, "/tokens/1/menu", Some(bearer.trim_start_matches("Bearer "))).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
}

#[tokio::test]
async fn rate_limits_come_from_the_keys_subscription_and_application_tiers() {
    let (apim, up) = (ApiManager::new(), Upstream::start("up").await);
    let catalog = Catalog::new()
        .api_manager(&apim, "apim")
        .api(key_api("pizza", &up))
        .api(key_api("pasta", &up))
        .policy("subscription", "TwoPerMin", 2)
        .policy("application", "ThreePerMin", 3);
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let client = gw.client();
    let mut claims =
        apim.claims("app-uuid-1", &[("pizza", "1", "/pizza/1", "TwoPerMin"), ("pasta", "1", "/pasta/1", "Unlimited")]);
    let key = apim.sign(&claims);
    let statuses = |path: &'static str, key: String| {
        let client = client.clone();
        async move {
            let mut replies = Vec::new();
            for _ in 0..3 {
                replies.push(with_key(&client, path, &key).await);
            }
            replies
        }
    };
    let pizza = statuses("/pizza/1/menu", key.clone()).await;
    assert_eq!(pizza.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>(), [200, 200, 429]);
    assert_eq!(pizza[2].code(), "900804", "the subscriptionTier of the key's pizza entry");
    let another_key = apim.sign(&apim.claims("app-uuid-1", &[("pizza", "1", "/pizza/1", "TwoPerMin")]));
    assert_eq!(
        with_key(&client, "/pizza/1/menu", &another_key).await.code(),
        "900804",
        "one counter per application and API"
    );
    assert_eq!(statuses("/pasta/1/menu", key).await.iter().filter(|r| r.status == 200).count(), 3);
    claims["application"]["uuid"] = json!("app-uuid-2");
    claims["application"]["tier"] = json!("ThreePerMin");
    claims["subscribedAPIs"][0]["subscriptionTier"] = json!("Unlimited");
    let limited_app = apim.sign(&claims);
    let replies = statuses("/pasta/1/menu", limited_app.clone()).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let fourth = with_key(&client, "/pizza/1/menu", &limited_app).await;
    assert_eq!((fourth.status.as_u16(), fourth.code()), (429, "900803".to_owned()), "the application tier");
}
