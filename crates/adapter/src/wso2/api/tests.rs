//! API-level refusals and mapping rules, on small documents written here (the fixtures are
//! in tests/wso2_fixtures.rs).

use super::*;
use crate::wso2::archive::Entry;

fn project(api_yaml: &str) -> ApiProject {
    let files = [Entry { name: "api.yaml".into(), bytes: api_yaml.as_bytes().to_vec() }];
    ApiProject::from_files(&files).unwrap_or_else(|e| panic!("{e}"))
}

/// A minimal served api.yaml with `extra` lines added to its `data`.
fn api_yaml(extra: &str) -> String {
    format!(
        "type: api\nversion: v4.3.0\ndata:\n  id: u-1\n  name: Pets\n  version: v1\n  context: /pets\n  \
         endpointConfig:\n    endpoint_type: http\n    production_endpoints:\n      url: http://upstream\n  \
         operations:\n    - target: /pets\n      verb: get\n      authType: Application\n{extra}"
    )
}

fn map(extra: &str) -> Result<ApiDto<'static>, Refusal> {
    api_from_project(&project(&api_yaml(extra)), &Placement::default())
}

#[test]
fn a_minimal_project_maps_with_defaults() {
    let dto = map("").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (dto.id.as_deref(), dto.context.as_deref(), dto.lifecycle_state.as_deref()),
        (Some("u-1"), Some("/pets"), Some("PUBLISHED"))
    );
    let ops = dto.operations.unwrap_or_default();
    assert_eq!((ops[0].verb.as_deref(), ops[0].secured), (Some("GET"), Some(true)), "verbs are upper-cased");
}

#[test]
fn features_without_an_equivalent_refuse_the_api_naming_them() {
    let cases = [
        ("  type: SOAPTOREST\n", Refusal::ApiType("SOAPTOREST".into())),
        ("  endpointImplementationType: INLINE\n", Refusal::Implementation("INLINE".into())),
        ("  mediationPolicies:\n    - name: log\n", Refusal::MediationPolicies),
        ("  apiPolicies:\n    request:\n      - policyName: addHeader\n", Refusal::ApiPolicy("addHeader".into())),
        ("  primaryProductionEndpointId: e-1\n", Refusal::MultipleEndpoints),
        ("  responseCachingEnabled: true\n", Refusal::ResponseCache),
        ("  enableSchemaValidation: true\n", Refusal::SchemaValidation),
        ("  maxTps:\n    production: 10\n", Refusal::BackendThroughput),
        ("  lifeCycleStatus: RETIRED\n", Refusal::Lifecycle("RETIRED".into())),
        ("  securityScheme: [oauth2, basic_auth]\n", Refusal::SecurityScheme("basic_auth".into())),
    ];
    for (extra, expected) in cases {
        assert_eq!(map(extra).err(), Some(expected), "{extra}");
    }
}

#[test]
fn features_that_change_nothing_served_are_ignored() {
    let extra = "  businessInformation:\n    businessOwner: Jane\n  tags: [a]\n  visibility: PUBLIC\n  \
                 responseCachingEnabled: false\n  maxTps: null\n  mediationPolicies: []\n";
    assert!(map(extra).is_ok());
}

#[test]
fn targets_that_match_differently_are_refused() {
    let yaml = api_yaml("").replace("target: /pets", "target: /pets/*/toys");
    let refused = api_from_project(&project(&yaml), &Placement::default()).err();
    assert!(matches!(refused, Some(Refusal::Target { .. })), "{refused:?}");
}

#[test]
fn the_placement_gives_vhosts_and_the_current_default_version() {
    let placement =
        Placement { vhosts: vec!["gw.example.com".into()], is_default_version: Some(true), ..Placement::default() };
    let dto = api_from_project(&project(&api_yaml("  isDefaultVersion: false\n")), &placement)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((dto.is_default_version, dto.vhosts), (Some(true), Some(vec![Text::Borrowed("gw.example.com")])));
}

#[test]
fn cors_is_mapped_only_when_enabled() {
    let cors = "  corsConfiguration:\n    corsConfigurationEnabled: ENABLED\n    accessControlAllowOrigins: ['https://a.example']\n    \
                accessControlAllowCredentials: true\n";
    let enabled = map(&cors.replace("ENABLED", "true")).unwrap_or_else(|e| panic!("{e}")).cors.unwrap_or_default();
    assert_eq!(
        (enabled.allow_origins, enabled.allow_credentials),
        (Some(vec![Text::Borrowed("https://a.example")]), Some(true))
    );
    assert!(map(&cors.replace("ENABLED", "false")).is_ok_and(|dto| dto.cors.is_none()));
}

#[test]
fn a_version_read_as_a_number_keeps_its_text() {
    let yaml = api_yaml("").replace("version: v1", "version: 2");
    let dto = api_from_project(&project(&yaml), &Placement::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dto.version.as_deref(), Some("2"));
}

/// An OpenAPI document with `x-wso2-*` extensions, `extra` added at its root.
fn openapi(extra: &str) -> Result<ApiDto<'static>, Refusal> {
    let yaml = format!(
        "openapi: 3.0.0\ninfo:\n  title: Pets\n  version: v1\nx-wso2-basePath: /pets/v1\n\
         x-wso2-production-endpoints:\n  urls: [http://upstream]\npaths:\n  /pets:\n    get:\n      responses: {{}}\n{extra}"
    );
    let doc = OpenApi::from_file("pets.yaml", yaml.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    api_from_openapi(&doc)
}

#[test]
fn openapi_extensions_that_change_behaviour_refuse_harmless_ones_do_not() {
    let interceptor = "x-wso2-request-interceptor:\n  serviceURL: https://interceptor\n";
    assert_eq!(openapi(interceptor).err(), Some(Refusal::Extension("x-wso2-request-interceptor".into())));
    assert_eq!(openapi("x-wso2-something-new: true\n").err(), Some(Refusal::Extension("x-wso2-something-new".into())));
    assert_eq!(openapi("x-wso2-response-cache:\n  enabled: true\n").err(), Some(Refusal::ResponseCache));
    let http2 = Some(Refusal::Extension("x-wso2-http2-backend-enabled".into()));
    assert_eq!(openapi("x-wso2-http2-backend-enabled: true\n").err(), http2);
    let harmless = "x-wso2-transports: [https]\nx-wso2-response-cache:\n  enabled: false\nx-vendor-note: hi\n\
                    x-wso2-http2-backend-enabled: false\n";
    let dto = openapi(harmless).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((dto.id.as_deref(), dto.context.as_deref()), (Some("Pets:v1"), Some("/pets/{version}")));
}

#[test]
fn openapi_security_schemes_of_http_basic_or_other_types_are_refused() {
    let basic = "security:\n  - basic: []\ncomponents:\n  securitySchemes:\n    basic:\n      type: http\n      scheme: basic\n";
    assert_eq!(openapi(basic).err(), Some(Refusal::SecurityScheme("basic_auth".into())));
    let oidc = "security:\n  - oidc: []\ncomponents:\n  securitySchemes:\n    oidc:\n      type: openIdConnect\n";
    assert_eq!(openapi(oidc).err(), Some(Refusal::SecuritySchemeType("openIdConnect".into(), "oidc".into())));
}

#[test]
fn a_document_without_openapi_or_swagger_key_or_without_info_is_refused() {
    let doc = OpenApi::from_file("x.yaml", b"info:\n  title: T\n  version: v1\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_from_openapi(&doc).err(), Some(Refusal::NotOpenApi));
    let doc = OpenApi::from_file("x.yaml", b"openapi: 3.0.0\ninfo:\n  version: v1\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_from_openapi(&doc).err(), Some(Refusal::Missing("info.title")));
}
