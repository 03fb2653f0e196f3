//! The scripted server: one user's state on a real [`UserDoc`] (with the
//! server's own control records: registrations, lease moves and releases),
//! the replica under test (a [`baton_client::Core`]), and the wire between
//! them. A scenario calls the methods below; every frame the replica receives
//! and every local edit it makes becomes a vector step.

use std::collections::{BTreeSet, VecDeque};

use baton_client::{Action, Core, StateView};
use baton_crdt::uhlc::NTP64;
use baton_crdt::{hlc_id_for, CrdtError, DeviceInfo, Hlc, LoggedOp, Op, Outcome, Rules, UserDoc};
use baton_protocol::{
    ClientFrame, DeviceHello, ErrorFrame, LeaseView, Limits, ResumeMode, ServerFrame, Welcome,
};

use crate::script::{ScriptEvent, Scripted};
use crate::vector::{Step, Vector};
use crate::GenError;

/// Server clock at the start of every scenario (ms; 2025-11-27).
pub const START_MS: u64 = 1_764_200_000_000;

mod deliver;

/// The server's state at one moment (a backup it can be restored to).
pub struct Backup {
    doc: UserDoc,
    log: Vec<LoggedOp>,
    script_len: usize,
}

/// The user's server and the replica device under test.
pub struct Sim {
    name: String,
    user: String,
    me: String,
    doc: UserDoc,
    log: Vec<LoggedOp>,
    online: BTreeSet<String>,
    core: Core,
    /// Op frames the replica sent that the server has not read yet.
    wire: VecDeque<(u64, Op)>,
    steps: Vec<Step>,
    script: Vec<Scripted>,
    session: u64,
    now_ms: u64,
    /// Local edits made, own ops the server applied, ops refused for good.
    made: u64,
    dropped: u64,
    hello_vv: baton_crdt::VersionVector,
    last_delta: Option<ServerFrame>,
    /// Answers of applied ops whose commit has not landed yet.
    held: Vec<ServerFrame>,
}

fn kind_of(device: &str) -> &'static str {
    if device.starts_with("tv") {
        "tv"
    } else if device.starts_with("phone") {
        "mobile"
    } else {
        "web"
    }
}

fn lease_of(doc: &UserDoc) -> LeaseView {
    LeaseView {
        holder: doc.lease().map(|l| l.device.clone()),
        token: doc.lease_token(),
    }
}

impl Sim {
    /// A scenario `name` for `user`, seen from replica device `me`.
    pub fn new(name: &str, user: &str, me: &str) -> Self {
        let hello = DeviceHello {
            kind: kind_of(me).into(),
            name: me.into(),
            capabilities: Vec::new(),
        };
        Sim {
            name: name.into(),
            user: user.into(),
            me: me.into(),
            doc: UserDoc::new(),
            log: Vec::new(),
            online: BTreeSet::new(),
            core: Core::new(me, hello),
            wire: VecDeque::new(),
            steps: Vec::new(),
            script: Vec::new(),
            session: 0,
            now_ms: START_MS,
            made: 0,
            dropped: 0,
            hello_vv: Default::default(),
            last_delta: None,
            held: Vec::new(),
        }
    }

    /// The server's document (a base for remote preference edits).
    pub fn server_doc(&self) -> &UserDoc {
        &self.doc
    }

    /// The replica under test.
    pub fn core(&self) -> &Core {
        &self.core
    }

    fn fail(&self, reason: impl Into<String>) -> GenError {
        GenError::Scenario {
            scenario: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn tick(&mut self) -> u64 {
        self.now_ms += 1_000;
        self.now_ms
    }

    fn now_ntp(&self) -> NTP64 {
        NTP64(baton_crdt::hlc::duration_to_ntp64(
            std::time::Duration::from_millis(self.now_ms),
        ))
    }

    fn scripted(&mut self, event: ScriptEvent) {
        let version = self.doc.version();
        self.script.push(Scripted { event, version });
    }

    /// The replica receives `frame`; what it sends goes on the wire.
    fn recv(&mut self, frame: ServerFrame) -> Result<(), GenError> {
        self.steps.push(Step::Recv(frame.to_text()));
        if let ServerFrame::Delta(_) = &frame {
            self.last_delta = Some(frame.clone());
        }
        let out = self
            .core
            .handle(frame, self.now_ntp().0)
            .map_err(|e| self.fail(format!("replica refused a frame: {e}")))?;
        self.take_sent(out.send);
        match out.action {
            None => Ok(()),
            // Vectors carry no time: the retry happens at once.
            Some(Action::RetryAfter(_)) => {
                let out = self.core.resume_sending();
                self.take_sent(out.send);
                Ok(())
            }
            Some(Action::Reconnect) => Err(self.fail("the replica asked to reconnect")),
        }
    }

    fn take_sent(&mut self, frames: Vec<ClientFrame>) {
        for f in frames {
            if let ClientFrame::Op { seq, op } = f {
                self.wire.push_back((seq, op));
            }
        }
    }

    fn register(&mut self, device: &str) -> Result<(), GenError> {
        let info = DeviceInfo {
            kind: kind_of(device).into(),
            name: device.into(),
            capabilities: Vec::new(),
            first_seen_ms: self.now_ms,
            last_seen_ms: self.now_ms,
        };
        if let Some(change) = self.doc.registration(device, info) {
            self.doc
                .apply_control(&change, self.now_ms)
                .map_err(|e| self.fail(e.to_string()))?;
        }
        self.online.insert(device.to_owned());
        Ok(())
    }

    /// Another device connects (registering on its first hello).
    pub fn connect(&mut self, device: &str) -> Result<(), GenError> {
        self.tick();
        self.register(device)?;
        self.scripted(ScriptEvent::Hello {
            device: device.into(),
            kind: kind_of(device).into(),
        });
        Ok(())
    }

    /// A device goes offline; the lease it held is released (and the
    /// replica, if online, is told).
    pub fn disconnect(&mut self, device: &str) -> Result<(), GenError> {
        self.tick();
        self.online.remove(device);
        if device == self.me {
            self.core.disconnected();
            self.wire.clear();
        }
        if let Some(change) = self.doc.lease_release_by(device) {
            self.doc
                .apply_control(&change, self.now_ms)
                .map_err(|e| self.fail(e.to_string()))?;
            if self.online.contains(&self.me) {
                self.recv(ServerFrame::Lease(lease_of(&self.doc)))?;
            }
        }
        self.scripted(ScriptEvent::Close {
            device: device.into(),
        });
        Ok(())
    }

    /// The replica connects: `welcome` (after its registration), and
    /// nothing else yet: [`Sim::catch_up`] sends the rest.
    pub fn welcome(&mut self, resume: ResumeMode, reset: bool) -> Result<(), GenError> {
        self.tick();
        let me = self.me.clone();
        let ClientFrame::Hello { vv, .. } = self.core.connected() else {
            return Err(self.fail("the replica did not start with hello"));
        };
        self.hello_vv = vv;
        self.register(&me)?;
        self.scripted(ScriptEvent::Hello {
            device: me.clone(),
            kind: kind_of(&me).into(),
        });
        self.session += 1;
        let server_id = hlc_id_for("~server");
        let welcome = Welcome {
            protocol: 1,
            session: self.session.to_string(),
            user: self.user.clone(),
            device: me.clone(),
            version: self.doc.version(),
            vv: self.doc.vv().clone(),
            next_seq: self.doc.next_seq(&me),
            hlc_id: hlc_id_for(&me).to_string(),
            server_time: Hlc::new(self.now_ntp(), server_id),
            resume,
            reset,
            lease: lease_of(&self.doc),
            limits: Limits::default(),
        };
        self.recv(ServerFrame::Welcome(Box::new(welcome)))
    }

    /// Catch-up after [`Sim::welcome`]: the deltas the replica's `hello`
    /// lacked, or the snapshot in chunks of `chunk` bytes; then `synced`.
    pub fn catch_up(&mut self, snapshot_chunk: Option<usize>) -> Result<(), GenError> {
        match snapshot_chunk {
            None => {
                let missing: Vec<LoggedOp> = self
                    .log
                    .iter()
                    .filter(|op| op.seq > self.hello_vv.get(&op.device))
                    .cloned()
                    .collect();
                for op in missing {
                    self.recv(ServerFrame::Delta(op))?;
                }
            }
            Some(chunk) => {
                let bytes = self
                    .doc
                    .to_snapshot_bytes()
                    .map_err(|e| self.fail(e.to_string()))?;
                let text = String::from_utf8(bytes).map_err(|e| self.fail(e.to_string()))?;
                let parts = split(&text, chunk.max(1));
                let total = u32::try_from(parts.len()).unwrap_or(u32::MAX);
                for (i, data) in parts.into_iter().enumerate() {
                    self.recv(ServerFrame::SnapshotChunk {
                        version: self.doc.version(),
                        index: u32::try_from(i).unwrap_or(u32::MAX),
                        total,
                        data,
                    })?;
                }
            }
        }
        self.recv(ServerFrame::Synced {
            version: self.doc.version(),
        })
    }

    /// Connect with deltas: welcome, catch-up, synced.
    pub fn online(&mut self) -> Result<(), GenError> {
        self.welcome(ResumeMode::Deltas, false)?;
        self.catch_up(None)
    }

    /// Another device's op (with the next seq of that device). The replica
    /// gets the delta if it is online, and a `lease` frame if the op moved the
    /// lease. A refused op is scripted with its error and changes nothing.
    pub fn remote(&mut self, device: &str, op: Op) -> Result<(), GenError> {
        self.tick();
        let seq = self.doc.next_seq(device);
        let lease_before = lease_of(&self.doc);
        let res = self
            .doc
            .apply(device, seq, op.clone(), self.now_ntp(), &Rules::default());
        let error = match res {
            Ok(Outcome::Applied(logged, _)) => {
                self.log.push(logged.clone());
                if self.online.contains(&self.me) {
                    self.recv(ServerFrame::Delta(logged))?;
                }
                None
            }
            Ok(Outcome::Duplicate { .. }) => return Err(self.fail("remote duplicate")),
            Err(e) => Some(e.code().to_owned()),
        };
        self.scripted(ScriptEvent::Op {
            device: device.into(),
            seq,
            op,
            error,
        });
        self.lease_changed(&lease_before)
    }

    fn lease_changed(&mut self, before: &LeaseView) -> Result<(), GenError> {
        let after = lease_of(&self.doc);
        if &after != before && self.online.contains(&self.me) {
            self.recv(ServerFrame::Lease(after))?;
        }
        Ok(())
    }

    /// `from` hands playback to `to` (an online device other than the replica).
    pub fn handoff(
        &mut self,
        from: &str,
        to: &str,
        content: &str,
        position_ms: u64,
    ) -> Result<(), GenError> {
        self.tick();
        if to == self.me || !self.online.contains(to) {
            return Err(self.fail("handoff targets must be other online devices"));
        }
        let before = lease_of(&self.doc);
        let change = self.doc.lease_move_to(to);
        self.doc
            .apply_control(&change, self.now_ms)
            .map_err(|e| self.fail(e.to_string()))?;
        self.scripted(ScriptEvent::Handoff {
            from: from.into(),
            to: to.into(),
            content: content.into(),
            position_ms,
        });
        self.lease_changed(&before)
    }

    /// A backup of the server's state now.
    pub fn backup(&self) -> Backup {
        Backup {
            doc: self.doc.clone(),
            log: self.log.clone(),
            script_len: self.script.len(),
        }
    }

    /// The server is restored from `backup` (every device offline): what
    /// happened since is lost, also acknowledged ops of the replica. A real
    /// node that never saw those events is in the same state, so the script
    /// is cut back too.
    pub fn restore(&mut self, backup: Backup) -> Result<(), GenError> {
        if !self.online.is_empty() {
            return Err(self.fail("restore with devices online"));
        }
        let lost = self.doc.vv().get(&self.me) - backup.doc.vv().get(&self.me);
        self.dropped += lost;
        self.doc = backup.doc;
        self.log = backup.log;
        self.script.truncate(backup.script_len);
        Ok(())
    }

    /// The vector, after checking that the replica agrees with the server.
    pub fn finish(self, description: &str) -> Result<(Vector, Vec<Scripted>), GenError> {
        let server = StateView::of(&self.doc, self.doc.version(), &lease_of(&self.doc));
        let confirmed = self.core.replica().view();
        if confirmed != server {
            return Err(self.fail(format!(
                "replica {} != server {}",
                json(&confirmed),
                json(&server)
            )));
        }
        let applied_own = self.doc.vv().get(&self.me);
        let open = self.made - applied_own - self.dropped;
        let first = self.doc.next_seq(&self.me);
        let pending: Vec<u64> = (first..first + open).collect();
        if self.core.pending() != pending {
            return Err(self.fail(format!(
                "replica pending {:?}, server says {pending:?}",
                self.core.pending()
            )));
        }
        let vector = Vector {
            name: self.name,
            description: description.into(),
            user: self.user,
            device: self.me,
            steps: self.steps,
            expected: crate::vector::Expected {
                state: server,
                pending,
            },
        };
        Ok((vector, self.script))
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn error_frame(e: &CrdtError, seq: u64) -> ErrorFrame {
    let mut f = ErrorFrame::new(e.code(), e.to_string()).for_seq(seq);
    if let CrdtError::SeqGap { expected, .. } = e {
        f.expected_seq = Some(*expected);
    }
    f
}

/// Splits `text` into pieces of at most `max` bytes on character boundaries.
fn split(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if cur.len() + ch.len_utf8() > max && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(ch);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}
