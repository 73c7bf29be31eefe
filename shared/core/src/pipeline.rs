//! One batch, end to end, in the order that loses nothing: load state, detect, publish
//! events, send alerts, and only then commit state. A failure anywhere returns the error
//! before the commit, so a retry redoes the batch; event ids are deterministic, so
//! consumers drop what they already saw. Both detector triggers run batches through
//! [`run_checkpointed`], against the Redis/SQS adapters in production and the in-memory
//! ports in unit tests.

use crate::engine::{Context, Engine};
use crate::event::{EventType, SqsAlertBody};
use crate::ports::{AlertLedger, AlertSink, CheckpointStore, Commit, EventPublisher, PortError};
use crate::record::{Record, UnixSecs};
use crate::tally::Tally;
use std::collections::HashSet;
use uuid::Uuid;

/// The ports a checkpointed batch runs against.
#[derive(Debug)]
pub struct Ports<'a, S, P, A, L> {
    pub store: &'a S,
    pub publisher: &'a P,
    pub alerts: &'a A,
    pub ledger: &'a L,
}

/// What a checkpointed batch did, beyond the tally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub events: usize,
    pub alerts_sent: usize,
    /// Alerts a previous, failed run of the same batch had already sent.
    pub alerts_already_sent: usize,
    /// Alerts the queue refused for good, quarantined by the ledger.
    pub alerts_quarantined: usize,
}

/// Runs `records` through the engine against the ports: load state, detect, publish events,
/// send the alerts the ledger has not seen sent (recording those that went out, also when
/// others failed), and only then commit state, current values and the watermark together. Any failure returns before the commit, so the next run redoes the batch:
/// publishing is deduplicated by event id in the publisher, sending by the ledger.
pub async fn run_checkpointed<S, P, A, L>(
    engine: &Engine,
    records: &[Record],
    ctx: &Context,
    ports: &Ports<'_, S, P, A, L>,
    watermark: Option<(&str, UnixSecs)>,
    now: UnixSecs,
    tally: &mut Tally,
) -> Result<BatchReport, PortError>
where
    S: CheckpointStore,
    P: EventPublisher,
    A: AlertSink,
    L: AlertLedger,
{
    let mut keys: Vec<String> = records.iter().map(Record::state_key).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut states = ports.store.load(&keys).await?;
    let out = engine.detect_batch(records, &mut states, ctx);
    ports.publisher.publish(&out.events).await?;
    let bodies: Vec<SqsAlertBody> = out
        .events
        .iter()
        .filter(|e| e.event_type() == EventType::Alert)
        .filter_map(|e| e.to_sqs_body())
        .collect();
    let mut report = BatchReport {
        events: out.events.len(),
        ..BatchReport::default()
    };
    if !bodies.is_empty() {
        let ids: Vec<Uuid> = bodies.iter().map(|b| b.event.event_id).collect();
        let unsent = ports.ledger.unsent(&ids).await?;
        let (to_send, already): (Vec<SqsAlertBody>, Vec<SqsAlertBody>) = bodies
            .into_iter()
            .partition(|b| unsent.contains(&b.event.event_id));
        report.alerts_already_sent = already.len();
        if !to_send.is_empty() {
            let delivery = ports.alerts.deliver(&to_send).await;
            report.alerts_sent = delivery.sent.len();
            let marked = if delivery.sent.is_empty() {
                Ok(())
            } else {
                ports.ledger.mark_sent(&delivery.sent).await
            };
            // A poison alert is kept aside, not retried: it would block every batch after it.
            for (id, reason) in &delivery.refused {
                let Some(alert) = to_send.iter().find(|b| b.event.event_id == *id) else {
                    continue;
                };
                let key = alert.event.alert().map_or("", |a| a.key.as_str());
                tracing::error!(event_id = %id, key, reason = %reason, "alert refused for good by the queue; quarantined");
                ports.ledger.quarantine(alert, reason).await?;
                report.alerts_quarantined += 1;
            }
            if let Some(error) = delivery.error {
                return Err(error);
            }
            marked?;
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    // Records stamped beyond the clock were rejected: they enter neither state nor history.
    let accepted: Vec<Record>;
    let history = if out.future == 0 {
        records
    } else {
        accepted = records
            .iter()
            .filter(|r| !engine.is_future(r, ctx))
            .cloned()
            .collect();
        &accepted
    };
    let current: Vec<&Record> = records
        .iter()
        .rev()
        .filter(|r| {
            let key = r.state_key();
            states.get(&key).and_then(|s| s.last_time) == Some(r.time) && seen.insert(key)
        })
        .collect();
    ports
        .store
        .commit(Commit {
            states: &states,
            current: &current,
            history,
            watermark,
            now,
            sections: engine.sections(),
        })
        .await?;
    out.add_to(tally);
    Ok(report)
}
