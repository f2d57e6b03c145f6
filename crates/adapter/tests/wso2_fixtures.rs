//! Every WSO2 fixture (fixtures/wso2: openapi, apiyaml, apictl, runtime-artifacts, events)
//! through the WSO2 mapping: what each becomes (validated by the engine's own `TryFrom`), or
//! the exact reason it is refused. Runtime-artifacts zips are built here from the recorded
//! members (INTERFACE.md §3.1 layout), beside hostile zips.

use std::io::Write;
use std::path::PathBuf;

use tollgate_adapter::dto::ApiDto;
use tollgate_adapter::wso2::{
    Action, ApiIdentity, ApiProject, ArchiveError, ArchiveLimits, Change, Entry, EventError, OpenApi, Placement,
    Refusal, RuntimeArtifacts, TenantFilter, api_from_openapi, api_from_project, decode_event,
};
use tollgate_router::api::Api;

// === helpers ===

fn fixture(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wso2").join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn openapi(path: &str) -> OpenApi {
    OpenApi::from_file(path, &fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn entry(name: &str, bytes: Vec<u8>) -> Entry {
    Entry { name: name.to_owned(), bytes }
}

fn project(files: &[Entry]) -> ApiProject {
    ApiProject::from_files(files).unwrap_or_else(|e| panic!("{e}"))
}

/// An apictl project whose api.yaml says only name, version and context, so that the
/// definition decides the rest.
fn project_around(definition: &str) -> ApiProject {
    let api_yaml =
        b"type: api\nversion: v4.3.0\ndata:\n  name: Imported\n  version: 1.0.0\n  context: /imported\n".to_vec();
    project(&[entry("Imported/api.yaml", api_yaml), entry("Imported/Definitions/swagger.yaml", fixture(definition))])
}

fn refusal(result: Result<ApiDto<'static>, Refusal>) -> Refusal {
    match result {
        Ok(api) => panic!("expected a refusal, the API mapped: {api:?}"),
        Err(refusal) => refusal,
    }
}

/// The mapped Api, validated as the engine validates every Api.
fn served(result: Result<ApiDto<'static>, Refusal>) -> (ApiDto<'static>, Api) {
    let dto = result.unwrap_or_else(|refusal| panic!("refused: {refusal}"));
    let api = Api::try_from(dto.clone()).unwrap_or_else(|e| panic!("the engine rejects the mapped Api: {e}; {dto:?}"));
    (dto, api)
}

fn base_paths(api: &Api) -> Vec<String> {
    api.base_paths.iter().map(ToString::to_string).collect()
}

/// `(verb, target, secured, scopes, tier)` of an operation.
type Op = (String, String, bool, Vec<String>, Option<String>);

fn operations(dto: &ApiDto<'_>) -> Vec<Op> {
    let ops = dto.operations.as_deref().unwrap_or_default();
    ops.iter()
        .map(|op| {
            let scopes = op.scopes.iter().flatten().map(ToString::to_string).collect();
            let text = |t: &Option<std::borrow::Cow<'_, str>>| t.as_deref().unwrap_or_default().to_owned();
            (
                text(&op.verb),
                text(&op.target),
                op.secured.unwrap_or(true),
                scopes,
                op.throttling_policy.as_deref().map(str::to_owned),
            )
        })
        .collect()
}

fn op(
    verb: &str,
    target: &str,
    secured: bool,
    scopes: &[&str],
    tier: Option<&str>,
) -> (String, String, bool, Vec<String>, Option<String>) {
    (
        verb.to_owned(),
        target.to_owned(),
        secured,
        scopes.iter().map(|s| (*s).to_owned()).collect(),
        tier.map(str::to_owned),
    )
}

fn urls(dto: &ApiDto<'_>, production: bool) -> Vec<String> {
    let endpoints = dto.endpoints.as_ref();
    let endpoint = endpoints.and_then(|e| if production { e.production.as_ref() } else { e.sandbox.as_ref() });
    endpoint.and_then(|e| e.urls.as_ref()).map(|u| u.iter().map(ToString::to_string).collect()).unwrap_or_default()
}

fn texts(list: &Option<Vec<std::borrow::Cow<'_, str>>>) -> Vec<String> {
    list.iter().flatten().map(ToString::to_string).collect()
}

fn schemes(dto: &ApiDto<'_>) -> Vec<String> {
    texts(&dto.security_schemes)
}

// === openapi/ ===

#[test]
fn openapi_apim_export_maps_with_its_scopes_tiers_and_disabled_cors() {
    let path = "openapi/tooling-apim-export-openAPI3-scopes-bindings.yaml";
    let (dto, api) = served(api_from_openapi(&openapi(path)));
    assert_eq!(dto.id.as_deref(), Some("Swagger Petstore New:1.0.0"));
    assert_eq!(base_paths(&api), ["/test/1.0.0"]);
    assert_eq!(schemes(&dto), ["oauth2", "oauth_basic_auth_api_key_mandatory"], "WSO2's values as they are");
    assert_eq!(
        operations(&dto),
        [
            op("GET", "/pet/findByStatus", true, &[], Some("Unlimited")),
            op("GET", "/pet/getNames", true, &["test3"], None),
            op("GET", "/pet/{petId}", true, &["otest", "test"], Some("Unlimited")),
        ]
    );
    assert!(dto.cors.is_none(), "corsConfigurationEnabled: false");
    assert_eq!(urls(&dto, true), ["https://petstore.swagger.io/v2"]);
    assert_eq!(dto.authorization_header.as_deref(), Some("Authorization"));
}

#[test]
fn openapi_documents_refused_for_a_feature_name_it() {
    let cases = [
        ("openapi/cc-endpoint_by_reference_sample.yaml", Refusal::BackendCredentials),
        ("openapi/cc-it-backend_security.yaml", Refusal::BackendCredentials),
        ("openapi/cc-security_sample.yaml", Refusal::ApiKeyNames("X-API-KEY, X-API-KEY-Q".into())),
        ("openapi/cc-it-circuit_breakers.yaml", Refusal::CircuitBreakers),
        ("openapi/cc-unit-openapi_with_endpoint_ref.yaml", Refusal::CircuitBreakers),
        ("openapi/cc-it-prod_sand_diff_endpoints.yaml", Refusal::PerResourceEndpoints("/pet/findByTags".into())),
        ("openapi/cc-it-retry_swagger2.yaml", Refusal::PerResourceEndpoints("/retry-seven".into())),
        ("openapi/cc-it-timeout_endpoint.yaml", Refusal::PerResourceEndpoints("/delay-4".into())),
        ("openapi/cc-petstore_basic_tiers_disable_security.yaml", Refusal::PerResourceEndpoints("/pet/{petId}".into())),
        ("openapi/cc-unit-openapi_prod_sand_clusters.yaml", Refusal::PerResourceEndpoints("/pets/{petId}".into())),
    ];
    for (path, expected) in cases {
        assert_eq!(refusal(api_from_openapi(&openapi(path))), expected, "{path} alone");
        assert_eq!(
            refusal(api_from_project(&project_around(path), &Placement::default())),
            expected,
            "{path} in a project"
        );
    }
}

#[test]
fn openapi_api_key_scheme_maps_with_its_header_name() {
    let path = "openapi/cc-it-api_key.yaml";
    let (dto, _) = served(api_from_project(&project_around(path), &Placement::default()));
    assert_eq!(schemes(&dto), ["api_key"]);
    assert_eq!(dto.api_key_header.as_deref(), Some("x-api-key"));
    assert_eq!(
        operations(&dto),
        [op("GET", "/jwtheader", true, &[], None), op("GET", "/pet/{petId}", true, &[], None)],
        "API-key requirements carry no scopes"
    );
    let expected = Refusal::BasePath { base_path: "/v2".into(), version: "1.0.5".into() };
    assert_eq!(refusal(api_from_openapi(&openapi(path))), expected, "alone, its base path lacks the version");
}

#[test]
fn openapi_mutual_tls_is_refused_without_client_certificates_alone_or_in_a_project_that_has_none() {
    let path = "openapi/cc-it-mutual_ssl.yaml";
    assert_eq!(refusal(api_from_openapi(&openapi(path))), Refusal::ClientCertificatesOutsideProject);
    let in_project = api_from_project(&project_around(path), &Placement::default());
    assert_eq!(refusal(in_project), Refusal::NoClientCertificates);
}

#[test]
fn openapi_base_paths_without_the_version_are_refused_alone() {
    let cases = [
        ("openapi/cc-cors_sample_legacy_hyphen_keys.yaml", "/petstore/v1", "1.0.0"),
        ("openapi/cc-it-cors.yaml", "/cors", "1.0.5"),
        ("openapi/cc-it-disable_security.yaml", "/disable_security", "1.0.0"),
        ("openapi/cc-it-scopes_swagger2.yaml", "/scopes/v2", "1.0.5"),
        ("openapi/cc-it-trailing_slash.yaml", "/trailing-slash", "1.0.0"),
        ("openapi/cc-it-wildcard_all_methods.yaml", "/all_http_methods_for_wildcard", "1.0.0"),
    ];
    for (path, base_path, version) in cases {
        let expected = Refusal::BasePath { base_path: base_path.to_owned(), version: version.to_owned() };
        assert_eq!(refusal(api_from_openapi(&openapi(path))), expected, "{path}");
    }
}

#[test]
fn openapi_legacy_hyphenated_cors_keys_map_like_the_camel_case_ones_and_bare_host_origins_are_the_engines_to_reject() {
    let mapped =
        api_from_project(&project_around("openapi/cc-cors_sample_legacy_hyphen_keys.yaml"), &Placement::default());
    let dto = mapped.unwrap_or_else(|refusal| panic!("refused: {refusal}"));
    let cors = dto.cors.clone().unwrap_or_default();
    assert_eq!(texts(&cors.allow_origins), ["test.com", "example.com"]);
    assert_eq!(texts(&cors.allow_headers), ["Authorization", "Content-Type"]);
    assert_eq!(texts(&cors.allow_methods), ["GET", "PUT", "POST"]);
    assert_eq!(urls(&dto, true), ["https://petstore.swagger.io/v2"]);
    // The origins are carried as written: a bare host matches no browser Origin, and the
    // engine rejects the Api naming the field rather than guess a scheme.
    let rejected = Api::try_from(dto).err().map(|e| e.to_string());
    assert_eq!(rejected.as_deref(), Some("cors.allowOrigins[0]: must be an absolute http:// or https:// URL"));
}

#[test]
fn openapi_cors_with_expose_headers_and_credentials_and_operation_scopes() {
    let (dto, _) = served(api_from_project(&project_around("openapi/cc-it-cors.yaml"), &Placement::default()));
    let cors = dto.cors.clone().unwrap_or_default();
    assert_eq!(texts(&cors.allow_origins), ["http://test1.com", "http://test2.com", "http://*.wildcard.com"]);
    assert_eq!(texts(&cors.allow_headers), ["Authorization", "X-PINGOTHER"]);
    assert_eq!(texts(&cors.expose_headers), ["X-Custom-Header"]);
    assert_eq!(cors.allow_credentials, Some(true));
    assert_eq!(
        operations(&dto),
        [
            op("GET", "/pet/{petId}", true, &[], None),
            op("POST", "/pet/{petId}", true, &["write:pets", "read:pets"], None),
            op("DELETE", "/pet/{petId}", true, &["write:pets", "read:pets"], None),
        ]
    );
    assert_eq!(urls(&dto, true), ["http://mockBackend:2383/v2"], "Swagger 2 host + basePath");
}

#[test]
fn openapi_security_can_be_disabled_per_path_operation_or_auth_type() {
    let (dto, _) =
        served(api_from_project(&project_around("openapi/cc-it-disable_security.yaml"), &Placement::default()));
    assert_eq!(
        operations(&dto),
        [
            op("POST", "/echo", false, &[], None),
            op("POST", "/echo-full", false, &[], None),
            op("GET", "/pet/findByStatus", true, &[], None),
            op("GET", "/pet/findByTags", false, &[], None),
        ]
    );
    assert_eq!(urls(&dto, true), ["http://mockBackend:2383/v2"]);
}

#[test]
fn openapi_document_scopes_apply_unless_the_operation_names_its_own() {
    let (dto, _) =
        served(api_from_project(&project_around("openapi/cc-it-scopes_swagger2.yaml"), &Placement::default()));
    assert_eq!(
        operations(&dto),
        [
            op("GET", "/pet/findByStatus", true, &["write:scopes"], None),
            op("GET", "/pet/{petId}", true, &[], None),
            op("GET", "/pets/findByTags", true, &["write:scopes", "read:scopes"], None),
        ]
    );
    let cors = dto.cors.unwrap_or_default();
    assert_eq!((texts(&cors.allow_methods), cors.allow_credentials), (vec!["GET".to_owned()], Some(true)));
}

#[test]
fn openapi_paths_with_trailing_slashes_and_parameters_and_a_wildcard_for_every_method() {
    let (dto, _) =
        served(api_from_project(&project_around("openapi/cc-it-trailing_slash.yaml"), &Placement::default()));
    let targets: Vec<String> = operations(&dto).into_iter().map(|(_, target, ..)| target).collect();
    assert_eq!(targets.len(), 8);
    assert!(targets.contains(&"/echo-full/with-slash/{id}/pet/{petId}/".to_owned()), "{targets:?}");
    assert_eq!(urls(&dto, true), ["http://mockBackend:2383/v2"]);
    let (dto, _) =
        served(api_from_project(&project_around("openapi/cc-it-wildcard_all_methods.yaml"), &Placement::default()));
    let verbs: Vec<String> =
        operations(&dto).into_iter().map(|(verb, target, ..)| format!("{verb} {target}")).collect();
    assert_eq!(verbs, ["GET /*", "PUT /*", "POST /*", "DELETE /*", "HEAD /*", "PATCH /*"]);
    assert_eq!(urls(&dto, true), ["http://mockBackend:2383/v2/echo-full"]);
}

// === apiyaml/ ===

fn api_yaml_project(path: &str) -> ApiProject {
    project(&[entry("api.yaml", fixture(path))])
}

#[test]
fn api_yaml_files_refused_for_their_type_policies_or_security() {
    let cases = [
        ("apiyaml/cc-unit-graphql_api.yaml", Refusal::ApiType("GRAPHQL".into())),
        ("apiyaml/cc-unit-ws_api_failover.yaml", Refusal::ApiType("WS".into())),
        ("apiyaml/cc-unit-ws_api_loadbalance.yaml", Refusal::ApiType("WS".into())),
        ("apiyaml/cc-it-mutual_ssl_api.yaml", Refusal::NoClientCertificates),
        (
            "apiyaml/cc-it-api_policies.yaml",
            Refusal::OperationPolicy {
                operation: "POST /echo-full/headers-policy/{id}".into(),
                policy: "ccAddHeader".into(),
            },
        ),
        ("apiyaml/cc-it-default_version_v1.yaml", Refusal::Missing("operations (in api.yaml or Definitions/swagger)")),
    ];
    for (path, expected) in cases {
        assert_eq!(refusal(api_from_project(&api_yaml_project(path), &Placement::default())), expected, "{path}");
    }
}

#[test]
fn api_yaml_mutual_tls_and_api_keys_carry_over_with_the_projects_client_certificates() {
    let certificates = fixture("runtime-artifacts/rec2-client_certificates.json");
    let files = |index: &[u8], crt: &str| {
        vec![
            entry("MutualSSL/api.yaml", fixture("apiyaml/cc-it-mutual_ssl_api.yaml")),
            entry("MutualSSL/Client-certificates/client_certificates.json", index.to_vec()),
            entry(&format!("MutualSSL/Client-certificates/{crt}"), b"-----BEGIN CERTIFICATE-----".to_vec()),
        ]
    };
    let missing = files(&certificates, "mtls-cert1.crt");
    let refused = refusal(api_from_project(&project(&missing), &Placement::default()));
    assert_eq!(refused, Refusal::ClientCertificateFile("mtls-cert2".into()), "mtls-cert2.crt is not in the project");

    let text = String::from_utf8(certificates).unwrap_or_default();
    let one = text.replacen("\"tierName\": \"\"", "\"tierName\": \"Gold\"", 1).replace("mtls-cert2", "mtls-cert1");
    let dto = api_from_project(&project(&files(one.as_bytes(), "mtls-cert1.crt")), &Placement::default());
    let dto = dto.unwrap_or_else(|e| panic!("{e}"));
    let all = ["oauth2", "api_key", "mutualssl", "mutualssl_mandatory", "oauth_basic_auth_api_key_mandatory"];
    assert_eq!(schemes(&dto), all);
    let certificates = dto.client_certificates.clone().unwrap_or_default();
    let shown: Vec<(String, String, Option<String>)> = certificates
        .iter()
        .map(|c| {
            let text = |t: &Option<std::borrow::Cow<'_, str>>| t.as_deref().unwrap_or_default().to_owned();
            (text(&c.alias), text(&c.certificate), c.policy.as_deref().map(str::to_owned))
        })
        .collect();
    let pem = "-----BEGIN CERTIFICATE-----".to_owned();
    assert_eq!(
        shown,
        [("mtls-cert1".into(), pem.clone(), Some("Gold".into())), ("mtls-cert1".into(), pem, None)],
        "each entry with its PEM and its tier as policy"
    );
}

#[test]
fn a_certificate_reference_that_is_a_path_is_refused_by_name() {
    let index = br#"{"type": "client_certificates", "data": [{"alias": "a", "certificate": "../../etc/passwd"}]}"#;
    let files = [
        entry("P/api.yaml", fixture("apiyaml/cc-it-mutual_ssl_api.yaml")),
        entry("P/Client-certificates/client_certificates.json", index.to_vec()),
    ];
    let error = ApiProject::from_files(&files).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("\"../../etc/passwd\"") && error.contains("not a path"), "{error}");
}

#[test]
fn api_yaml_context_that_already_ends_in_the_version_is_not_given_it_twice() {
    let files = vec![
        entry("DefaultVersion/api.yaml", fixture("apiyaml/cc-it-default_version_v1.yaml")),
        entry("DefaultVersion/Definitions/swagger.yaml", fixture("openapi/cc-it-wildcard_all_methods.yaml")),
    ];
    let (dto, api) = served(api_from_project(&project(&files), &Placement::default()));
    assert_eq!(base_paths(&api), ["/defaultVersion/1.0.0"]);
    assert_eq!(dto.id.as_deref(), Some("DefaultVersion:1.0.0"));
    assert_eq!(urls(&dto, true), ["http://mockBackend:2383/v2"], "api.yaml's endpointConfig wins over the definition");
}

#[test]
fn api_yaml_failover_and_load_balanced_endpoints_keep_their_order() {
    let as_http = |path: &str| {
        let text = String::from_utf8(fixture(path)).unwrap_or_default().replace("type: WS", "type: HTTP");
        api_from_project(&api_yaml_project_text(text), &Placement::default())
    };
    // The WS fixtures list no operations: the endpoints are checked before that refusal.
    let failover = as_http("apiyaml/cc-unit-ws_api_failover.yaml");
    assert_eq!(failover.err(), Some(Refusal::Missing("operations (in api.yaml or Definitions/swagger)")));
    let with_op = |path: &str| {
        let text = String::from_utf8(fixture(path)).unwrap_or_default().replace("type: WS", "type: HTTP");
        let text = text.replace("  operations: []", "  operations:\n   - target: /*\n     verb: GET");
        api_from_project(&api_yaml_project_text(text), &Placement::default()).unwrap_or_else(|e| panic!("{e}"))
    };
    let failover = with_op("apiyaml/cc-unit-ws_api_failover.yaml");
    let production = failover.endpoints.as_ref().and_then(|e| e.production.as_ref());
    assert_eq!(production.and_then(|p| p.kind.as_deref()), Some("failover"));
    assert_eq!(urls(&failover, true), ["wss://primary.websocket.org:443", "ws://echo.websocket.org:80"]);
    let balanced = with_op("apiyaml/cc-unit-ws_api_loadbalance.yaml");
    let production = balanced.endpoints.as_ref().and_then(|e| e.production.as_ref());
    assert_eq!(production.and_then(|p| p.kind.as_deref()), Some("load_balance"));
    assert_eq!(urls(&balanced, false), ["wss://primary.websocket.org:443", "ws://echo.websocket.org:80"]);
}

fn api_yaml_project_text(text: String) -> ApiProject {
    project(&[entry("api.yaml", text.into_bytes())])
}

// === apictl/ ===

#[test]
fn apictl_pizzashack_project_maps_with_its_operations_and_endpoints() {
    let files = vec![
        entry("PizzaShackAPI-1.0.0/api.yaml", fixture("apictl/tooling-PizzaShackAPI-1.0.0-api.yaml")),
        entry(
            "PizzaShackAPI-1.0.0/Definitions/swagger.yaml",
            fixture("apictl/tooling-PizzaShackAPI-1.0.0-swagger.yaml"),
        ),
        entry(
            "PizzaShackAPI-1.0.0/deployment_environments.yaml",
            fixture("apictl/tooling-default_deployment_environments.yaml"),
        ),
    ];
    let project = project(&files);
    let placement = Placement::from_deployment_environments(&project.deployment_environments, &["Default"]);
    assert_eq!(placement, Some(Placement::default()), "deployed on Default, no vhost: any host");
    let (dto, api) = served(api_from_project(&project, &placement.unwrap_or_default()));
    assert_eq!(dto.id.as_deref(), Some("39325037-1508-4398-a358-e551927ff075"));
    assert_eq!(base_paths(&api), ["/pizzashack/1.0.0"]);
    assert_eq!(schemes(&dto), ["oauth2", "oauth_basic_auth_api_key_mandatory"], "WSO2's values as they are");
    let unlimited = Some("Unlimited");
    assert_eq!(
        operations(&dto),
        [
            op("POST", "/order", true, &[], unlimited),
            op("GET", "/menu", true, &[], unlimited),
            op("GET", "/order/{orderId}", true, &[], unlimited),
            op("PUT", "/order/{orderId}", true, &[], unlimited),
            op("DELETE", "/order/{orderId}", true, &[], unlimited),
        ]
    );
    let pizzashack = "https://localhost:9443/am/sample/pizzashack/v1/api/";
    assert_eq!((urls(&dto, true), urls(&dto, false)), (vec![pizzashack.to_owned()], vec![pizzashack.to_owned()]));
    assert!(dto.cors.is_none() && dto.throttling_policy.is_none());
}

#[test]
fn apictl_annotated_sample_is_refused_for_its_backend_credentials() {
    let project = api_yaml_project("apictl/tooling-sample-api-annotated-v4.7.0.yaml");
    assert_eq!(project.format_version.as_deref(), Some("v4.7.0"));
    assert_eq!(refusal(api_from_project(&project, &Placement::default())), Refusal::BackendCredentials);
}

#[test]
fn apictl_petstore_project_without_a_definition_is_refused_for_its_missing_operations() {
    let files = vec![
        entry("petstore/api.yaml", fixture("apictl/cc-it-petstore-project-api.yaml")),
        entry(
            "petstore/deployment_environments.yaml",
            fixture("apictl/cc-it-petstore-project-deployment_environments.yaml"),
        ),
    ];
    let project = project(&files);
    assert_eq!(project.deployment_environments.len(), 1);
    let expected = Refusal::Missing("operations (in api.yaml or Definitions/swagger)");
    assert_eq!(refusal(api_from_project(&project, &Placement::default())), expected);
}

#[test]
fn apictl_deployment_environments_give_the_vhosts_of_the_configured_labels() {
    let files = vec![
        entry("api.yaml", fixture("apictl/cc-it-petstore-project-api.yaml")),
        entry("deployment_environments.yaml", fixture("apictl/cc-it-deploy_multiple_env_vhosts.yaml")),
    ];
    let project = project(&files);
    assert_eq!(project.deployment_environments.len(), 4);
    let us_only = [tollgate_adapter::wso2::DeploymentEnvironmentSpec {
        deployment_environment: "US".into(),
        deployment_vhost: Some("localhost".into()),
        display_on_devportal: Some(true),
    }];
    let vhosts =
        |specs: &[_], labels: &[&str]| Placement::from_deployment_environments(specs, labels).map(|p| p.vhosts);
    assert_eq!(vhosts(&us_only, &["us"]), Some(vec!["localhost".to_owned()]));
    assert_eq!(vhosts(&project.deployment_environments, &["Default"]), Some(vec![]), "one Default entry has no vhost");
    assert_eq!(vhosts(&project.deployment_environments, &["EU"]), None);
}

// === runtime-artifacts/ ===

const REC2_FILE: &str = "41013261-67ab-4311-96c8-42d41b6d2257-c4c53097-e00b-4392-b3d7-60117c7cc06c.zip";
const REC1_GRAPHQL_FILE: &str = "69c6ce1d-25ea-4369-ad5c-93b511406cda-86b353ae-a9f4-4231-ba77-d37b3dd73913.zip";
const REC1_PIZZA_FILE: &str = "1ae833a2-03a1-4b41-9f1e-c8d8fb750ece-0a5b1039-9836-4b05-baa8-e06c9b91ebda.zip";
const BASE_FILE: &str = "564d9716-cb27-4e8c-a756-db817f235065-81d19423-83ec-4bf1-9db2-f2122958eff3.zip";

fn zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer.start_file(*name, options).unwrap_or_else(|e| panic!("{e}"));
        writer.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    writer.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

fn rec2_zip() -> Vec<u8> {
    let dir = "PizzaShackAPI-1.0.0";
    let api = zip(&[
        (&format!("{dir}/api.json"), fixture("runtime-artifacts/rec2-PizzaShackAPI-1.0.0-api.json")),
        (
            &format!("{dir}/Definitions/swagger.json"),
            fixture("runtime-artifacts/rec2-PizzaShackAPI-1.0.0-swagger.json"),
        ),
        (
            &format!("{dir}/Endpoint-certificates/endpoint_certificates.json"),
            fixture("runtime-artifacts/rec2-endpoint_certificates.json"),
        ),
        (
            &format!("{dir}/Client-certificates/client_certificates.json"),
            fixture("runtime-artifacts/rec2-client_certificates.json"),
        ),
        (
            &format!("{dir}/Policies/jsonValidator_v1.json"),
            fixture("runtime-artifacts/rec2-policy-jsonValidator_v1.json"),
        ),
    ]);
    zip(&[
        ("deployments.json", fixture("runtime-artifacts/rec2-deployments.json")),
        ("env_properties.json", fixture("runtime-artifacts/rec2-env_properties.json")),
        (REC2_FILE, api),
    ])
}

fn read(bytes: &[u8]) -> RuntimeArtifacts {
    RuntimeArtifacts::from_zip(bytes, ArchiveLimits::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn runtime_artifacts_rec2_reads_its_project_and_refuses_it_for_an_operation_policy() {
    let artifacts = read(&rec2_zip());
    assert_eq!(artifacts.format_version.as_deref(), Some("v4.3.0"));
    assert_eq!(artifacts.apis.len(), 1);
    let deployed = &artifacts.apis[0];
    let placement = deployed.placement(&["default"], &artifacts.env_properties).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(placement.as_ref().map(|p| p.vhosts.clone()), Some(vec!["gw.wso2.com".to_owned()]));
    assert_eq!(deployed.placement(&["Other"], &artifacts.env_properties), Ok(None));
    let project = deployed.project.as_ref().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(project.api.id.as_deref(), Some("41013261-67ab-4311-96c8-42d41b6d2257"));
    assert!(project.definition.as_ref().is_some_and(OpenApi::is_openapi));
    let aliases: Vec<&str> = project.client_certificates.iter().map(|c| c.entry.alias.as_str()).collect();
    assert_eq!(aliases, ["mtls-cert1", "mtls-cert2"]);
    assert_eq!(project.endpoint_certificates.len(), 2);
    assert_eq!(project.policy_files.len(), 1);
    // mutualssl is optional beside a mandatory OAuth2 token: not the refusal; the policy is.
    let expected = Refusal::OperationPolicy { operation: "POST /order".into(), policy: "jsonValidator".into() };
    assert_eq!(refusal(api_from_project(project, &placement.unwrap_or_default())), expected);
}

#[test]
fn runtime_artifacts_rec1_holds_a_graphql_api_and_a_rest_api_with_mediation() {
    let api = |member: &str| zip(&[("X-1.0.0/api.json", fixture(member))]);
    let artifacts = read(&zip(&[
        ("deployments.json", fixture("runtime-artifacts/rec1-deployments-two-apis.json")),
        (REC1_GRAPHQL_FILE, api("runtime-artifacts/rec1-StarWarsAPI-1.0.0-graphql-api.json")),
        (REC1_PIZZA_FILE, api("runtime-artifacts/rec1-PizzaShackAPI-1.0.0-rev-api.json")),
    ]));
    let outcomes: Vec<Refusal> = artifacts
        .apis
        .iter()
        .map(|deployed| {
            refusal(api_from_project(
                deployed.project.as_ref().unwrap_or_else(|e| panic!("{e}")),
                &Placement::default(),
            ))
        })
        .collect();
    let mediation = Refusal::OperationPolicy { operation: "POST /order".into(), policy: "jsonToXML".into() };
    assert_eq!(outcomes, [Refusal::ApiType("GRAPHQL".into()), mediation]);
}

#[test]
fn runtime_artifacts_base_wildcard_api_is_served_on_its_vhost() {
    let deployments = format!(
        r#"{{"type":"deployments","version":"v4.3.0","data":{{"deployments":[{{"apiFile":"{BASE_FILE}",
        "environments":[{{"name":"Default","vhost":"gw.example.com"}}],"organizationId":"carbon.super"}}]}}}}"#
    );
    let inner = "564d9716-cb27-4e8c-a756-db817f235065-81d19423-83ec-4bf1-9db2-f2122958eff3/TestAPI-1.0.0";
    let api = zip(&[
        (&format!("{inner}/api.json"), fixture("runtime-artifacts/base-TestAPI-1.0.0-wildcard-api.json")),
        (
            &format!("{inner}/Definitions/swagger.json"),
            fixture("runtime-artifacts/base-TestAPI-1.0.0-wildcard-swagger.json"),
        ),
    ]);
    let artifacts = read(&zip(&[("deployments.json", deployments.into_bytes()), (BASE_FILE, api)]));
    let deployed = &artifacts.apis[0];
    let placement = deployed.placement(&["Default"], &artifacts.env_properties).ok().flatten().unwrap_or_default();
    let project = deployed.project.as_ref().unwrap_or_else(|e| panic!("{e}"));
    let (dto, api) = served(api_from_project(project, &placement));
    assert_eq!(base_paths(&api), ["/test/1.0.0"]);
    assert_eq!(texts(&dto.vhosts), ["gw.example.com"]);
    assert_eq!(dto.lifecycle_state.as_deref(), Some("PUBLISHED"), "CREATED is served as PUBLISHED");
    let verbs: Vec<String> =
        operations(&dto).into_iter().map(|(verb, target, ..)| format!("{verb} {target}")).collect();
    assert_eq!(verbs, ["GET /*", "PUT /*", "POST /*", "DELETE /*", "PATCH /*"]);
    assert_eq!(urls(&dto, true), ["https://localhost:8080/"]);
}

#[test]
fn runtime_artifacts_env_properties_replace_the_endpoints_of_the_environment() {
    let deployments = format!(
        r#"{{"type":"deployments","data":{{"deployments":[{{"apiFile":"{BASE_FILE}","environments":[{{"name":"Default","vhost":"gw"}}]}}]}}}}"#
    );
    let env = r#"{"type":"env_properties","apis":{"564d9716-cb27-4e8c-a756-db817f235065":{"Default":{"envId":"1","envName":"Default",
        "configs":{"productionEndpoint":"http://prod.internal:8080"}}}}}"#;
    let api = zip(&[("TestAPI-1.0.0/api.json", fixture("runtime-artifacts/base-TestAPI-1.0.0-wildcard-api.json"))]);
    let artifacts = read(&zip(&[
        ("deployments.json", deployments.into_bytes()),
        ("env_properties.json", env.into()),
        (BASE_FILE, api),
    ]));
    let deployed = &artifacts.apis[0];
    let placement = deployed.placement(&["Default"], &artifacts.env_properties).ok().flatten().unwrap_or_default();
    let (dto, _) = served(api_from_project(deployed.project.as_ref().unwrap_or_else(|e| panic!("{e}")), &placement));
    assert_eq!(
        (urls(&dto, true), urls(&dto, false)),
        (vec!["http://prod.internal:8080".to_owned()], vec!["https://localhost:8080/".to_owned()])
    );
}

#[test]
fn a_missing_api_file_or_a_broken_api_json_refuses_that_api_only() {
    let artifacts = read(&zip(&[
        ("deployments.json", fixture("runtime-artifacts/rec1-deployments-two-apis.json")),
        (REC1_PIZZA_FILE, zip(&[("X/api.json", b"{\"type\": \"api\", \"data\": ".to_vec())])),
    ]));
    let errors: Vec<String> =
        artifacts.apis.iter().filter_map(|api| api.project.as_ref().err()).map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0], format!("entry {REC1_GRAPHQL_FILE:?} is missing"));
    assert!(errors[1].starts_with("entry \"X/api.json\" is not valid JSON"), "{}", errors[1]);
}

// === hostile zips ===

/// A zip whose one entry's name is `name`, written under a placeholder of the same length
/// and patched in place (a zip writer would refuse or clean the hostile names).
fn zip_named(name: &[u8]) -> Vec<u8> {
    let placeholder: String = std::iter::repeat_n('p', name.len()).collect();
    let mut bytes = zip(&[(placeholder.as_str(), b"{}".to_vec())]);
    let at: Vec<usize> =
        bytes.windows(name.len()).enumerate().filter(|(_, w)| *w == placeholder.as_bytes()).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 2, "local header and central directory");
    for i in at {
        bytes[i..i + name.len()].copy_from_slice(name);
    }
    bytes
}

fn read_error(bytes: &[u8], limits: ArchiveLimits) -> ArchiveError {
    match RuntimeArtifacts::from_zip(bytes, limits) {
        Ok(_) => panic!("the hostile zip was read"),
        Err(error) => error,
    }
}

#[test]
fn hostile_entry_names_are_refused() {
    let unsafe_name = |name: &str, reason| ArchiveError::UnsafeName { name: name.to_owned(), reason };
    let cases = [
        ("../../etc/passwd", unsafe_name("../../etc/passwd", "a parent (..) segment")),
        ("apis/../../x.json", unsafe_name("apis/../../x.json", "a parent (..) segment")),
        ("/etc/passwd", unsafe_name("/etc/passwd", "absolute")),
        ("..\\..\\evil.json", unsafe_name("..\\..\\evil.json", "a backslash")),
        ("C:/Windows/evil", unsafe_name("C:/Windows/evil", "a drive or scheme prefix")),
    ];
    for (name, expected) in cases {
        assert_eq!(read_error(&zip_named(name.as_bytes()), ArchiveLimits::default()), expected, "{name}");
    }
    let not_utf8 = read_error(&zip_named(b"api\xff\xfe.json"), ArchiveLimits::default());
    assert!(matches!(not_utf8, ArchiveError::NameNotUtf8 { .. }), "{not_utf8}");
}

#[test]
fn a_zip_bomb_is_refused_for_its_compression_ratio() {
    let bomb = zip(&[("deployments.json", vec![b' '; 8 * 1024 * 1024])]);
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    let expected = ArchiveError::CompressionRatio { name: "deployments.json".into(), max: 200 };
    assert_eq!(read_error(&bomb, ArchiveLimits::default()), expected);
}

#[test]
fn size_and_count_bounds_hold_for_entries_totals_and_the_input() {
    let limits =
        ArchiveLimits { max_entries: 3, max_entry_bytes: 1000, max_expanded_bytes: 2500, ..ArchiveLimits::default() };
    let many: Vec<(String, Vec<u8>)> = (0..4).map(|i| (format!("f{i}.json"), b"{}".to_vec())).collect();
    let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    assert_eq!(read_error(&zip(&many), limits), ArchiveError::TooManyEntries { max: 3 });
    let large = zip(&[("big.json", vec![b'a'; 1001])]);
    assert_eq!(read_error(&large, limits), ArchiveError::EntryTooLarge { name: "big.json".into(), max: 1000 });
    let total = zip(&[("a", vec![b'a'; 900]), ("b", vec![b'b'; 900]), ("c", vec![b'c'; 900])]);
    assert_eq!(read_error(&total, limits), ArchiveError::ExpandedTooLarge { max: 2500 });
    let small_input = ArchiveLimits { max_compressed_bytes: 10, ..ArchiveLimits::default() };
    assert!(matches!(read_error(&total, small_input), ArchiveError::TooLarge { max: 10, .. }));
}

#[test]
fn nested_archives_deeper_than_allowed_and_garbage_are_refused() {
    let innermost = zip(&[("x.json", b"{}".to_vec())]);
    let inner = zip(&[("deeper.zip", innermost)]);
    let outer = zip(&[("deployments.json", fixture("runtime-artifacts/rec2-deployments.json")), (REC2_FILE, inner)]);
    assert_eq!(
        read_error(&outer, ArchiveLimits::default()),
        ArchiveError::TooDeep { name: "deeper.zip".into(), max: 1 }
    );
    assert!(matches!(read_error(b"PK\x03\x04 not really", ArchiveLimits::default()), ArchiveError::Unreadable(_)));
    let no_deployments = zip(&[("env_properties.json", b"{}".to_vec())]);
    assert_eq!(
        read_error(&no_deployments, ArchiveLimits::default()),
        ArchiveError::Missing { name: "deployments.json".into() }
    );
    let bad_json = zip(&[("deployments.json", b"{\"type\": ".to_vec())]);
    assert!(matches!(read_error(&bad_json, ArchiveLimits::default()), ArchiveError::Json { .. }));
    let not_text = zip(&[("deployments.json", vec![0xff, 0xfe, 0x00])]);
    assert_eq!(
        read_error(&not_text, ArchiveLimits::default()),
        ArchiveError::TextNotUtf8 { name: "deployments.json".into() }
    );
}

// === events/ ===

#[test]
fn the_notification_fixture_is_an_api_create_of_the_super_tenant() {
    let event = decode_event("notification", &fixture("events/cc-test-notification-API_CREATE.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(event.event_type, "API_CREATE");
    assert_eq!(event.timestamp_ms, Some(1_628_490_908_147));
    assert_eq!((event.tenant.id, event.tenant.domain.as_deref()), (Some(-1234), Some("carbon.super")));
    let api = ApiIdentity {
        uuid: Some("7808af84-6b9a-4c86-953a-4f40f157671f".into()),
        name: Some("MyAPI".into()),
        version: Some("v1".into()),
        context: Some("/myapi/v1".into()),
    };
    assert_eq!(event.change, Change::Api { api, action: Action::Upsert, default_version: false });
    assert!(TenantFilter::default().admits(&event));
    assert!(!TenantFilter::new("wso2.com").admits(&event));
}

#[test]
fn the_token_revocation_fixture_names_the_jti_and_its_expiry() {
    let event = decode_event("tokenRevocation", &fixture("events/cc-test-tokenRevocation.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = Change::TokenRevoked {
        token: "fc8ee897-b3d9-3bb6-a9ca-f4aeb036e5c0".into(),
        expiry_ms: Some(1_628_175_421_481),
    };
    assert_eq!(event.change, expected);
    assert_eq!(event.tenant.id, Some(-1234));
    assert!(TenantFilter::default().admits(&event));
    assert!(!TenantFilter::new("wso2.com").admits(&event));
}

#[test]
fn a_fixture_on_the_wrong_topic_or_cut_short_is_an_error() {
    let body = fixture("events/cc-test-notification-API_CREATE.json");
    assert_eq!(decode_event("audit", &body).err(), Some(EventError::UnexpectedTopic("audit".into())));
    assert!(matches!(decode_event("notification", &body[..body.len() / 2]), Err(EventError::Json(_))));
    assert!(matches!(decode_event("tokenRevocation", &body), Err(EventError::Json(_))), "no revokedToken");
}
