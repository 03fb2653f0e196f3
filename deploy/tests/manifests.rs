//! `deploy/k8s` against the strict Kubernetes v1.30 schemas vendored in
//! `deploy/k8s/schemas/`, plus the facts the schemas cannot know: which paths and port
//! the binary serves, what the kustomization lists, how the objects refer to each other.

#[path = "manifests/schema.rs"]
mod schema;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use schema::{by_kind, documents, manifest_files, parse_documents, read, Schemas};

/// The port `baton serve` listens on in the cluster (`BATON_LISTEN` in configmap.yaml).
const HTTP_PORT: u64 = 7600;
/// The UDP port chitchat gossip binds.
const GOSSIP_PORT: u64 = 7946;

fn all_documents() -> Vec<Value> {
    manifest_files().iter().flat_map(|f| documents(f)).collect()
}

fn only(docs: &[Value], kind: &str, name: &str) -> Value {
    let found: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "exactly one {kind} {name}");
    found[0].clone()
}

fn statefulset() -> Value {
    only(&documents("statefulset.yaml"), "StatefulSet", "baton")
}

fn container(sts: &Value) -> Value {
    let containers = sts["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    containers[0].clone()
}

/// Validation errors of a deliberately broken document; panics if it passes.
fn rejected(schemas: &Schemas, doc: &Value) -> Vec<String> {
    match schemas.validate(doc) {
        Ok(()) => panic!("a broken document passed validation: {doc:#}"),
        Err(errors) => errors,
    }
}

fn assert_names(errors: &[String], path: &str, word: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(path) && e.contains(word)),
        "expected an error at {path} mentioning {word}, got {errors:#?}"
    );
}

#[test]
fn every_manifest_validates_against_the_strict_schemas() {
    let schemas = Schemas::load();
    let mut failures = Vec::new();
    let mut kinds = BTreeSet::new();
    let mut schema_files_used = BTreeSet::new();
    for file in manifest_files() {
        let docs = documents(&file);
        assert!(!docs.is_empty(), "{file} has no document");
        for (i, doc) in docs.iter().enumerate() {
            let (api, kind) = (doc["apiVersion"].as_str(), doc["kind"].as_str());
            if let (Some(api), Some(kind)) = (api, kind) {
                kinds.insert(kind.to_owned());
                schema_files_used.insert(Schemas::file_name(api, kind));
            }
            if let Err(errors) = schemas.validate(doc) {
                failures.extend(errors.into_iter().map(|e| format!("{file}[{i}] {e}")));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "invalid manifests:\n{}",
        failures.join("\n")
    );
    let expected = [
        "ConfigMap",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "StatefulSet",
    ];
    assert_eq!(kinds, expected.map(String::from).into(), "kinds present");
    // No stale vendored schema: each kind file is used by some manifest.
    let vendored: BTreeSet<String> = std::fs::read_dir(schema::k8s_dir().join("schemas"))
        .expect("schemas dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
        .filter(|n| n.ends_with(".json") && n != "_definitions.json")
        .collect();
    assert_eq!(
        vendored, schema_files_used,
        "vendored kind schemas = used kinds"
    );
}

#[test]
fn unknown_field_is_rejected_with_its_path() {
    let schemas = Schemas::load();
    // A typo in the YAML text, as an operator would make it.
    let text = read("statefulset.yaml").replacen("readinessProbe:", "readinesProbe:", 1);
    let doc = &parse_documents(&text).expect("still YAML")[0];
    let errors = rejected(&schemas, doc);
    assert_names(&errors, "/spec/template/spec/containers/0", "readinesProbe");

    let mut doc = statefulset();
    doc["spec"]["template"]["spec"]["securityContext"]["runAsNonroot"] = json!(true);
    let errors = rejected(&schemas, &doc);
    assert_names(
        &errors,
        "/spec/template/spec/securityContext",
        "runAsNonroot",
    );
}

#[test]
fn wrong_type_is_rejected_with_its_path() {
    let schemas = Schemas::load();
    let mut doc = statefulset();
    doc["spec"]["replicas"] = json!("three");
    assert_names(&rejected(&schemas, &doc), "/spec/replicas", "three");

    // The classic ConfigMap mistake: an unquoted YAML boolean where strings are required.
    let text = read("configmap.yaml").replace(
        "BATON_CLUSTER__ENABLED: \"true\"",
        "BATON_CLUSTER__ENABLED: true",
    );
    let doc = &parse_documents(&text).expect("still YAML")[0];
    assert_names(
        &rejected(&schemas, doc),
        "/data/BATON_CLUSTER__ENABLED",
        "true",
    );

    let mut doc = container(&statefulset());
    doc["ports"][0]["containerPort"] = json!("7600");
    let mut sts = statefulset();
    sts["spec"]["template"]["spec"]["containers"][0] = doc;
    assert_names(
        &rejected(&schemas, &sts),
        "/spec/template/spec/containers/0/ports/0/containerPort",
        "7600",
    );
}

#[test]
fn missing_required_field_is_rejected_with_its_path() {
    let schemas = Schemas::load();
    let mut doc = statefulset();
    doc["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("serviceName");
    assert_names(&rejected(&schemas, &doc), "/spec", "serviceName");

    let mut doc = statefulset();
    doc["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .expect("container")
        .remove("name");
    assert_names(
        &rejected(&schemas, &doc),
        "/spec/template/spec/containers/0",
        "name",
    );
}

#[test]
fn unknown_kind_and_duplicate_keys_are_rejected() {
    let schemas = Schemas::load();
    let doc = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}});
    assert_names(&rejected(&schemas, &doc), "(root)", "no vendored schema");

    let doc = json!({"apiVersion": "v2", "kind": "Service", "metadata": {"name": "x"}});
    assert_names(&rejected(&schemas, &doc), "(root)", "no vendored schema");

    let text = read("pdb.yaml").replace(
        "maxUnavailable: 1",
        "maxUnavailable: 1\n  maxUnavailable: 2",
    );
    let err = parse_documents(&text).expect_err("duplicate key must not parse");
    assert!(err.contains("maxUnavailable"), "{err}");
}

#[test]
fn kustomization_lists_every_manifest() {
    let kustomization = &documents("kustomization.yaml")[0];
    assert_eq!(
        kustomization["apiVersion"],
        "kustomize.config.k8s.io/v1beta1"
    );
    assert_eq!(kustomization["kind"], "Kustomization");
    let listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("a file name"))
        .collect();
    let unique: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(
        unique.len(),
        listed.len(),
        "a resource listed twice: {listed:?}"
    );
    // Examples (placeholder secrets) are never applied by `kubectl apply -k`: they would
    // overwrite the real secret on every apply.
    let expected: BTreeSet<String> = manifest_files()
        .into_iter()
        .filter(|f| !f.ends_with(".example.yaml"))
        .collect();
    let listed: BTreeSet<String> = unique.into_iter().map(String::from).collect();
    assert_eq!(
        listed, expected,
        "kustomization resources vs deploy/k8s/*.yaml"
    );
    assert!(
        manifest_files().contains(&"secret.example.yaml".to_owned()),
        "the database Secret example exists"
    );
    let images = kustomization["images"].as_array().expect("images");
    assert!(
        images
            .iter()
            .any(|i| i["name"] == container(&statefulset())["image"]),
        "kustomization sets the StatefulSet's image"
    );
}

#[test]
fn probes_hit_paths_the_binary_serves_on_its_port() {
    let sts = statefulset();
    let c = container(&sts);
    let ports = c["ports"].as_array().expect("ports");
    let port = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("container port {name}"))
            .clone()
    };
    assert_eq!(port("http")["containerPort"], HTTP_PORT);
    assert_eq!(port("http")["protocol"], "TCP");
    assert_eq!(port("gossip")["containerPort"], GOSSIP_PORT);
    assert_eq!(port("gossip")["protocol"], "UDP");

    let router = std::fs::read_to_string(schema::repo_root().join("transport/src/server.rs"))
        .expect("transport/src/server.rs");
    for (probe, path) in [
        ("readinessProbe", "/health/ready"),
        ("livenessProbe", "/health/live"),
        ("startupProbe", "/health/live"),
    ] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe} path");
        let probe_port = &get["port"];
        assert!(
            *probe_port == "http" || *probe_port == HTTP_PORT,
            "{probe} port {probe_port} is not the HTTP port"
        );
        assert!(
            router.contains(&format!(".route(\"{path}\"")),
            "{path} ({probe}) is not routed in transport/src/server.rs"
        );
    }
    let annotations = &sts["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], HTTP_PORT.to_string());
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    assert!(router.contains(".route(\"/metrics\""), "/metrics is routed");

    let config = only(&documents("configmap.yaml"), "ConfigMap", "baton-config");
    assert_eq!(
        config["data"]["BATON_LISTEN"],
        format!("0.0.0.0:{HTTP_PORT}")
    );
}

#[test]
fn pod_spec_matches_the_cluster_contract() {
    let sts = statefulset();
    let spec = &sts["spec"];
    assert_eq!(spec["replicas"], 3);
    assert_eq!(spec["podManagementPolicy"], "Parallel");
    let pod = &spec["template"]["spec"];

    let config = only(&documents("configmap.yaml"), "ConfigMap", "baton-config");
    let drain: u64 = config["data"]["BATON_CLUSTER__DRAIN_TIMEOUT_SECS"]
        .as_str()
        .expect("drain timeout set")
        .parse()
        .expect("a number");
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    assert!(
        grace > drain,
        "grace period {grace}s must exceed the drain timeout {drain}s"
    );

    let c = container(&sts);
    let env = c["env"].as_array().expect("env");
    // Kubernetes expands $(VAR) only for variables defined earlier in `env` (or envFrom).
    let mut defined: BTreeSet<String> = config["data"]
        .as_object()
        .expect("data")
        .keys()
        .cloned()
        .collect();
    for var in env {
        let name = var["name"].as_str().expect("env name");
        if let Some(value) = var["value"].as_str() {
            let mut rest = value;
            while let Some(start) = rest.find("$(") {
                let end = rest[start..].find(')').expect("closed $(") + start;
                let referenced = &rest[start + 2..end];
                assert!(
                    defined.contains(referenced),
                    "{name} uses $({referenced}) before it is defined"
                );
                rest = &rest[end + 1..];
            }
        }
        defined.insert(name.to_owned());
    }
    let value = |name: &str| {
        env.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("env {name}"))
            .clone()
    };
    assert_eq!(
        value("POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    assert_eq!(
        value("POD_IP")["valueFrom"]["fieldRef"]["fieldPath"],
        "status.podIP"
    );
    assert_eq!(value("BATON_NODE_ID")["value"], "$(POD_NAME)");
    assert_eq!(
        value("BATON_CLUSTER__GOSSIP_ADVERTISE")["value"],
        format!("$(POD_IP):{GOSSIP_PORT}")
    );
    assert_eq!(
        value("BATON_CLUSTER__API_ADVERTISE")["value"],
        format!("$(POD_IP):{HTTP_PORT}")
    );
    let seeds = value("BATON_CLUSTER__SEEDS")["value"]
        .as_str()
        .expect("seeds")
        .to_owned();
    assert!(
        seeds.starts_with("[baton-gossip.") && seeds.ends_with(&format!(":{GOSSIP_PORT}]")),
        "seeds point at the headless Service: {seeds}"
    );
    assert_eq!(
        value("BATON_DATABASE_URL")["valueFrom"]["secretKeyRef"]["name"],
        "baton-secrets"
    );
    let secret = only(&documents("secret.example.yaml"), "Secret", "baton-secrets");
    assert!(secret["stringData"]["database-url"].is_string());
    assert!(secret["stringData"]["cluster-secret"].is_string());
    assert_eq!(
        value("BATON_CLUSTER__SECRET")["valueFrom"]["secretKeyRef"]["key"],
        "cluster-secret"
    );

    let security = &c["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 10001);
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c["resources"][kind][resource].is_string(),
                "resources.{kind}.{resource} set"
            );
        }
    }
    assert!(
        pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            .is_array(),
        "preferred anti-affinity across hosts"
    );
}

#[test]
fn services_and_budget_select_the_pods() {
    let docs = all_documents();
    let kinds = by_kind(&docs);
    let sts = statefulset();
    let pod_labels = sts["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .expect("pod labels")
        .clone();
    let selects_pods = |selector: &Value, what: &str| {
        let selector = selector.as_object().expect("selector");
        assert!(!selector.is_empty(), "{what} selects something");
        for (k, v) in selector {
            assert_eq!(pod_labels.get(k), Some(v), "{what} selector {k}");
        }
    };

    let headless = only(&docs, "Service", "baton-gossip");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
    assert_eq!(sts["spec"]["serviceName"], "baton-gossip");
    selects_pods(&headless["spec"]["selector"], "headless Service");
    let ports = headless["spec"]["ports"].as_array().expect("ports");
    assert!(ports
        .iter()
        .any(|p| p["port"] == HTTP_PORT && p["protocol"] == "TCP"));
    assert!(ports
        .iter()
        .any(|p| p["port"] == GOSSIP_PORT && p["protocol"] == "UDP"));

    let client = only(&docs, "Service", "baton");
    assert_ne!(
        client["spec"]["clusterIP"], "None",
        "client Service load-balances"
    );
    selects_pods(&client["spec"]["selector"], "client Service");
    assert_eq!(client["spec"]["ports"][0]["port"], HTTP_PORT);
    assert_eq!(kinds["Service"].len(), 2, "two Services");

    let pdb = only(&docs, "PodDisruptionBudget", "baton");
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    selects_pods(
        &pdb["spec"]["selector"]["matchLabels"],
        "PodDisruptionBudget",
    );
    selects_pods(&sts["spec"]["selector"]["matchLabels"], "StatefulSet");

    let config = only(&docs, "ConfigMap", "baton-config");
    let env_from = &container(&sts)["envFrom"][0]["configMapRef"]["name"];
    assert_eq!(*env_from, config["metadata"]["name"]);
}

/// `kubectl kustomize` (kustomize built in) renders the directory, when kubectl is installed.
#[test]
fn kustomize_builds_when_kubectl_is_installed() {
    let output = match std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(schema::k8s_dir())
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            eprintln!("kubectl not runnable ({e}): kustomize build not checked");
            return;
        }
    };
    assert!(
        output.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rendered = parse_documents(&String::from_utf8_lossy(&output.stdout)).expect("YAML");
    let schemas = Schemas::load();
    for doc in &rendered {
        schemas
            .validate(doc)
            .unwrap_or_else(|e| panic!("rendered {}: {e:#?}", doc["kind"]));
    }
    let sts = only(&rendered, "StatefulSet", "baton");
    assert_eq!(container(&sts)["image"], "registry.example.com/baton:0.1.0");
    assert_eq!(rendered.len(), 5, "five objects rendered");
}
