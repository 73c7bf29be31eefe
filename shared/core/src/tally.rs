//! Counters of what a run did: records, rejections by reason, events by type, alerts by
//! severity. The replay summary and the Lambdas' metrics both read them.

use crate::event::{Event, EventType, Severity};
use crate::record::RejectReason;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Records applied to state.
    pub applied: u64,
    /// Records skipped as not newer than their key's state.
    pub stale: u64,
    pub rejected: BTreeMap<RejectReason, u64>,
    pub events: BTreeMap<EventType, u64>,
    pub alerts: BTreeMap<Severity, u64>,
}

impl Tally {
    pub fn reject(&mut self, reason: RejectReason) {
        *self.rejected.entry(reason).or_default() += 1;
    }

    pub fn count_event(&mut self, event: &Event) {
        *self.events.entry(event.event_type()).or_default() += 1;
        if let Some(alert) = event.alert() {
            *self.alerts.entry(alert.severity).or_default() += 1;
        }
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Records read: applied, stale and rejected.
    pub fn records(&self) -> u64 {
        self.applied + self.stale + self.rejected_total()
    }
}
