//! Field lengths of client frames, checked at admission: a frame with a field
//! over its limit is refused with `field_too_long` (the message names the
//! field and both lengths) and nothing of it is applied.
//!
//! Content ids (`op`, `heartbeat.activity`, `interaction`) and op payloads are
//! bounded by the CRDT's own validation; device ids by
//! [`baton_crdt::MAX_DEVICE_ID_LEN`].

use crate::config::DeviceLimits;
use crate::protocol::{ClientFrame, ErrorFrame};

/// Check every bounded string field of `frame`.
pub(super) fn check(frame: &ClientFrame, limits: &DeviceLimits) -> Result<(), ErrorFrame> {
    match frame {
        ClientFrame::Hello { device, .. } => {
            within(
                "hello.device.kind",
                device.kind.len(),
                limits.max_kind_bytes,
            )?;
            within(
                "hello.device.name",
                device.name.len(),
                limits.max_name_bytes,
            )?;
            if device.capabilities.len() > limits.max_capabilities {
                return Err(too_long(format!(
                    "hello.device.capabilities has {} entries; at most {}",
                    device.capabilities.len(),
                    limits.max_capabilities
                )));
            }
            for cap in &device.capabilities {
                within(
                    "hello.device.capabilities[]",
                    cap.len(),
                    limits.max_capability_bytes,
                )?;
            }
            Ok(())
        }
        ClientFrame::Handoff {
            request_id, target, ..
        } => {
            within(
                "handoff.request_id",
                request_id.len(),
                limits.max_request_id_bytes,
            )?;
            within(
                "handoff.target",
                target.len(),
                baton_crdt::MAX_DEVICE_ID_LEN,
            )
        }
        ClientFrame::Op { .. }
        | ClientFrame::Heartbeat { .. }
        | ClientFrame::Resync {}
        | ClientFrame::Interaction { .. } => Ok(()),
    }
}

fn within(field: &str, len: usize, max: usize) -> Result<(), ErrorFrame> {
    if len > max {
        return Err(too_long(format!("{field} is {len} bytes; at most {max}")));
    }
    Ok(())
}

fn too_long(message: String) -> ErrorFrame {
    ErrorFrame::new("field_too_long", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_client_frame;

    fn hello(kind: &str, name: &str, caps: &[String]) -> ClientFrame {
        let text = serde_json::json!({
            "type": "hello", "protocol": 1,
            "device": {"kind": kind, "name": name, "capabilities": caps},
        })
        .to_string();
        parse_client_frame(&text, usize::MAX).expect("hello parses")
    }

    fn refused(frame: &ClientFrame, field: &str) {
        let err = check(frame, &DeviceLimits::default()).expect_err(field);
        assert_eq!(err.code, "field_too_long");
        assert!(err.message.starts_with(field), "{}", err.message);
    }

    #[test]
    fn hello_fields_pass_at_their_limits_and_fail_one_past() {
        let l = DeviceLimits::default();
        let cap = "c".repeat(l.max_capability_bytes);
        let caps = vec![cap.clone(); l.max_capabilities];
        let at_limit = hello(
            &"k".repeat(l.max_kind_bytes),
            &"n".repeat(l.max_name_bytes),
            &caps,
        );
        assert!(check(&at_limit, &l).is_ok());

        refused(
            &hello(&"k".repeat(l.max_kind_bytes + 1), "", &[]),
            "hello.device.kind",
        );
        refused(
            &hello("tv", &"n".repeat(l.max_name_bytes + 1), &[]),
            "hello.device.name",
        );
        let mut many = caps.clone();
        many.push("x".into());
        refused(&hello("tv", "", &many), "hello.device.capabilities");
        let long = vec![format!("{cap}c")];
        refused(&hello("tv", "", &long), "hello.device.capabilities[]");
    }

    #[test]
    fn a_multibyte_name_counts_bytes() {
        // 22 three-byte characters: 66 bytes although 22 characters.
        refused(&hello("tv", &"€".repeat(22), &[]), "hello.device.name");
    }

    #[test]
    fn handoff_ids_are_bounded() {
        let l = DeviceLimits::default();
        let handoff = |request_id: &str, target: &str| ClientFrame::Handoff {
            request_id: request_id.into(),
            target: target.into(),
            content: baton_crdt::ContentId::try_from("movie:1").expect("id"),
            position_ms: 0,
        };
        let max_target = "t".repeat(baton_crdt::MAX_DEVICE_ID_LEN);
        assert!(check(
            &handoff(&"r".repeat(l.max_request_id_bytes), &max_target),
            &l
        )
        .is_ok());
        refused(
            &handoff(&"r".repeat(l.max_request_id_bytes + 1), "tv"),
            "handoff.request_id",
        );
        refused(&handoff("r", &format!("{max_target}t")), "handoff.target");
    }
}
