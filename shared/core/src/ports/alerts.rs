//! High-priority alerts on their way to people: the alerts queue (SQS), which reports which
//! alerts went out when some did not, and the ledger of alerts that reached it, so a batch
//! redone after a failure does not send them twice. An alert the queue refuses for good (a
//! poison alert: too large, or refused as the sender's fault) is quarantined by the ledger,
//! where an operator can see and replay it, instead of blocking every batch after it.

use super::{PortError, lock};
use crate::event::SqsAlertBody;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;
use uuid::Uuid;

/// What an alert send achieved: the alerts that reached the queue, those refused for good
/// (with why), and the error that stopped the rest. A partial failure lists what was sent, so
/// a rerun does not send it again.
#[derive(Debug, Default)]
pub struct Delivery {
    pub sent: Vec<Uuid>,
    /// Alerts the queue will never take as they are (each with the reason): quarantined by
    /// the caller, never retried.
    pub refused: Vec<(Uuid, String)>,
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
    /// Keeps an alert the queue refused for good where an operator can see and replay it, and
    /// records it as handled so a rerun does not try it again.
    fn quarantine(
        &self,
        alert: &SqsAlertBody,
        reason: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
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
                    ..Delivery::default()
                }
            }
            Err(error) => Delivery {
                error: Some(error),
                ..Delivery::default()
            },
        }
    }
}

/// Sent alert ids kept in memory, with the quarantined alerts and why.
#[derive(Debug, Default)]
pub struct MemoryAlertLedger {
    pub sent: Mutex<HashSet<Uuid>>,
    pub quarantined: Mutex<Vec<(SqsAlertBody, String)>>,
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

    async fn quarantine(&self, alert: &SqsAlertBody, reason: &str) -> Result<(), PortError> {
        lock(&self.quarantined, "ledger")?.push((alert.clone(), reason.to_string()));
        lock(&self.sent, "ledger")?.insert(alert.event.event_id);
        Ok(())
    }
}
