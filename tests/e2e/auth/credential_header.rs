//! client.md, "Forwarding": a request that sends its credential header more than once is
//! refused with 401 900901 whatever the copies say, over HTTP/1.1 and HTTP/2; the header is
//! the Api's `authorizationHeader`, and another Api's header name is not a credential there.

use serde_json::json;
use tollgate_tests::{Issuer, SigningKey, Upstream};

use super::catalog::{ApiSpec, Catalog, KeyType};
use super::{assert_rejected, get_with, token};
use crate::support::gateway;

#[tokio::test]
async fn a_repeated_credential_header_is_401_900901_in_any_order_over_http1_and_http2() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let catalog = Catalog::new()
        .key_manager(&issuer, "")
        .api(ApiSpec::new("pets", &up).get("/items", &[]).open_get("/open"))
        .api(ApiSpec::new("shop", &up).authorization_header("X-Token").get("/items", &[]))
        .application("app", "ck-app", KeyType::Production)
        .subscription("pets", "app", "UNBLOCKED")
        .subscription("shop", "app", "UNBLOCKED");
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let good = format!("Bearer {}", token(&issuer, &key, json!({"azp": "ck-app"})));
    let bad = format!("Bearer {}", token(&issuer, &SigningKey::rsa("k1"), json!({"azp": "ck-app"})));

    for (protocol, client) in [("HTTP/1.1", gw.client()), ("HTTP/2", gw.client().http2())] {
        let send = async |path: &str, headers: &[(&str, &str)]| get_with(&client, path, headers).await;
        let ok = send("/pets/1/items", &[("authorization", &good)]).await;
        assert_eq!(ok.status, 200, "{protocol}: one good copy: {}", ok.text());
        for (order, first, second) in
            [("good+bad", &good, &bad), ("bad+good", &bad, &good), ("good+good", &good, &good)]
        {
            let case = format!("{protocol}, {order}");
            let twice = [("authorization", first.as_str()), ("authorization", second.as_str())];
            assert_rejected(&send("/pets/1/items", &twice).await, (401, "900901"), &case);
            assert_rejected(&send("/pets/1/open", &twice).await, (401, "900901"), &format!("{case}, unsecured"));
            let custom = [("x-token", first.as_str()), ("x-token", second.as_str())];
            assert_rejected(&send("/shop/1/items", &custom).await, (401, "900901"), &format!("{case}, X-Token"));
        }
        let reply =
            send("/shop/1/items", &[("x-token", &good), ("authorization", &bad), ("authorization", &bad)]).await;
        assert_eq!(reply.status, 200, "{protocol}: Authorization is no credential of shop: {}", reply.text());
    }
}
