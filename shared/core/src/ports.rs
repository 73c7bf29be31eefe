//! The traits the engine's surroundings implement, and their in-memory versions.
//! Lambdas plug in the Redis, SQS and CloudWatch adapters; tests and the replay plug in these.
//! Every port error says whether retrying can help.

use crate::event::{Event, SqsAlertBody};
use crate::record::{Record, UnixSecs};
use crate::state::StateMap;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;
use uuid::Uuid;

/// A failed port call.
#[derive(Debug, thiserror::Error)]
#[error("{what}{}", if *retryable { " (retryable)" } else { "" })]
pub struct PortError {
    pub what: String,
    /// Whether the same call may succeed later (a timeout, a throttle, a restart).
    pub retryable: bool,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PortError {
    pub fn retryable(what: impl Into<String>) -> Self {
        PortError {
            what: what.into(),
            retryable: true,
            source: None,
        }
    }
    pub fn permanent(what: impl Into<String>) -> Self {
        PortError {
            what: what.into(),
            retryable: false,
            source: None,
        }
    }
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// Where per-key state lives between batches.
pub trait StateStore {
    /// States for these keys; missing keys are simply absent from the map.
    fn load(&self, keys: &[String]) -> impl Future<Output = Result<StateMap, PortError>> + Send;
    /// Writes these states (the whole batch's, after its effects happened).
    fn save(&self, states: &StateMap) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Fans update events and alerts out to WebSocket servers (Redis pub/sub).
pub trait EventPublisher {
    fn publish(&self, events: &[Event]) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Sends high-priority alerts on (SQS).
pub trait AlertSink {
    fn send(&self, alerts: &[SqsAlertBody]) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// State kept in memory.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    pub states: Mutex<StateMap>,
}

impl StateStore for MemoryStateStore {
    async fn load(&self, keys: &[String]) -> Result<StateMap, PortError> {
        let states = self
            .states
            .lock()
            .map_err(|_| PortError::permanent("state lock poisoned"))?;
        Ok(keys
            .iter()
            .filter_map(|k| states.get(k).map(|s| (k.clone(), s.clone())))
            .collect())
    }

    async fn save(&self, batch: &StateMap) -> Result<(), PortError> {
        let mut states = self
            .states
            .lock()
            .map_err(|_| PortError::permanent("state lock poisoned"))?;
        states.extend(batch.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }
}

/// Published events, in order, with the channels each went to.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    pub published: Mutex<Vec<(Vec<String>, Event)>>,
}

impl EventPublisher for MemoryPublisher {
    async fn publish(&self, events: &[Event]) -> Result<(), PortError> {
        let mut out = self
            .published
            .lock()
            .map_err(|_| PortError::permanent("publisher lock poisoned"))?;
        out.extend(events.iter().map(|e| (e.channels(), e.clone())));
        Ok(())
    }
}

/// Alerts sent, in order.
#[derive(Debug, Default)]
pub struct MemoryAlertSink {
    pub sent: Mutex<Vec<SqsAlertBody>>,
}

impl AlertSink for MemoryAlertSink {
    async fn send(&self, alerts: &[SqsAlertBody]) -> Result<(), PortError> {
        let mut out = self
            .sent
            .lock()
            .map_err(|_| PortError::permanent("alert sink lock poisoned"))?;
        out.extend(alerts.iter().cloned());
        Ok(())
    }
}

// ---- Ports of the detector Lambda (additive) --------------------------------------------

/// What an alert send achieved: the alerts that reached the queue, and the error that stopped
/// the rest. A partial failure lists what was sent, so a rerun does not send it again.
#[derive(Debug, Default)]
pub struct Delivery {
    pub sent: Vec<Uuid>,
    pub error: Option<PortError>,
}

/// An [`AlertSink`] that reports which alerts went out when some did not.
pub trait TrackedAlertSink {
    fn deliver(&self, alerts: &[SqsAlertBody]) -> impl Future<Output = Delivery> + Send;
}

/// Remembers which alerts reached the queue (by event id), so a batch redone after a failure
/// does not send them twice.
pub trait AlertLedger {
    /// Of these event ids, the ones not recorded as sent.
    fn unsent(&self, ids: &[Uuid])
    -> impl Future<Output = Result<HashSet<Uuid>, PortError>> + Send;
    /// Records these event ids as sent.
    fn mark_sent(&self, ids: &[Uuid]) -> impl Future<Output = Result<(), PortError>> + Send;
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
    /// New watermark (record time, unix seconds), or `None` to leave it.
    pub watermark: Option<UnixSecs>,
    /// Detection time, for history trimming.
    pub now: UnixSecs,
}

/// A state store that commits state, current values and watermark together, and reads the
/// watermark back.
pub trait CheckpointStore: StateStore {
    fn watermark(&self) -> impl Future<Output = Result<Option<UnixSecs>, PortError>> + Send;
    fn commit(&self, commit: Commit<'_>) -> impl Future<Output = Result<(), PortError>> + Send;
}

impl TrackedAlertSink for MemoryAlertSink {
    async fn deliver(&self, alerts: &[SqsAlertBody]) -> Delivery {
        match self.send(alerts).await {
            Ok(()) => Delivery {
                sent: alerts.iter().map(|a| a.event.event_id).collect(),
                error: None,
            },
            Err(error) => Delivery {
                sent: Vec::new(),
                error: Some(error),
            },
        }
    }
}

/// Sent alert ids kept in memory.
#[derive(Debug, Default)]
pub struct MemoryAlertLedger {
    pub sent: Mutex<HashSet<Uuid>>,
}

impl AlertLedger for MemoryAlertLedger {
    async fn unsent(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>, PortError> {
        let sent = self
            .sent
            .lock()
            .map_err(|_| PortError::permanent("ledger lock poisoned"))?;
        Ok(ids
            .iter()
            .filter(|id| !sent.contains(id))
            .copied()
            .collect())
    }

    async fn mark_sent(&self, ids: &[Uuid]) -> Result<(), PortError> {
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| PortError::permanent("ledger lock poisoned"))?;
        sent.extend(ids.iter().copied());
        Ok(())
    }
}

/// The memory store's watermark lives beside its states.
#[derive(Debug, Default)]
pub struct MemoryCheckpointStore {
    pub store: MemoryStateStore,
    pub watermark: Mutex<Option<UnixSecs>>,
}

impl StateStore for MemoryCheckpointStore {
    async fn load(&self, keys: &[String]) -> Result<StateMap, PortError> {
        self.store.load(keys).await
    }
    async fn save(&self, states: &StateMap) -> Result<(), PortError> {
        self.store.save(states).await
    }
}

impl CheckpointStore for MemoryCheckpointStore {
    async fn watermark(&self) -> Result<Option<UnixSecs>, PortError> {
        Ok(*self
            .watermark
            .lock()
            .map_err(|_| PortError::permanent("watermark lock poisoned"))?)
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<(), PortError> {
        self.store.save(commit.states).await?;
        if let Some(w) = commit.watermark {
            let mut current = self
                .watermark
                .lock()
                .map_err(|_| PortError::permanent("watermark lock poisoned"))?;
            *current = Some(current.map_or(w, |c| c.max(w)));
        }
        Ok(())
    }
}

/// Where a run's metrics go: EMF log lines in Lambda, PutMetricData elsewhere.
pub trait MetricsSink {
    fn emit(
        &self,
        data: &[crate::metrics::Datum],
        timestamp_ms: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
