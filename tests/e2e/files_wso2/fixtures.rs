//! Every fixture under fixtures/wso2/{openapi,apiyaml,apictl,runtime-artifacts}, unchanged,
//! either serves as the Api it describes or is refused with a reason naming the feature, in
//! `/config`, the metrics and `tollgate check`; the scopes and CORS of fixtures enforced.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use tollgate_tests::{Issuer, SigningKey, empty};

use super::{assert_code, copy, get, get_with_token, rejected, subscribers, write};
use crate::support::{binary, gateway};

const PIZZASHACK_ID: &str = "39325037-1508-4398-a358-e551927ff075";
const TEST_API_ID: &str = "564d9716-cb27-4e8c-a756-db817f235065";

/// Each refused fixture: the input it is laid out as, and the reason shown for it.
const REFUSED: [(&str, &str); 27] = [
    ("cc-cors_sample_legacy_hyphen_keys.yaml", "base path /petstore/v1 does not hold the version 1.0.0"),
    ("cc-endpoint_by_reference_sample.yaml", "backend credentials (endpoint security) are not supported yet"),
    ("cc-it-api_key.yaml", "base path /v2 does not hold the version 1.0.5"),
    ("cc-it-backend_security.yaml", "backend credentials (endpoint security) are not supported yet"),
    ("cc-it-circuit_breakers.yaml", "circuit breakers are not supported"),
    ("cc-it-cors.yaml", "base path /cors does not hold the version 1.0.5"),
    ("cc-it-disable_security.yaml", "base path /disable_security does not hold the version 1.0.0"),
    ("cc-it-mutual_ssl.yaml", "mutual TLS needs client certificates, which an OpenAPI document alone cannot carry"),
    ("cc-it-prod_sand_diff_endpoints.yaml", "per-resource endpoints (/pet/findByTags) are not supported"),
    ("cc-it-retry_swagger2.yaml", "per-resource endpoints (/retry-seven) are not supported"),
    ("cc-it-scopes_swagger2.yaml", "base path /scopes/v2 does not hold the version 1.0.5"),
    ("cc-it-timeout_endpoint.yaml", "per-resource endpoints (/delay-4) are not supported"),
    ("cc-it-trailing_slash.yaml", "base path /trailing-slash does not hold the version 1.0.0"),
    ("cc-it-wildcard_all_methods.yaml", "base path /all_http_methods_for_wildcard does not hold the version 1.0.0"),
    ("cc-petstore_basic_tiers_disable_security.yaml", "per-resource endpoints (/pet/{petId}) are not supported"),
    ("cc-security_sample.yaml", "API keys under more than one name (X-API-KEY, X-API-KEY-Q) are not supported"),
    ("cc-unit-openapi_prod_sand_clusters.yaml", "per-resource endpoints (/pets/{petId}) are not supported"),
    ("cc-unit-openapi_with_endpoint_ref.yaml", "circuit breakers are not supported"),
    ("cc-it-api_policies/", "operation policy ccAddHeader on POST /echo-full/headers-policy/{id} is not supported"),
    ("cc-it-default_version_v1/", "operations (in api.yaml or Definitions/swagger) is missing"),
    ("cc-it-mutual_ssl_api/", "mutual TLS without client certificates"),
    ("cc-unit-graphql_api/", "API type GRAPHQL is not supported"),
    ("cc-unit-ws_api_failover/", "API type WS is not supported"),
    ("cc-unit-ws_api_loadbalance/", "API type WS is not supported"),
    ("annotated/", "backend credentials (endpoint security) are not supported yet"),
    ("petstore/", "operations (in api.yaml or Definitions/swagger) is missing"),
    ("rec1-PizzaShackAPI/", "operation policy jsonToXML on POST /order is not supported"),
];

/// The refused runtime artifacts beyond [`REFUSED`] (they share its shape). The artifacts'
/// `deployments.json` and `env_properties.json` are refused as documents: they describe a
/// runtime-artifacts zip, which the `wso2-apim` source reads.
const REFUSED_ARTIFACTS: [(&str, &str); 2] = [
    ("rec1-StarWarsAPI/", "API type GRAPHQL is not supported"),
    ("rec2-PizzaShackAPI/", "operation policy jsonValidator on POST /order is not supported"),
];

/// The refused fixtures laid out as an `api.yaml` file of their own.
const API_YAML_PROJECTS: [&str; 6] = [
    "cc-it-api_policies",
    "cc-it-default_version_v1",
    "cc-it-mutual_ssl_api",
    "cc-unit-graphql_api",
    "cc-unit-ws_api_failover",
    "cc-unit-ws_api_loadbalance",
];

/// The apictl projects' files: (fixture, file name in the source directory).
const APICTL_FILES: [(&str, &str); 6] = [
    ("pizzashack/api.yaml", "tooling-PizzaShackAPI-1.0.0-api.yaml"),
    ("pizzashack/Definitions/swagger.yaml", "tooling-PizzaShackAPI-1.0.0-swagger.yaml"),
    ("pizzashack/deployment_environments.yaml", "tooling-default_deployment_environments.yaml"),
    ("petstore/api.yaml", "cc-it-petstore-project-api.yaml"),
    ("petstore/deployment_environments.yaml", "cc-it-deploy_multiple_env_vhosts.yaml"),
    ("annotated/api.yaml", "tooling-sample-api-annotated-v4.7.0.yaml"),
];

/// The recorded per-API runtime artifacts' files: (fixture, file name in the source directory).
const RUNTIME_ARTIFACT_FILES: [(&str, &str); 11] = [
    ("rec2-PizzaShackAPI/api.json", "rec2-PizzaShackAPI-1.0.0-api.json"),
    ("rec2-PizzaShackAPI/Definitions/swagger.json", "rec2-PizzaShackAPI-1.0.0-swagger.json"),
    ("rec2-PizzaShackAPI/Client-certificates/client_certificates.json", "rec2-client_certificates.json"),
    ("rec2-PizzaShackAPI/Endpoint-certificates/endpoint_certificates.json", "rec2-endpoint_certificates.json"),
    ("rec2-PizzaShackAPI/Policies/jsonValidator_v1.json", "rec2-policy-jsonValidator_v1.json"),
    ("rec1-PizzaShackAPI/api.json", "rec1-PizzaShackAPI-1.0.0-rev-api.json"),
    ("rec1-StarWarsAPI/api.json", "rec1-StarWarsAPI-1.0.0-graphql-api.json"),
    ("base/api.json", "base-TestAPI-1.0.0-wildcard-api.json"),
    ("base/Definitions/swagger.json", "base-TestAPI-1.0.0-wildcard-swagger.json"),
    ("rec2-deployments.json", "rec2-deployments.json"),
    ("rec2-env_properties.json", "rec2-env_properties.json"),
];

// === layout ===

/// Every fixture of openapi/, apiyaml/, apictl/ and runtime-artifacts/ as the file source
/// takes it: OpenAPI documents as files, api.yaml files as project directories, the apictl
/// projects and the recorded per-API artifacts as the projects they were (INTERFACE.md §3.1).
/// The export of openapi/tooling-apim-export-openAPI3-scopes-bindings.yaml is left out: it
/// claims `/test/1.0.0` like the runtime artifact `base`; [`scopes_and_cors_of_fixtures`]
/// serves it.
fn lay_out_fixtures(apis: &Path) {
    for (name, _) in REFUSED.iter().filter(|(name, _)| name.ends_with(".yaml")) {
        copy(apis, name, &format!("openapi/{name}"));
    }
    for name in API_YAML_PROJECTS {
        copy(apis, &format!("{name}/api.yaml"), &format!("apiyaml/{name}.yaml"));
    }
    for (fixture, file) in APICTL_FILES {
        copy(apis, fixture, &format!("apictl/{file}"));
    }
    lay_out_runtime_artifacts(apis);
}

fn lay_out_runtime_artifacts(apis: &Path) {
    for (fixture, file) in RUNTIME_ARTIFACT_FILES {
        copy(apis, fixture, &format!("runtime-artifacts/{file}"));
    }
}

// === tests ===

#[tokio::test]
async fn every_fixture_serves_as_the_api_it_describes_or_is_refused_naming_the_feature() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let setup = gateway();
    let apis = setup.dir().join("apis");
    lay_out_fixtures(&apis);
    write(&apis, "subscribers.yaml", &subscribers(&issuer, &[PIZZASHACK_ID, TEST_API_ID]));
    let gw = setup.start().await;
    let config = gw.admin().get("/config").await.json();

    let rejected = rejected(&config);
    for (input, reason) in REFUSED.iter().chain(&REFUSED_ARTIFACTS) {
        let shown = rejected.iter().find(|(_, id, error)| id == input || error.starts_with(input));
        let (entity, _, error) = shown.unwrap_or_else(|| panic!("{input} is not rejected: {rejected:?}"));
        assert_eq!(entity, "api", "{input}");
        assert!(error.starts_with(input) && error.contains(reason), "{input}: {error}");
    }
    for (file, kind) in [("rec2-deployments.json", "deployments"), ("rec2-env_properties.json", "env_properties")] {
        let shown = rejected.iter().find(|(_, id, _)| id == file).unwrap_or_else(|| panic!("{file}: {rejected:?}"));
        assert_eq!(shown.0, "document");
        assert!(shown.2.contains(&format!("a WSO2 \"{kind}\" file is not a definition of its own")), "{shown:?}");
    }
    assert_eq!(rejected.len(), REFUSED.len() + REFUSED_ARTIFACTS.len() + 2, "{rejected:?}");
    let refused = (REFUSED.len() + REFUSED_ARTIFACTS.len()) as f64;
    assert_eq!(gw.metric("tollgate_config_rejected_total{entity=\"api\"}").await, Some(refused));
    let logs = gw.logs().stderr_text();
    assert!(logs.contains("cc-it-circuit_breakers.yaml") && logs.contains("circuit breakers are not supported"));

    let served: Vec<(String, Value, String)> = config["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|api| (api["id"].as_str().unwrap().to_owned(), api["basePaths"].clone(), api["origin"].to_string()))
        .collect();
    assert_eq!(served.len(), 2, "{served:?}");
    let pizzashack = served.iter().find(|(id, ..)| id == PIZZASHACK_ID).unwrap();
    assert_eq!((&pizzashack.1, pizzashack.2.contains("pizzashack/")), (&json!(["/pizzashack/1.0.0"]), true));
    let test_api = served.iter().find(|(id, ..)| id == TEST_API_ID).unwrap();
    assert_eq!((&test_api.1, test_api.2.contains("base/")), (&json!(["/test/1.0.0"]), true));

    let client = gw.client();
    let subscribed = key.sign(&issuer.claims(json!({"azp": "ck-app"})));
    let unsubscribed = key.sign(&issuer.claims(json!({"azp": "ck-lonely"})));
    for path in ["/pizzashack/1.0.0/menu", "/test/1.0.0/anything/below"] {
        assert_code(&get(&client, path, &[]).await, 401, "900902", path);
        assert_code(&get_with_token(&client, path, &unsubscribed).await, 403, "900908", path);
        // The fixtures' endpoints (https://localhost:9443/..., https://localhost:8080/) have no
        // server: past every check, the request fails at the upstream.
        assert_code(&get_with_token(&client, path, &subscribed).await, 503, "102503", path);
    }
    assert_eq!(get_with_token(&client, "/pizzashack/1.0.0/nothing-here", &subscribed).await.status, 404);
}

#[tokio::test]
async fn check_shows_per_wso2_file_the_api_or_the_refusal_and_exits_1() {
    let setup = gateway();
    lay_out_fixtures(&setup.dir().join("apis"));
    let out = Command::new(binary()).args(["check", "--config"]).arg(setup.write_config()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for (input, reason) in REFUSED.iter().chain(&REFUSED_ARTIFACTS) {
        let line = stdout.lines().find(|line| line.starts_with(&format!("  {input} (")));
        let line = line.unwrap_or_else(|| panic!("{input} not shown: {stdout}"));
        assert!(line.contains("refused: ") && line.contains(reason), "{line}");
    }
    let pizzashack = format!(
        "  pizzashack/ (apictl project): api \"{PIZZASHACK_ID}\" at /pizzashack/1.0.0\n    security: oauth2, oauth_basic_auth_api_key_mandatory\n    POST /order secured, tier Unlimited\n    GET /menu secured, tier Unlimited\n"
    );
    assert!(stdout.contains(&pizzashack), "{stdout}");
    assert!(stdout.contains("    production: https://localhost:9443/am/sample/pizzashack/v1/api/ (load_balance)\n"));
    assert!(stdout.contains(&format!("  base/ (apictl project): api \"{TEST_API_ID}\" at /test/1.0.0\n")), "{stdout}");
    assert!(stdout.contains("    PATCH /* secured, tier Unlimited\n"), "{stdout}");
}

#[tokio::test]
async fn scopes_and_cors_of_fixtures() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let setup = gateway();
    let apis = setup.dir().join("apis");
    copy(&apis, "export.yaml", "openapi/tooling-apim-export-openAPI3-scopes-bindings.yaml");
    // cc-it-cors.yaml's base path lacks its version; as the definition of a project it serves.
    write(
        &apis,
        "cors/api.yaml",
        "type: api\nversion: v4.3.0\ndata:\n  name: Cors\n  version: 1.0.5\n  context: /cors\n",
    );
    copy(&apis, "cors/Definitions/swagger.yaml", "openapi/cc-it-cors.yaml");
    write(&apis, "subscribers.yaml", &subscribers(&issuer, &["Swagger Petstore New:1.0.0", "Cors:1.0.5"]));
    let gw = setup.start().await;
    let refused = rejected(&gw.admin().get("/config").await.json());
    assert!(refused.is_empty(), "{refused:?}");
    let client = gw.client();

    let token = |scope: &str| key.sign(&issuer.claims(json!({"azp": "ck-app", "scope": scope})));
    let names = "/test/1.0.0/pet/getNames";
    assert_code(&get(&client, names, &[]).await, 401, "900902", "no token");
    assert_code(&get_with_token(&client, names, &token("otest")).await, 403, "900910", "test3 is needed");
    assert_code(&get_with_token(&client, "/test/1.0.0/pet/7", &token("test3")).await, 403, "900910", "otest or test");

    let preflight = client
        .request("OPTIONS", "/cors/1.0.5/pet/7")
        .header("origin", "http://test2.com")
        .header("access-control-request-method", "PUT")
        .body(empty())
        .unwrap();
    let reply = client.send(preflight).await.unwrap();
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(reply.header("access-control-allow-origin"), Some("http://test2.com"));
    assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));
    let scoped = "/cors/1.0.5/pet/7";
    let post = client.request("POST", scoped).header("authorization", format!("Bearer {}", token("other")));
    let reply = client.send(post.body(empty()).unwrap()).await.unwrap();
    assert_code(&reply, 403, "900910", "POST needs write:pets or read:pets");
}
