//! One batch, end to end, in the order that loses nothing: load state, detect, publish
//! events, send alerts, and only then save state. A failure anywhere returns the error
//! before state is saved, so a retry redoes the batch; event ids are deterministic, so
//! consumers drop what they already saw.

use crate::engine::{Context, Engine};
use crate::event::{EventType, SqsAlertBody};
use crate::ports::{AlertSink, EventPublisher, PortError, StateStore};
use crate::record::Record;
use crate::tally::Tally;

/// Runs `records` through the engine against the ports. Counts go into `tally`.
pub async fn run_batch<S, P, A>(
    engine: &Engine,
    records: &[Record],
    ctx: &Context,
    store: &S,
    publisher: &P,
    alerts: &A,
    tally: &mut Tally,
) -> Result<(), PortError>
where
    S: StateStore,
    P: EventPublisher,
    A: AlertSink,
{
    let mut keys: Vec<String> = records.iter().map(Record::state_key).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut states = store.load(&keys).await?;
    let out = engine.detect_batch(records, &mut states, ctx);
    publisher.publish(&out.events).await?;
    let bodies: Vec<SqsAlertBody> = out
        .events
        .iter()
        .filter(|e| e.event_type() == EventType::Alert)
        .filter_map(|e| e.to_sqs_body())
        .collect();
    if !bodies.is_empty() {
        alerts.send(&bodies).await?;
    }
    store.save(&states).await?;
    tally.applied += out.applied as u64;
    tally.stale += out.stale as u64;
    for event in &out.events {
        tally.count_event(event);
    }
    Ok(())
}
