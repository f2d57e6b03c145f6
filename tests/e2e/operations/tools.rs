//! The repository's paths and the external tools the operator-kit tests run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where `.ci/ops-tools.sh` installs Python tools (relative to the repository).
const VENV_BIN: &str = "target/ops-tools/venv/bin";

/// The repository root.
pub(super) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// A file of the repository, read whole.
pub(super) fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The path of `name` on `PATH` or in the ops-tools virtualenv. A missing tool fails the test.
pub(super) fn tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    let venv = repo().join(VENV_BIN).join(name);
    on_path.into_iter().chain([venv]).find(|candidate| candidate.is_file()).unwrap_or_else(|| {
        panic!(
            "`{name}` is missing: this test needs it. Run .ci/ops-tools.sh (it installs curl and \
             promtool with apt, kubernetes-validate with pip into {VENV_BIN}, and checks kubectl)"
        )
    })
}

/// Runs `tool args...` to completion with `stdin`, from the repository root.
pub(super) fn run(name: &str, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut command = Command::new(tool(name));
    command.args(args).current_dir(repo()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).unwrap_or_else(|e| panic!("cannot write to {name}: {e}"));
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{name} did not finish: {e}"))
}

/// Like [`run`], and the exit status must be 0; returns stdout.
pub(super) fn run_ok(name: &str, args: &[&str], stdin: Option<&str>) -> String {
    let output = run(name, args, stdin);
    assert!(
        output.status.success(),
        "{name} {} failed ({}):\n{}{}",
        args.join(" "),
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A YAML stream (one or more `---`-separated documents) as JSON values.
pub(super) fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("bad YAML: {e}\n{text}"));
    documents.into_iter().filter(|document| !document.is_null()).collect()
}
