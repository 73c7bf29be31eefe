//! Update events and alerts fanned out to WebSocket servers (Redis pub/sub). Publication is
//! deduplicated by event id in the adapter, so a batch redone after a failure publishes
//! nothing twice.

use super::{PortError, lock};
use crate::event::Event;
use std::future::Future;
use std::sync::Mutex;

pub trait EventPublisher {
    fn publish(&self, events: &[Event]) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Published events, in order, with the channels each went to.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    pub published: Mutex<Vec<(Vec<String>, Event)>>,
}

impl EventPublisher for MemoryPublisher {
    async fn publish(&self, events: &[Event]) -> Result<(), PortError> {
        lock(&self.published, "publisher")?
            .extend(events.iter().map(|e| (e.channels(), e.clone())));
        Ok(())
    }
}
