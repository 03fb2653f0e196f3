//! `baton-deploy`: how Baton is packaged and run, and the check that keeps it valid.
//!
//! This crate holds no code. It exists so that `cargo test -p baton-deploy` validates the
//! Kubernetes manifests in `deploy/k8s/` (see `tests/manifests.rs`):
//!
//! - every document of every manifest against the **strict** JSON schema of its kind for
//!   Kubernetes v1.30 (`additionalProperties: false`, so a misspelt field fails), vendored
//!   in `deploy/k8s/schemas/` with their provenance;
//! - deliberately broken copies (unknown field, wrong type, missing required field) are
//!   rejected with an error naming the path, so the check is shown to be able to fail;
//! - `kustomization.yaml` lists every manifest, the StatefulSet's probes hit the paths the
//!   binary serves on its HTTP port, and the gossip Service is headless.
//!
//! Beside it: `deploy/Dockerfile` (the image), `deploy/local-cluster.sh` (three nodes on
//! this machine, no containers) and `deploy/README.md` (how to use all of it).
