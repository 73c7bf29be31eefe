//! The traits the engine's surroundings implement, and their in-memory versions.
//! Lambdas plug in the Redis, SQS and CloudWatch adapters; tests and the replay plug in these.
//! Every port error says whether retrying can help.

use crate::event::{Event, SqsAlertBody};
use crate::state::StateMap;
use std::future::Future;
use std::sync::Mutex;

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
