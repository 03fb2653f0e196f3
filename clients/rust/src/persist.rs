//! Pluggable persistence of a device's replica: the confirmed state, the
//! pending ops and the clock, so a restarted app resumes with `hello {vv}`
//! and resends what was never acknowledged. [`MemoryStore`] keeps it in
//! memory (tests, ephemeral devices); [`FileStore`] writes one JSON file
//! atomically (write to a temporary file, fsync, rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use baton_crdt::{Op, UserDoc};
use baton_protocol::LeaseView;
use serde::{Deserialize, Serialize};

use crate::ClientError;

/// Layout of [`Persisted`] written by this release.
pub const PERSIST_FORMAT: u32 = 1;

/// One own op not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingOp {
    /// Its seq.
    pub seq: u64,
    /// The op as sent.
    pub op: Op,
}

/// Everything a device keeps between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persisted {
    /// [`PERSIST_FORMAT`].
    pub format: u32,
    /// The device id the replica belongs to.
    pub device: String,
    /// The confirmed replica as a format-2 snapshot (JSON text).
    pub snapshot: String,
    /// The version watermark.
    pub version: u64,
    /// The lease as last told.
    pub lease: LeaseView,
    /// Own ops not acknowledged, ascending by seq.
    pub pending: Vec<PendingOp>,
    /// The last HLC time issued (NTP64), so timestamps never go backwards.
    pub hlc_last: u64,
    /// Automerge actor id (hex) of this install's preference edits.
    pub actor: String,
}

impl Persisted {
    /// The confirmed document.
    pub fn doc(&self) -> Result<UserDoc, ClientError> {
        Ok(UserDoc::from_snapshot_bytes(self.snapshot.as_bytes())?)
    }

    /// The pending ops by seq.
    pub fn pending_map(&self) -> BTreeMap<u64, Op> {
        self.pending.iter().map(|p| (p.seq, p.op.clone())).collect()
    }
}

/// Where a device keeps its replica.
pub trait Store: Send + Sync + 'static {
    /// The saved replica, if any.
    fn load(&self) -> Result<Option<Persisted>, ClientError>;
    /// Replaces the saved replica.
    fn save(&self, state: &Persisted) -> Result<(), ClientError>;
}

/// Keeps the replica in memory (lost when the process ends).
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Option<Persisted>>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Option<Persisted>, ClientError> {
        let guard = self
            .0
            .lock()
            .map_err(|_| ClientError::Store("memory store poisoned".into()))?;
        Ok(guard.clone())
    }

    fn save(&self, state: &Persisted) -> Result<(), ClientError> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| ClientError::Store("memory store poisoned".into()))?;
        *guard = Some(state.clone());
        Ok(())
    }
}

/// Keeps the replica in one JSON file, replaced atomically on every save.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store at `path` (its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Store for FileStore {
    fn load(&self) -> Result<Option<Persisted>, ClientError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(store_err(&self.path, &e)),
        };
        let state: Persisted = serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Store(format!("{}: {e}", self.path.display())))?;
        if state.format != PERSIST_FORMAT {
            return Err(ClientError::Store(format!(
                "{}: format {} (this release reads {PERSIST_FORMAT})",
                self.path.display(),
                state.format
            )));
        }
        Ok(Some(state))
    }

    fn save(&self, state: &Persisted) -> Result<(), ClientError> {
        use std::io::Write as _;
        let bytes = serde_json::to_vec(state).map_err(|e| ClientError::Store(e.to_string()))?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = std::fs::File::create(&tmp).map_err(|e| store_err(&tmp, &e))?;
        f.write_all(&bytes).map_err(|e| store_err(&tmp, &e))?;
        f.sync_all().map_err(|e| store_err(&tmp, &e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| store_err(&self.path, &e))
    }
}

fn store_err(path: &Path, e: &std::io::Error) -> ClientError {
    ClientError::Store(format!("{}: {e}", path.display()))
}
