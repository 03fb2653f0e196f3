//! A synchronous driver for rule tests: feeds inputs at a virtual time,
//! keeps what was persisted, and reads the frames each connection got.

use std::sync::Arc;

use baton_crdt::uhlc::NTP64;
use baton_crdt::{hlc_id_for, ContentId, Hlc, Op, VersionVector};
use baton_protocol::{DeviceHello, Limits};
use baton_sync::{Effect, Input, Now, Record, SyncConfig, UserSync};
use serde_json::Value;

/// The machine under test, its store and its clock.
pub struct H {
    pub sync: UserSync,
    pub now_ms: u64,
    hlc: u64,
    /// Durable records.
    pub store: Vec<Record>,
    /// The batch handed to the store and not yet answered.
    pub inflight: Option<Vec<Record>>,
}

impl H {
    pub fn new(cfg: SyncConfig) -> H {
        let recovered =
            baton_sync::recover("u", baton_sync::Stored::default(), cfg.log_retention_ops)
                .expect("an empty user recovers");
        H::from_recovered(cfg, recovered)
    }

    pub fn from_recovered(cfg: SyncConfig, recovered: baton_sync::Recovered) -> H {
        let now_ms = 1_700_000_000_000;
        let mut h = H {
            sync: UserSync::new(
                Arc::new(cfg),
                Arc::new(Limits::default()),
                "u".into(),
                recovered,
                now(now_ms, 1),
            ),
            now_ms,
            hlc: 1,
            store: Vec::new(),
            inflight: None,
        };
        let effects = h.sync.start(now(now_ms, 2));
        h.take(effects);
        h
    }

    fn take(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        for e in &effects {
            if let Effect::Persist(records) = e {
                assert!(self.inflight.is_none(), "one batch in flight");
                self.inflight = Some(records.clone());
            }
        }
        effects
    }

    pub fn input(&mut self, input: Input) -> Vec<Effect> {
        self.hlc += 1;
        let effects = self.sync.handle(now(self.now_ms, self.hlc), input);
        self.take(effects)
    }

    /// The batch in flight becomes durable.
    pub fn commit(&mut self) -> Vec<Effect> {
        let batch = self.inflight.take().expect("a batch in flight");
        self.store.extend(batch);
        self.input(Input::Committed(Ok(())))
    }

    pub fn attach(&mut self, device: &str, conn: u64, vv: VersionVector) -> Vec<Effect> {
        self.input(Input::Attach {
            device: device.into(),
            conn,
            hello: DeviceHello {
                kind: "tv".into(),
                name: String::new(),
                capabilities: Vec::new(),
            },
            vv,
            ticket: conn,
        })
    }

    /// Attach and commit the registration: the device is live.
    pub fn join(&mut self, device: &str, conn: u64) -> Vec<Effect> {
        let mut effects = self.attach(device, conn, VersionVector::new());
        if self.inflight.is_some() {
            effects.extend(self.commit());
        }
        effects
    }

    /// `device` asks to move playback of movie:1 at `position_ms` to `target`.
    pub fn handoff(&mut self, device: &str, target: &str, position_ms: u64) -> Vec<Effect> {
        self.input(Input::Handoff {
            device: device.into(),
            request_id: format!("to-{target}"),
            target: target.into(),
            content: ContentId::parse("movie:1").expect("content id"),
            position_ms,
        })
    }

    pub fn op(&mut self, device: &str, conn: u64, seq: u64, op: Op) -> Vec<Effect> {
        self.input(Input::Op {
            device: device.into(),
            conn,
            seq,
            op,
            mark: seq,
        })
    }
}

pub fn now(ms: u64, logical: u64) -> Now {
    let ntp = ((ms / 1000) << 32) | (((ms % 1000) << 32) / 1000);
    Now {
        ms,
        hlc: Hlc::new(NTP64(ntp + logical), hlc_id_for("~node")),
    }
}

pub fn add(content: &str) -> Op {
    Op::WatchlistAdd {
        content: ContentId::parse(content).expect("content id"),
        added_at_ms: 1,
        observed: Vec::new(),
    }
}

/// The frames sent to `conn`, parsed.
pub fn frames(effects: &[Effect], conn: u64) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { conn: c, frame, .. } if *c == conn => {
                Some(serde_json::from_slice(frame).expect("frames are JSON"))
            }
            _ => None,
        })
        .collect()
}

/// The `type` of every frame sent to `conn`.
pub fn kinds(effects: &[Effect], conn: u64) -> Vec<String> {
    frames(effects, conn)
        .iter()
        .map(|f| f["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}
