//! Replays every conformance vector (`clients/vectors/*.json`) through a
//! fresh [`Core`] and compares its confirmed state and pending seqs with the
//! vector's `expected`, as compact JSON text, byte for byte.

use std::path::Path;

use baton_client::{Action, Core, DeviceHello, Op};
use serde_json::Value;

fn hello(device: &str) -> DeviceHello {
    DeviceHello {
        kind: "other".into(),
        name: device.into(),
        capabilities: Vec::new(),
    }
}

/// The `"expected": ...` text exactly as written in the file.
fn expected_text(file: &str) -> &str {
    let start = file.find("\n\"expected\": ").expect("expected key") + "\n\"expected\": ".len();
    let rest = &file[start..];
    rest[..rest.rfind('}').expect("closing brace")].trim_end()
}

fn replay(path: &Path) -> Result<(), String> {
    let file = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&file).map_err(|e| e.to_string())?;
    let device = v["device"].as_str().ok_or("no device")?;
    let mut core = Core::new(device, hello(device));
    let steps = v["steps"].as_array().ok_or("no steps")?;
    for (i, step) in steps.iter().enumerate() {
        if let Some(frame) = step.get("recv") {
            let out = core
                .handle_text(&frame.to_string(), 0)
                .map_err(|e| format!("step {i}: {e}"))?;
            match out.action {
                None => {}
                Some(Action::RetryAfter(_)) => {
                    core.resume_sending();
                }
                Some(Action::Reconnect) => return Err(format!("step {i}: asked to reconnect")),
            }
        } else if let Some(local) = step.get("local") {
            let op: Op = serde_json::from_value(local["op"].clone())
                .map_err(|e| format!("step {i}: {e}"))?;
            let (seq, _) = core.submit(op);
            let want = local["seq"].as_u64().ok_or("no seq")?;
            if seq != want {
                return Err(format!(
                    "step {i}: local op got seq {seq}, vector says {want}"
                ));
            }
        } else {
            return Err(format!("step {i}: neither recv nor local"));
        }
    }
    let state = serde_json::to_string(&core.replica().view()).map_err(|e| e.to_string())?;
    let pending = serde_json::to_string(&core.pending()).map_err(|e| e.to_string())?;
    let got = format!("{},\"pending\":{pending}}}", &state[..state.len() - 1]);
    let want = expected_text(&file);
    if got != want {
        return Err(format!("state differs\n got: {got}\nwant: {want}"));
    }
    Ok(())
}

#[test]
fn every_vector_replays_to_its_expected_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("clients/vectors")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} vectors", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|p| replay(p).err().map(|e| format!("{}: {e}", p.display())))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
