//! Where per-key state lives between batches, with the current values, the history and the
//! scheduled trigger's watermarks (one per table: the tables have independent writers): read
//! the states a batch needs, then commit everything it changed in one step, after its effects
//! happened. The store also tells whether the state it held is still there ([`StateCheck`]).

use super::{PortError, lock};
use crate::record::{Record, Sections, UnixSecs};
use crate::state::StateMap;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

/// What a store found of pulse's state at the start of a scheduled tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateCheck {
    /// The state's epoch marker is there.
    Intact,
    /// Nothing at all, and this process never saw any: a first run (or a loss before this
    /// process started, which looks the same).
    Fresh,
    /// The state is gone: the epoch marker is missing although this process saw it, or
    /// although watermarks are still there (keys evicted). The watermarks this process last
    /// committed, per table, so the tick can resume from them.
    Lost {
        remembered: HashMap<String, UnixSecs>,
    },
}

/// What a batch commits once its effects happened: the state, the newest value of each key
/// it applied (current values and history), and the scheduled trigger's watermark.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    pub states: &'a StateMap,
    /// Records of the batch whose values are current (the newest applied per key).
    pub current: &'a [&'a Record],
    /// Every record of the batch, for the history series (idempotent on rerun).
    pub history: &'a [Record],
    /// New watermark of a table (record time, unix seconds), or `None` to leave them.
    pub watermark: Option<(&'a str, UnixSecs)>,
    /// Detection time, for history trimming.
    pub now: UnixSecs,
    /// Which TVL breakdown keys are sections rather than chains (current values keep them
    /// apart).
    pub sections: &'a Sections,
}

/// A state store that loads states by key, reads a table's watermark, and commits a batch's
/// state, current values and watermark together. A watermark is only ever raised.
pub trait CheckpointStore {
    /// States for these keys; missing keys are simply absent from the map.
    fn load(&self, keys: &[String]) -> impl Future<Output = Result<StateMap, PortError>> + Send;
    /// The watermark of one table.
    fn watermark(
        &self,
        table: &str,
    ) -> impl Future<Output = Result<Option<UnixSecs>, PortError>> + Send;
    fn commit(&self, commit: Commit<'_>) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Whether the state is still there (an epoch marker written with every commit). Stores
    /// that cannot lose their state answer [`StateCheck::Intact`].
    fn check_state(
        &self,
        tables: &[String],
    ) -> impl Future<Output = Result<StateCheck, PortError>> + Send {
        let _ = tables;
        async { Ok(StateCheck::Intact) }
    }

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
    /// Watermarks by table.
    pub watermarks: Mutex<HashMap<String, UnixSecs>>,
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

    async fn watermark(&self, table: &str) -> Result<Option<UnixSecs>, PortError> {
        Ok(lock(&self.watermarks, "watermark")?.get(table).copied())
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
        if let Some((table, w)) = commit.watermark {
            let mut marks = lock(&self.watermarks, "watermark")?;
            let current = marks.entry(table.to_string()).or_insert(w);
            *current = (*current).max(w);
        }
        Ok(())
    }
}
