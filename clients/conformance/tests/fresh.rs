//! The committed vectors are exactly what the generator produces now: a
//! change to `baton-crdt`, the client or a scenario that changes a vector
//! fails here until the vectors are regenerated
//! (`cargo run -p baton-conformance --bin baton-vectors`) and committed.

use std::collections::BTreeSet;

#[test]
fn committed_vectors_match_the_generator() {
    let dir = baton_conformance::vectors_dir();
    let all = baton_conformance::generate().expect("every scenario holds together");
    assert!(all.len() >= 20, "only {} vectors", all.len());
    let mut names = BTreeSet::new();
    for (v, _) in &all {
        assert!(
            names.insert(v.name.clone()),
            "two scenarios named {}",
            v.name
        );
        let path = dir.join(format!("{}.json", v.name));
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run baton-vectors)", path.display()));
        let fresh = v.to_text().expect("vector text");
        assert!(
            committed == fresh,
            "{} is stale: regenerate with `cargo run -p baton-conformance --bin baton-vectors`",
            path.display()
        );
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("vectors dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    assert_eq!(
        on_disk, names,
        "vector files without a scenario (or missing)"
    );
}

#[test]
fn vectors_cover_what_the_contract_names() {
    let all = baton_conformance::generate().expect("scenarios");
    let text: String = all
        .iter()
        .map(|(v, _)| v.to_text().expect("text"))
        .collect();
    for needle in [
        r#""type":"snapshot_chunk""#,
        r#""type":"lease""#,
        r#""duplicate":true"#,
        r#""code":"seq_gap""#,
        r#""code":"lease_held""#,
        r#""code":"stale_lease""#,
        r#""code":"too_many_inflight""#,
        r#""code":"rate_limited""#,
        r#""kind":"preferences""#,
        r#""take_lease":true"#,
        r#""reset":true"#,
        r#""resume":"snapshot""#,
    ] {
        assert!(text.contains(needle), "no vector has {needle}");
    }
}
