//! Reading the manifests and validating one document against the vendored strict
//! Kubernetes schemas (`deploy/k8s/schemas/`, see its README for provenance).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Registry};
use serde::Deserialize as _;
use serde_json::Value;

/// `deploy/k8s`.
pub fn k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("k8s")
}

/// The repository root (for reading the router's source).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("deploy/ has a parent")
        .to_path_buf()
}

/// Every `*.yaml` in `deploy/k8s` except `kustomization.yaml`, sorted by name.
pub fn manifest_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(k8s_dir())
        .expect("deploy/k8s is readable")
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .into_string()
                .expect("UTF-8 file name")
        })
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    names.sort();
    names
}

/// Reads `deploy/k8s/<name>`.
pub fn read(name: &str) -> String {
    let path = k8s_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every non-empty YAML document of `text`, as JSON. Duplicate keys are an error (as
/// for `kubectl`), which going through `serde_norway::Value` enforces.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let yaml = serde_norway::Value::deserialize(document)
            .map_err(|e| format!("document {index}: {e}"))?;
        if yaml.is_null() {
            continue;
        }
        let json = serde_json::to_value(&yaml)
            .map_err(|e| format!("document {index}: not representable as JSON: {e}"))?;
        docs.push(json);
    }
    Ok(docs)
}

/// The documents of `deploy/k8s/<name>`; panics on a parse error.
pub fn documents(name: &str) -> Vec<Value> {
    parse_documents(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The vendored schemas: `_definitions.json` (registered under its `$id`, which every
/// kind schema's `$ref`s resolve to) and one file per kind.
pub struct Schemas {
    registry: Registry<'static>,
    dir: PathBuf,
}

impl Schemas {
    /// The `$id` of `_definitions.json`; kind schemas refer to `/api/_definitions.json#/...`
    /// relative to their own `https://kubernetes.io/api/...` ids.
    const DEFINITIONS_ID: &'static str = "https://kubernetes.io/api/_definitions.json";

    /// Loads `deploy/k8s/schemas/_definitions.json`.
    pub fn load() -> Schemas {
        let dir = k8s_dir().join("schemas");
        let definitions = read_json(&dir.join("_definitions.json"));
        let registry = Registry::new()
            .add(Self::DEFINITIONS_ID, definitions)
            .expect("definitions register")
            .prepare()
            .expect("definitions prepare");
        Schemas { registry, dir }
    }

    /// `statefulset-apps-v1.json` for `apps/v1` `StatefulSet`: the naming of
    /// kubernetes-validate (the API group without its domain, then the version).
    pub fn file_name(api_version: &str, kind: &str) -> String {
        let group_version = match api_version.split_once('/') {
            Some((group, version)) => {
                let group = group.split('.').next().unwrap_or(group);
                format!("{group}-{version}")
            }
            None => api_version.to_owned(),
        };
        format!("{}-{group_version}.json", kind.to_ascii_lowercase())
    }

    /// Every violation of `doc`, each as `<JSON pointer>: <message>`; an error too when the
    /// document has no `apiVersion`/`kind` or its kind has no vendored schema.
    pub fn validate(&self, doc: &Value) -> Result<(), Vec<String>> {
        let (Some(api_version), Some(kind)) = (
            doc.get("apiVersion").and_then(Value::as_str),
            doc.get("kind").and_then(Value::as_str),
        ) else {
            return Err(vec!["(root): apiVersion and kind are required".into()]);
        };
        let path = self.dir.join(Self::file_name(api_version, kind));
        if !path.is_file() {
            return Err(vec![format!(
                "(root): no vendored schema for {api_version} {kind} ({}); add it as \
                 deploy/k8s/schemas/README.md says",
                path.display()
            )]);
        }
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .build(&read_json(&path))
            .unwrap_or_else(|e| panic!("{}: schema does not compile: {e}", path.display()));
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "(root)".into() } else { at };
                format!("{at}: {e}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Objects by `kind`, for the checks on particular manifests.
pub fn by_kind(docs: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for doc in docs {
        let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
        map.entry(kind).or_default().push(doc.clone());
    }
    map
}
