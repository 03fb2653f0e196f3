//! `baton-deploy`: how Baton is packaged, run and watched, and the checks that keep it valid.
//!
//! The library is small: [`monitoring`] reads the Grafana dashboard
//! (`deploy/grafana/baton.json`) and the Prometheus rule files
//! (`deploy/prometheus/*.yml`) and extracts the metric names their PromQL references,
//! so tests can hold them against a real node's `/metrics`
//! (`runtime/tests/metrics_coverage.rs`).
//!
//! The tests (`cargo test -p baton-deploy`):
//!
//! - `tests/manifests.rs`: every document of every Kubernetes manifest in `deploy/k8s/`
//!   against the **strict** JSON schema of its kind for Kubernetes v1.30
//!   (`additionalProperties: false`, so a misspelt field fails), vendored in
//!   `deploy/k8s/schemas/` with their provenance; deliberately broken copies are rejected
//!   with an error naming the path; `kustomization.yaml` lists every manifest, the
//!   StatefulSet's probes hit the paths the binary serves, the gossip Service is headless.
//! - `tests/prometheus.rs`: `promtool check rules` and `promtool test rules` (every alert
//!   fired from synthetic series), every alert tested and given a runbook entry in
//!   `docs/OPERATIONS.md`, every dashboard query valid PromQL, every recorded series used
//!   defined.
//!
//! Beside it: `deploy/Dockerfile` (the image), `deploy/image-test.sh` (the image built and
//! run here), `deploy/local-cluster.sh` (three nodes on this machine, no containers) and
//! `deploy/README.md` (how to use all of it).

pub mod monitoring;

/// Why an artifact could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Not valid YAML, or not the shape of a rule file.
    #[error("YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// Valid JSON of the wrong shape.
    #[error("{0}")]
    Shape(String),
}
