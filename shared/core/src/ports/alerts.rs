//! High-priority alerts on their way to people: the alerts queue (SQS), which reports which
//! alerts went out when some did not, and the ledger of alerts that reached it, so a batch
//! redone after a failure does not send them twice.

use super::{PortError, lock};
use crate::event::SqsAlertBody;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;
use uuid::Uuid;

/// What an alert send achieved: the alerts that reached the queue, and the error that stopped
/// the rest. A partial failure lists what was sent, so a rerun does not send it again.
#[derive(Debug, Default)]
pub struct Delivery {
    pub sent: Vec<Uuid>,
    pub error: Option<PortError>,
}

/// Sends alerts on (SQS), saying which went out.
pub trait AlertSink {
    fn deliver(&self, alerts: &[SqsAlertBody]) -> impl Future<Output = Delivery> + Send;
}

/// Remembers which alerts reached the queue (by event id).
pub trait AlertLedger {
    /// Of these event ids, the ones not recorded as sent.
    fn unsent(&self, ids: &[Uuid])
    -> impl Future<Output = Result<HashSet<Uuid>, PortError>> + Send;
    /// Records these event ids as sent.
    fn mark_sent(&self, ids: &[Uuid]) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Alerts sent, in order.
#[derive(Debug, Default)]
pub struct MemoryAlertSink {
    pub sent: Mutex<Vec<SqsAlertBody>>,
}

impl AlertSink for MemoryAlertSink {
    async fn deliver(&self, alerts: &[SqsAlertBody]) -> Delivery {
        match lock(&self.sent, "alert sink") {
            Ok(mut sent) => {
                sent.extend(alerts.iter().cloned());
                Delivery {
                    sent: alerts.iter().map(|a| a.event.event_id).collect(),
                    error: None,
                }
            }
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
        let sent = lock(&self.sent, "ledger")?;
        Ok(ids
            .iter()
            .filter(|id| !sent.contains(id))
            .copied()
            .collect())
    }

    async fn mark_sent(&self, ids: &[Uuid]) -> Result<(), PortError> {
        lock(&self.sent, "ledger")?.extend(ids.iter().copied());
        Ok(())
    }
}
