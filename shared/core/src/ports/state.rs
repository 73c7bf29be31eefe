//! Where per-key state lives between batches, with the current values, the history and the
//! scheduled trigger's watermark: read the states a batch needs, then commit everything it
//! changed in one step, after its effects happened.

use super::{PortError, lock};
use crate::record::{Record, Sections, UnixSecs};
use crate::state::StateMap;
use std::future::Future;
use std::sync::Mutex;

/// What a batch commits once its effects happened: the state, the newest value of each key
/// it applied (current values and history), and the scheduled trigger's watermark.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    pub states: &'a StateMap,
    /// Records of the batch whose values are current (the newest applied per key).
    pub current: &'a [&'a Record],
    /// Every record of the batch, for the history series (idempotent on rerun).
    pub history: &'a [Record],
    /// New watermark (record time, unix seconds), or `None` to leave it.
    pub watermark: Option<UnixSecs>,
    /// Detection time, for history trimming.
    pub now: UnixSecs,
    /// Which TVL breakdown keys are sections rather than chains (current values keep them
    /// apart).
    pub sections: &'a Sections,
}

/// A state store that loads states by key, reads the watermark, and commits a batch's state,
/// current values and watermark together. The watermark is only ever raised.
pub trait CheckpointStore {
    /// States for these keys; missing keys are simply absent from the map.
    fn load(&self, keys: &[String]) -> impl Future<Output = Result<StateMap, PortError>> + Send;
    fn watermark(&self) -> impl Future<Output = Result<Option<UnixSecs>, PortError>> + Send;
    fn commit(&self, commit: Commit<'_>) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Takes the scheduled tick's lease when nobody holds it: `Some(fencing token)`, or `None`
    /// when another tick does. Until [`CheckpointStore::release`], a commit fails (permanent
    /// error, nothing written) if the lease no longer holds this token. Stores without a
    /// lease grant it always.
    fn acquire(&self) -> impl Future<Output = Result<Option<u64>, PortError>> + Send {
        async { Ok(Some(0)) }
    }

    /// Gives the lease back (if it still holds `token`).
    fn release(&self, token: u64) -> impl Future<Output = Result<(), PortError>> + Send {
        let _ = token;
        async { Ok(()) }
    }
}

/// State and watermark in memory (current values and history are not kept).
#[derive(Debug, Default)]
pub struct MemoryCheckpointStore {
    pub states: Mutex<StateMap>,
    pub watermark: Mutex<Option<UnixSecs>>,
    /// The lease: the token holding it, and the last token given out.
    pub lease: Mutex<(Option<u64>, u64)>,
}

impl CheckpointStore for MemoryCheckpointStore {
    async fn load(&self, keys: &[String]) -> Result<StateMap, PortError> {
        let states = lock(&self.states, "state")?;
        Ok(keys
            .iter()
            .filter_map(|k| states.get(k).map(|s| (k.clone(), s.clone())))
            .collect())
    }

    async fn watermark(&self) -> Result<Option<UnixSecs>, PortError> {
        Ok(*lock(&self.watermark, "watermark")?)
    }

    async fn acquire(&self) -> Result<Option<u64>, PortError> {
        let mut lease = lock(&self.lease, "lease")?;
        if lease.0.is_some() {
            return Ok(None);
        }
        lease.1 += 1;
        lease.0 = Some(lease.1);
        Ok(lease.0)
    }

    async fn release(&self, token: u64) -> Result<(), PortError> {
        let mut lease = lock(&self.lease, "lease")?;
        if lease.0 == Some(token) {
            lease.0 = None;
        }
        Ok(())
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<(), PortError> {
        lock(&self.states, "state")?
            .extend(commit.states.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(w) = commit.watermark {
            let mut current = lock(&self.watermark, "watermark")?;
            *current = Some(current.map_or(w, |c| c.max(w)));
        }
        Ok(())
    }
}
