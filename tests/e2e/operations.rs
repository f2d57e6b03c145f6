//! The operator kit (operator.md; GitHub issue 6), checked for real: the metrics on a scrape
//! after traffic (`promtool check metrics`), `tollgate demo` driven by its own printed `curl`
//! commands, the container files run the way they say, the Kubernetes manifests rendered
//! (`kubectl kustomize`) and validated against the Kubernetes schemas, the alert rules
//! (`promtool check rules` / `test rules`), the dashboard's PromQL against what the gateway
//! exports, a rolling restart behind a readiness-aware balancer, and the examples of the
//! API-definition reference loaded by the file source's own check.
//!
//! Tools come from `.ci/ops-tools.sh`; a missing one fails the test that needs it, saying so.

mod definitions;
mod demo;
mod docker;
mod docs;
mod exposition;
mod kubernetes;
mod memory;
mod metrics;
mod monitoring;
mod promql;
mod rolling;
mod tools;
mod traffic;
