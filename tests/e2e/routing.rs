//! client.md, "Routing": host selection, normalisation, base paths, operation precedence,
//! trailing slashes, 404/405, CORS preflight, default versions.

use tollgate_tests::{Upstream, empty};

use crate::support::{api, gateway};

#[tokio::test]
async fn longest_base_path_wins_and_segments_match_whole() {
    let (shop, shop_v2) = (Upstream::start("shop").await, Upstream::start("shop-v2").await);
    let gw = gateway()
        .api_file("shop.yaml", &api("shop", "/shop", &[shop.url()], &["* /*"], "isDefaultVersion: true"))
        .api_file("shop2.yaml", &api("shop2", "/shop/v2", &[shop_v2.url()], &["* /*"], "isDefaultVersion: true"))
        .start()
        .await;
    let client = gw.client();
    assert_eq!(client.get("/shop/v2/items").await.echo().upstream, "shop-v2");
    assert_eq!(client.get("/shop/items").await.echo().upstream, "shop");
    assert_eq!(client.get("/shop/1.0.0/items").await.echo().upstream, "shop");
    let miss = client.get("/shopping").await;
    assert_eq!((miss.status.as_u16(), miss.code()), (404, "404".into()));
}

#[tokio::test]
async fn vhosts_select_apis_and_specific_hosts_beat_any_host() {
    let (any, specific) = (Upstream::start("any").await, Upstream::start("specific").await);
    let gw = gateway()
        .api_file("any.yaml", &api("any", "/svc", &[any.url()], &["GET /x"], ""))
        .api_file(
            "specific.yaml",
            &api("specific", "/svc", &[specific.url()], &["GET /x"], "vhosts: [API.Example.com]"),
        )
        .api_file("only.yaml", &api("only", "/only", &[specific.url()], &["GET /x"], "vhosts: [api.example.com]"))
        .start()
        .await;
    let client = gw.client();
    let on_host = |host: &'static str, path: &'static str| {
        let client = client.clone();
        async move {
            let mut request = client.request("GET", path).body(empty()).unwrap();
            request.headers_mut().insert("host", http::HeaderValue::from_static(host));
            client.send(request).await.unwrap()
        }
    };
    assert_eq!(on_host("api.example.com:8443", "/svc/1.0.0/x").await.echo().upstream, "specific");
    assert_eq!(on_host("API.EXAMPLE.COM", "/svc/1.0.0/x").await.echo().upstream, "specific");
    assert_eq!(on_host("other.example.com", "/svc/1.0.0/x").await.echo().upstream, "any");
    assert_eq!(on_host("other.example.com", "/only/1.0.0/x").await.status, 404);
    assert_eq!(on_host("api.example.com", "/only/1.0.0/x").await.status, 200);
    // HTTP/2 routes on :authority.
    let h2 = client.clone().http2();
    let reply = h2.send(h2.request("GET", "/svc/1.0.0/x").body(empty()).unwrap()).await.unwrap();
    assert_eq!((reply.version, reply.echo().upstream.as_str()), (http::Version::HTTP_2, "any"));
}

#[tokio::test]
async fn literal_beats_param_beats_wildcard_and_405_lists_methods() {
    let up = Upstream::start("up").await;
    let operations =
        ["GET /items/special", "DELETE /items/{id}", "PUT /items/*", "POST /items", "GET /", "PATCH /files/*"];
    let gw = gateway().api_file("a.yaml", &api("items", "/api", &[up.url()], &operations, "")).start().await;
    let client = gw.client();
    let send = |method: &'static str, path: &'static str| {
        let client = client.clone();
        async move { client.send(client.request(method, path).body(empty()).unwrap()).await.unwrap() }
    };
    assert_eq!(send("GET", "/api/1.0.0/items/special").await.status, 200);
    assert_eq!(send("DELETE", "/api/1.0.0/items/7").await.status, 200);
    assert_eq!(send("PUT", "/api/1.0.0/items/7/parts").await.status, 200);
    // `/items/special` is literal-GET only, but DELETE falls to `{id}`, PUT to `*`.
    assert_eq!(send("DELETE", "/api/1.0.0/items/special").await.status, 200);
    let not_allowed = send("POST", "/api/1.0.0/items/7").await;
    assert_eq!((not_allowed.status.as_u16(), not_allowed.code()), (405, "405".into()));
    let allow = not_allowed.header("allow").unwrap_or_default().to_owned();
    assert!(allow.contains("DELETE") && allow.contains("PUT") && !allow.contains("POST"), "{allow}");
    assert_eq!(send("GET", "/api/1.0.0/").await.status, 200, "root template on the bare base path");
    assert_eq!(send("GET", "/api/1.0.0").await.status, 200);
    assert_eq!(send("GET", "/api/1.0.0/nothing").await.status, 404);
    assert_eq!(send("GET", "/API/1.0.0/items/special").await.status, 404, "matching is case-sensitive");
    assert_eq!(send("GET", "/api/1.0.0/items/Special").await.status, 405, "case-sensitive literal falls to {{id}}/*");
}

#[tokio::test]
async fn trailing_slash_is_optional_and_wildcards_match_bare_paths() {
    let up = Upstream::start("up").await;
    let operations = ["GET /pets", "GET /store/*", "POST /*"];
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &operations, "")).start().await;
    let client = gw.client();
    for (path, upstream_path) in [
        ("/petstore/1.0.0/pets", "/pets"),
        ("/petstore/1.0.0/pets/", "/pets/"),
        ("/petstore/1.0.0/store", "/store"),
        ("/petstore/1.0.0/store/", "/store/"),
        ("/petstore/1.0.0/store/a/b", "/store/a/b"),
    ] {
        let reply = client.get(path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.echo().target, upstream_path, "{path}");
    }
    let bare = client.send(client.request("POST", "/petstore/1.0.0").body(empty()).unwrap()).await.unwrap();
    assert_eq!((bare.status.as_u16(), bare.echo().target.as_str()), (200, "/"));
}

#[tokio::test]
async fn paths_are_normalised_once_and_forwarded_normalised() {
    let up = Upstream::start("up").await;
    let gw = gateway()
        .api_file("a.yaml", &api("pets", "/petstore", &[format!("{}/v2", up.url())], &["GET /*"], ""))
        .start()
        .await;
    let client = gw.client();
    for (sent, forwarded) in [
        ("/petstore/1.0.0//pets///7", "/v2/pets/7"),
        ("/petstore/1.0.0/%70ets/%7E7", "/v2/pets/~7"),
        ("/petstore/1.0.0/a%20b", "/v2/a%20b"),
        ("/petstore/1.0.0/pets?x=1&y=%2F&z", "/v2/pets?x=1&y=%2F&z"),
    ] {
        let reply = client.get(sent).await;
        assert_eq!(reply.status, 200, "{sent}");
        assert_eq!(reply.echo().target, forwarded, "{sent}");
    }
}

#[tokio::test]
async fn dangerous_paths_are_rejected_with_400() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /*"], "")).start().await;
    let client = gw.client();
    for path in [
        "/petstore/1.0.0/../admin",
        "/petstore/1.0.0/./pets",
        "/petstore/1.0.0/%2e%2e/admin",
        "/petstore/1.0.0/%2E./admin",
        "/petstore/1.0.0/.%2e",
        "/petstore/1.0.0/a%2fb",
        "/petstore/1.0.0/a%2Fb",
        "/petstore/1.0.0/a%5cb",
        "/petstore/1.0.0/a\\b",
        "/petstore/1.0.0/a%00b",
        "/petstore/1.0.0/a%zzb",
    ] {
        let reply = client.get(path).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (400, "400".into()), "{path}");
    }
    assert_eq!(up.requests(), 0, "nothing reached the upstream");
}

/// client.md Routing 2: segments that Tomcat, Spring or a lenient decoder resolve as dot
/// segments (the auth bypass behind a proxy: an unsecured route leading to a secured one).
#[tokio::test]
async fn paths_an_upstream_would_resolve_as_dot_segments_are_rejected_over_both_protocols() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("app", "/app", &[up.url()], &["GET /public/*"], "")).start().await;
    for client in [gw.client(), gw.client().http2()] {
        for path in [
            "/app/1.0.0/public/..;/private/x",
            "/app/1.0.0/public/..;jsessionid=x/private/x",
            "/app/1.0.0/public/%2e%2e;/private/x",
            "/app/1.0.0/public/..%3b/private/x",
            "/app/1.0.0/public/%252e%252e/private/x",
            "/app/1.0.0/public/..%252fprivate",
            "/app/1.0.0/public/%25%32%65%25%32%65/private",
            "/app/1.0.0/public/%c0%ae%c0%ae/private/x",
        ] {
            let reply = client.get(path).await;
            assert_eq!((reply.status.as_u16(), reply.code()), (400, "400".into()), "{path}");
        }
    }
    assert_eq!(up.requests(), 0, "nothing reached the upstream");
    assert_eq!(gw.client().get("/app/1.0.0/public/a;v=1/b").await.status, 200, "ordinary parameters pass");
}

#[tokio::test]
async fn version_placeholder_and_default_version_base_paths() {
    let (v1, v2) = (Upstream::start("v1").await, Upstream::start("v2").await);
    let v2_api =
        api("shop-v2", "/{version}/shop", &[v2.url()], &["GET /x"], "").replace("version: 1.0.0", "version: 2.0.0");
    let gw = gateway()
        .api_file("v1.yaml", &api("shop-v1", "/{version}/shop", &[v1.url()], &["GET /x"], "isDefaultVersion: true"))
        .api_file("v2.yaml", &v2_api)
        .start()
        .await;
    let client = gw.client();
    assert_eq!(client.get("/1.0.0/shop/x").await.echo().upstream, "v1");
    assert_eq!(client.get("/2.0.0/shop/x").await.echo().upstream, "v2");
    assert_eq!(client.get("/shop/x").await.echo().upstream, "v1");
}

#[tokio::test]
async fn cors_preflight_is_answered_by_the_gateway() {
    let up = Upstream::start("up").await;
    let cors = "cors:\n  allowOrigins: [\"https://app.example.com\"]\n  allowMethods: [GET, POST]\n  allowHeaders: [authorization]\n  maxAgeSeconds: 600";
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], cors)).start().await;
    let client = gw.client();
    let preflight = client
        .request("OPTIONS", "/petstore/1.0.0/pets")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .body(empty())
        .unwrap();
    let reply = client.send(preflight).await.unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(reply.header("access-control-allow-methods"), Some("GET, POST"));
    assert_eq!(reply.header("access-control-max-age"), Some("600"));
    assert_eq!(up.requests(), 0);
    let actual = client
        .request("GET", "/petstore/1.0.0/pets")
        .header("origin", "https://app.example.com")
        .body(empty())
        .unwrap();
    let reply = client.send(actual).await.unwrap();
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://app.example.com"));
    let foreign =
        client.request("GET", "/petstore/1.0.0/pets").header("origin", "https://evil.example").body(empty()).unwrap();
    assert_eq!(client.send(foreign).await.unwrap().header("access-control-allow-origin"), None);
}
