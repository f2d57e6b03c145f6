use super::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap_or(path)).unwrap_or_else(|e| panic!("{e}"));
    fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn a_project_is_a_directory_with_an_api_file_and_its_files_are_named_relative_to_it() {
    let dir = tempdir();
    write(&dir.path().join("api.json"), "{}");
    write(&dir.path().join("Definitions/swagger.yaml"), "openapi: 3.0.0");
    assert!(is_project(dir.path()));
    let names: Vec<String> = read_project(dir.path()).unwrap_or_default().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["Definitions/swagger.yaml", "api.json"]);
    assert!(!is_project(&dir.path().join("Definitions")));
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_to_a_directory_is_not_followed_so_a_loop_ends() {
    let dir = tempdir();
    write(&dir.path().join("api.yaml"), "type: api");
    std::os::unix::fs::symlink(dir.path(), dir.path().join("Definitions")).unwrap_or_else(|e| panic!("{e}"));
    let error = read_project(dir.path()).err().map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("Definitions: symbolic links to directories are not followed"));
}

#[test]
fn depth_file_count_and_sizes_are_bounded() {
    let dir = tempdir();
    let deep = (0..=PROJECT_LIMITS.max_depth).map(|i| format!("d{i}")).collect::<Vec<_>>().join("/");
    write(&dir.path().join(&deep).join("x.yaml"), "");
    let error = read_project(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.ends_with(&format!("nested more than {} directories deep", PROJECT_LIMITS.max_depth)), "{error}");

    let dir = tempdir();
    for i in 0..=PROJECT_LIMITS.max_files {
        write(&dir.path().join(format!("f{i}")), "");
    }
    assert!(matches!(read_project(dir.path()), Err(ProjectError::TooManyFiles { .. })));

    let dir = tempdir();
    let big = fs::File::create(dir.path().join("big.json")).unwrap_or_else(|e| panic!("{e}"));
    big.set_len(PROJECT_LIMITS.max_file_bytes + 1).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(read_project(dir.path()), Err(ProjectError::FileTooLarge { .. })));

    let dir = tempdir();
    for i in 0..5 {
        let file = fs::File::create(dir.path().join(format!("part{i}"))).unwrap_or_else(|e| panic!("{e}"));
        file.set_len(PROJECT_LIMITS.max_file_bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(matches!(read_project(dir.path()), Err(ProjectError::TooLarge { .. })));
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let name = std::ffi::OsStr::from_bytes(b"bad\xff.crt");
    write(&dir.path().join(name), "x");
    let error = read_project(dir.path()).err().map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("bad\u{fffd}.crt: a file name that is not UTF-8"));
}

#[test]
fn only_documents_with_a_top_level_openapi_or_swagger_key_are_openapi() {
    assert!(is_openapi("a.yaml", b"openapi: 3.0.1\ninfo: {title: t}\n"));
    assert!(is_openapi("a.json", br#"{"swagger": "2.0"}"#));
    assert!(!is_openapi("a.yaml", b"apis: []\n"));
    assert!(!is_openapi("a.yaml", b"info:\n  openapi: 3.0.0\n"), "only at the top");
    assert!(!is_openapi("a.yaml", b"\xff\xfe"), "not UTF-8: left to the model's decoder");
    assert!(!is_openapi("a.yaml", b""));
}

#[test]
fn a_mapped_api_is_handed_over_without_absent_fields() {
    let mapping = Wso2Mapping::of_openapi(
        "p.yaml",
        b"openapi: 3.0.0\ninfo: {title: P, version: '1'}\nx-wso2-basePath: /p/1\nservers: [{url: 'http://up:1'}]\npaths: {/x: {get: {}}}\n",
    );
    let document = mapping.document("p.yaml").unwrap_or_else(|e| panic!("{e:?}"));
    let value = document.apis[0].value().map(|v| v.into_owned()).unwrap_or_default();
    assert_eq!(value["id"], "P:1");
    assert!(value.get("cors").is_none() && value["operations"][0].get("throttlingPolicy").is_none(), "{value}");
}

#[test]
fn a_wso2_envelope_is_told_apart_from_a_model_document() {
    assert_eq!(wso2_envelope("a.json", br#"{"type": "deployments", "data": {}}"#), Some("deployments".to_owned()));
    assert_eq!(wso2_envelope("api.yaml", b"type: api\ndata: {name: x}\n"), Some("api".to_owned()));
    assert_eq!(wso2_envelope("a.yaml", b"apis: []\n"), None);
}
