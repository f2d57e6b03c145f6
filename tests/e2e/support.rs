//! Shared setup for the end-to-end tests.

use std::fmt::Write;

use tollgate_tests::GatewaySetup;

/// A gateway setup for the `tollgate` binary built with these tests.
pub(crate) fn gateway() -> GatewaySetup {
    GatewaySetup::new(env!("CARGO_BIN_EXE_tollgate"))
}

pub(crate) fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_tollgate")
}

/// A YAML API document with unsecured operations (`"VERB /target"` pairs), one production
/// endpoint with `urls`, and optional extra Api fields (YAML lines at the Api's indentation).
pub(crate) fn api(id: &str, context: &str, urls: &[String], operations: &[&str], extra: &str) -> String {
    let mut yaml = format!(
        "apis:\n  - id: {id}\n    name: {id}\n    version: 1.0.0\n    context: {context}\n    endpoints:\n      production:\n        urls: [{}]\n",
        urls.join(", ")
    );
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(yaml, "    {line}");
    }
    yaml.push_str("    operations:\n");
    for operation in operations {
        let (verb, target) = operation.split_once(' ').unwrap();
        let _ = writeln!(yaml, "      - {{target: \"{target}\", verb: \"{verb}\", secured: false}}");
    }
    yaml
}
