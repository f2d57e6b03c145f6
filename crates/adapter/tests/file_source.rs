//! The file source: merging, broken files, hot reload, removal, `tollgate check`.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tollgate_adapter::source::check_directory;
use tollgate_adapter::validate::ValidationSettings;
use tollgate_adapter::{EngineSettings, EntityKind, FileSource, SourceError, SourceKind};

use common::{applier, engine};

fn api_yaml(id: &str, context: &str) -> String {
    format!(
        "- id: {id}\n  name: {id}\n  version: v1\n  context: {context}\n  endpoints:\n    production:\n      urls: [\"http://127.0.0.1:9001\"]\n  operations:\n    - target: /*\n      verb: \"*\"\n"
    )
}

fn write(dir: &Path, name: &str, content: &str) {
    fs::write(dir.join(name), content).unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn served_ids(source: &FileSource, applier: &tollgate_adapter::Applier) -> Vec<String> {
    let _ = source;
    let snapshot = applier.store().load();
    snapshot.map(|s| s.routes.apis().map(|api| api.id().to_string()).collect()).unwrap_or_default()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn files_merge_in_name_order_and_later_duplicates_are_rejected() {
    let dir = tempdir();
    write(dir.path(), "10-apis.yaml", &format!("apis:\n{}", api_yaml("a", "/a")));
    write(
        dir.path(),
        "20-more.json",
        r#"{"apis": [], "applications": [{"id": "app"}],
        "subscriptions": [{"id": "s", "apiId": "a", "applicationId": "app", "status": "UNBLOCKED"}]}"#,
    );
    write(dir.path(), "30-dup.yml", &format!("apis:\n{}{}", api_yaml("a", "/dup"), api_yaml("b", "/b")));
    write(dir.path(), ".hidden.yaml", "apis: [oops");
    write(dir.path(), "notes.txt", "not configuration");
    let applier = applier(SourceKind::File);
    let source =
        FileSource::new(dir.path(), engine(&applier, EngineSettings::default())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.load_once().ok(), Some(Some(1)));
    assert_eq!(served_ids(&source, &applier), ["a", "b"]);
    let status = applier.status().load();
    assert_eq!(status.entities[EntityKind::Subscription], 1);
    let errors: Vec<_> = status.rejected.iter().map(|r| r.error.as_str()).collect();
    assert_eq!(errors, ["30-dup.yml: api \"a\": defined more than once in the same update; the later one is rejected"]);
    assert_eq!(source.load_once().ok(), Some(None), "nothing changed: no new revision");
}

#[test]
fn a_broken_file_is_rejected_while_the_others_serve() {
    let dir = tempdir();
    write(dir.path(), "a.yaml", &format!("apis:\n{}", api_yaml("a", "/a")));
    write(dir.path(), "b.yaml", &format!("apis:\n{}", api_yaml("b", "/b")));
    let applier = applier(SourceKind::File);
    let source =
        FileSource::new(dir.path(), engine(&applier, EngineSettings::default())).unwrap_or_else(|e| panic!("{e}"));
    assert!(source.load_once().is_ok());
    write(dir.path(), "b.yaml", "apis: [unclosed");
    write(dir.path(), "c.json", "{\"apis\": [}");
    assert_eq!(source.load_once().ok(), Some(Some(2)));
    assert_eq!(served_ids(&source, &applier), ["a", "b"], "b's last good version stays");
    let status = applier.status().load();
    let rejected: Vec<_> = status.rejected.iter().map(|r| (r.entity, r.id.as_str())).collect();
    assert_eq!(rejected, [(EntityKind::Document, "b.yaml"), (EntityKind::Document, "c.json")]);
    assert_eq!(status.rejected[0].error, "b.yaml: unclosed bracket '[' at line 1, column 7");
    assert!(status.rejected[1].error.starts_with("c.json: apis[0]: expected value"), "{:?}", status.rejected[1]);
    fs::remove_file(dir.path().join("b.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.load_once().ok(), Some(Some(3)));
    assert_eq!(served_ids(&source, &applier), ["a"], "removing a file undeploys its APIs");
}

#[test]
fn a_key_the_model_does_not_have_rejects_its_file_naming_it_and_the_nearest_known_key() {
    let dir = tempdir();
    write(dir.path(), "a.yaml", &format!("apis:\n{}", api_yaml("a", "/a")));
    write(dir.path(), "b.json", r#"{"applications": [{"id": "app"}]}"#);
    let applier = applier(SourceKind::File);
    let source =
        FileSource::new(dir.path(), engine(&applier, EngineSettings::default())).unwrap_or_else(|e| panic!("{e}"));
    assert!(source.load_once().is_ok());
    let scoped = api_yaml("a", "/a").replace("verb: \"*\"\n", "verb: \"*\"\n      scope: [admin]\n");
    write(dir.path(), "a.yaml", &format!("apis:\n{scoped}  contxt: /a\n"));
    write(dir.path(), "b.json", r#"{"application": [{"id": "app", "polcy": "Gold"}]}"#);
    assert_eq!(source.load_once().ok(), Some(Some(2)));
    assert_eq!(served_ids(&source, &applier), ["a"], "the last version without the misspelt keys stays");
    let status = applier.status().load();
    let errors: Vec<_> = status.rejected.iter().map(|r| (r.entity, r.error.as_str())).collect();
    assert_eq!(
        errors,
        [
            (
                EntityKind::Document,
                "a.yaml: api \"a\": contxt: unknown key; did you mean `context`?; \
                 api \"a\": operations[0].scope: unknown key; did you mean `scopes`?"
            ),
            (EntityKind::Document, "b.json: application: unknown key; did you mean `applications`?"),
        ]
    );
}

#[test]
fn a_missing_directory_is_a_startup_error() {
    let dir = tempdir();
    let missing = dir.path().join("nope");
    let error = FileSource::new(&missing, engine(&applier(SourceKind::File), EngineSettings::default())).err();
    assert!(matches!(error, Some(SourceError::Directory { .. })), "{error:?}");
    let file = dir.path().join("file.yaml");
    write(dir.path(), "file.yaml", "");
    assert!(matches!(
        FileSource::new(&file, engine(&applier(SourceKind::File), EngineSettings::default())),
        Err(SourceError::NotADirectory(_))
    ));
    let report = check_directory(&missing, ValidationSettings::default());
    assert!(!report.is_ok());
    assert_eq!(report.errors[0].entity, EntityKind::Document);
}

#[test]
fn check_reports_what_would_be_served_and_every_error() {
    let dir = tempdir();
    let mut api = api_yaml("pets", "/pets");
    api.push_str("  isDefaultVersion: true\n  vhosts: [API.example.com]\n");
    write(dir.path(), "a.yaml", &format!("apis:\n{api}{}", api_yaml("bad", "no-slash")));
    write(dir.path(), "b.yaml", "apis: [");
    let report = check_directory(dir.path(), ValidationSettings::default());
    assert_eq!(report.apis.len(), 1);
    let pets = &report.apis[0];
    assert_eq!((pets.name.as_str(), pets.version.as_str()), ("pets", "v1"));
    assert_eq!(pets.base_paths, ["/pets/v1", "/pets"]);
    assert_eq!(pets.vhosts, ["api.example.com"]);
    let errors: Vec<_> = report.errors.iter().map(|r| r.error.as_str()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("b.yaml: "), "{errors:?}");
    assert_eq!(errors[1], "a.yaml: api \"bad\": context: must start with '/'");
    let text = report.to_string();
    assert!(text.contains("pets v1 at /pets/v1, /pets on api.example.com"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_are_hot_reloaded() {
    let dir = tempdir();
    write(dir.path(), "apis.yaml", &format!("apis:\n{}", api_yaml("a", "/a")));
    let applier = applier(SourceKind::File);
    let source = Arc::new(
        FileSource::new(dir.path(), engine(&applier, EngineSettings::default())).unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(source.load_once().is_ok());
    let watch = source.clone().spawn_watch().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "apis.yaml", &format!("apis:\n{}{}", api_yaml("a", "/a"), api_yaml("b", "/b")));
    wait_until("the edit is served", || served_ids(&source, &applier) == ["a", "b"]).await;
    fs::remove_file(dir.path().join("apis.yaml")).unwrap_or_else(|e| panic!("{e}"));
    wait_until("the removal is served", || served_ids(&source, &applier).is_empty()).await;
    assert!(applier.status().load().revision >= Some(3), "each applied change is a new revision");
    watch.stop();
}

/// Polls `done` until it holds, failing after a generous bound (no fixed sleeps as assertions).
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[test]
fn model_fields_not_served_yet_are_known_keys_not_misspelt_ones() {
    let dir = tempdir();
    let fields = "  apiKeyHeader: x-api-key\n  backendJwt: false\n  clientCertificates: [{alias: partner, certificate: pem, policy: Gold}]\n";
    write(dir.path(), "a.yaml", &format!("apis:\n{}{fields}", api_yaml("a", "/a")));
    let report = check_directory(dir.path(), ValidationSettings::default());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.apis.len(), 1);
    write(dir.path(), "a.yaml", &format!("apis:\n{}  clientCertificates: [{{alais: partner}}]\n", api_yaml("a", "/a")));
    let errors: Vec<String> =
        check_directory(dir.path(), ValidationSettings::default()).errors.into_iter().map(|e| e.error).collect();
    assert_eq!(errors, ["a.yaml: api \"a\": clientCertificates[0].alais: unknown key; did you mean `alias`?"]);
}

// === WSO2 definitions ===

fn fixture(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wso2").join(path);
    fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `dir/name/` as an apictl project: each `(file, text)` under it.
fn project(dir: &Path, name: &str, files: &[(&str, String)]) {
    for (file, text) in files {
        let path = dir.join(name).join(file);
        fs::create_dir_all(path.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("{e}"));
        fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

fn pizzashack(dir: &Path) {
    project(
        dir,
        "PizzaShackAPI-1.0.0",
        &[
            ("api.yaml", fixture("apictl/tooling-PizzaShackAPI-1.0.0-api.yaml")),
            ("Definitions/swagger.yaml", fixture("apictl/tooling-PizzaShackAPI-1.0.0-swagger.yaml")),
            ("deployment_environments.yaml", fixture("apictl/tooling-default_deployment_environments.yaml")),
        ],
    );
}

#[test]
fn wso2_projects_and_openapi_documents_serve_beside_model_documents_and_refusals_name_file_and_feature() {
    let dir = tempdir();
    write(dir.path(), "model.yaml", &format!("apis:\n{}", api_yaml("a", "/a")));
    pizzashack(dir.path());
    write(dir.path(), "export.yaml", &fixture("openapi/tooling-apim-export-openAPI3-scopes-bindings.yaml"));
    write(dir.path(), "backend.yaml", &fixture("openapi/cc-it-backend_security.yaml"));
    project(dir.path(), "graphql", &[("api.yaml", fixture("apiyaml/cc-unit-graphql_api.yaml"))]);
    fs::create_dir(dir.path().join("not-a-project")).unwrap_or_else(|e| panic!("{e}"));
    let applier = applier(SourceKind::File);
    let source =
        FileSource::new(dir.path(), engine(&applier, EngineSettings::default())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.load_once().ok(), Some(Some(1)));
    let mut served = served_ids(&source, &applier);
    served.sort();
    assert_eq!(served, ["39325037-1508-4398-a358-e551927ff075", "Swagger Petstore New:1.0.0", "a"]);
    let status = applier.status().load();
    let rejected: Vec<_> = status.rejected.iter().map(|r| (r.entity, r.id.as_str(), r.error.as_str())).collect();
    assert_eq!(
        rejected,
        [
            (
                EntityKind::Api,
                "backend.yaml",
                "backend.yaml: WSO2 OpenAPI definition: backend credentials (endpoint security) are not supported yet"
            ),
            (
                EntityKind::Api,
                "graphql/",
                "graphql/: WSO2 apictl project: API type GRAPHQL is not supported (only HTTP/REST APIs are served)"
            ),
        ]
    );
}

#[test]
fn a_changed_definition_remaps_its_project_and_a_refused_change_keeps_the_last_good_version() {
    let dir = tempdir();
    pizzashack(dir.path());
    let applier = applier(SourceKind::File);
    let source =
        FileSource::new(dir.path(), engine(&applier, EngineSettings::default())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.load_once().ok(), Some(Some(1)));
    let operations = |applier: &tollgate_adapter::Applier| {
        let snapshot = applier.store().load();
        snapshot.map(|s| s.routes.apis().map(|api| api.operations.len()).sum::<usize>()).unwrap_or_default()
    };
    assert_eq!(operations(&applier), 5);
    let api_yaml = dir.path().join("PizzaShackAPI-1.0.0/api.yaml");
    let text = fixture("apictl/tooling-PizzaShackAPI-1.0.0-api.yaml");
    fs::write(&api_yaml, text.replace("securityScheme:", "securityScheme:\n   - basic_auth"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.load_once().ok(), Some(Some(2)));
    assert_eq!(operations(&applier), 5, "the last good version stays served");
    let status = applier.status().load();
    assert_eq!(status.rejected.len(), 1);
    assert!(status.rejected[0].error.ends_with("security scheme basic_auth is not supported"), "{:?}", status.rejected);
    fs::write(&api_yaml, fixture("apictl/tooling-PizzaShackAPI-1.0.0-api.yaml")).unwrap_or_else(|e| panic!("{e}"));
    // A change of the definition alone re-maps the project too.
    let swagger = dir.path().join("PizzaShackAPI-1.0.0/Definitions/swagger.yaml");
    let definition = fixture("apictl/tooling-PizzaShackAPI-1.0.0-swagger.yaml");
    fs::write(&swagger, definition.replace("x-wso2-basePath", "x-wso2-request-interceptor: {}\nx-wso2-basePath"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.load_once().ok(), Some(Some(3)));
    let status = applier.status().load();
    assert!(
        status.rejected.iter().any(|r| r.error.ends_with("extension x-wso2-request-interceptor is not supported")),
        "{:?}",
        status.rejected
    );
}

#[test]
fn check_shows_what_each_wso2_input_became() {
    let dir = tempdir();
    pizzashack(dir.path());
    write(dir.path(), "backend.yaml", &fixture("openapi/cc-it-backend_security.yaml"));
    let report = check_directory(dir.path(), ValidationSettings::default());
    let shown = report.to_string();
    assert!(!report.is_ok(), "a refusal is an error of the report");
    assert!(
        shown.contains(
            "PizzaShackAPI-1.0.0/ (apictl project): api \"39325037-1508-4398-a358-e551927ff075\" at /pizzashack/1.0.0"
        ),
        "{shown}"
    );
    assert!(shown.contains("    security: oauth2, oauth_basic_auth_api_key_mandatory\n"), "{shown}");
    assert!(shown.contains("    GET /menu secured, tier Unlimited\n"), "{shown}");
    assert!(
        shown.contains("    production: https://localhost:9443/am/sample/pizzashack/v1/api/ (load_balance)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  backend.yaml (OpenAPI definition): refused: backend credentials (endpoint security) are not supported yet"),
        "{shown}"
    );
    assert_eq!(report.wso2.len(), 2);
}

#[test]
fn hostile_wso2_inputs_are_rejected_by_name_while_the_rest_serves() {
    let dir = tempdir();
    write(dir.path(), "model.yaml", &format!("apis:\n{}", api_yaml("a", "/a")));
    let deep = format!("{{\"openapi\": \"3.0.0\", \"x\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    write(dir.path(), "deep.json", &deep);
    write(
        dir.path(),
        "aliases.yaml",
        "openapi: 3.0.0\na: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
    );
    project(dir.path(), "big", &[("api.yaml", "type: api\n".to_owned())]);
    let big = fs::File::create(dir.path().join("big/Definitions.json")).unwrap_or_else(|e| panic!("{e}"));
    big.set_len(5 * 1024 * 1024).unwrap_or_else(|e| panic!("{e}"));
    project(dir.path(), "latin1", &[("api.yaml", "type: api\n".to_owned())]);
    fs::write(dir.path().join("latin1/api.yaml"), b"type: api\ndata: {name: caf\xe9}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    #[cfg(unix)]
    {
        project(dir.path(), "loop", &[("api.yaml", "type: api\n".to_owned())]);
        std::os::unix::fs::symlink(dir.path().join("loop"), dir.path().join("loop/Definitions"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let applier = applier(SourceKind::File);
    let source =
        FileSource::new(dir.path(), engine(&applier, EngineSettings::default())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.load_once().ok(), Some(Some(1)));
    assert_eq!(served_ids(&source, &applier), ["a"]);
    let status = applier.status().load();
    let errors: Vec<&str> = status.rejected.iter().map(|r| r.error.as_str()).collect();
    let has = |prefix: &str, part: &str| errors.iter().any(|e| e.starts_with(prefix) && e.contains(part));
    assert!(has("big/: ", "Definitions.json is 5242880 bytes; the limit is 4194304"), "{errors:?}");
    assert!(has("latin1/: ", "\"api.yaml\" is not valid UTF-8 text"), "{errors:?}");
    assert!(has("deep.json: ", "recursion limit"), "{errors:?}");
    assert!(has("aliases.yaml: ", "alias"), "{errors:?}");
    #[cfg(unix)]
    assert!(has("loop/: ", "Definitions: symbolic links to directories are not followed"), "{errors:?}");
}
