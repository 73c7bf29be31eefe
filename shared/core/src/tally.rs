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
    /// Window comparisons skipped because no value's age fit the window (see
    /// [`crate::window::Reach::Gap`]).
    pub window_gaps: u64,
    /// States healed of times beyond the detection clock.
    pub healed: u64,
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

    /// Adds another run's counts.
    pub fn merge(&mut self, from: &Tally) {
        self.applied += from.applied;
        self.stale += from.stale;
        self.window_gaps += from.window_gaps;
        self.healed += from.healed;
        for (k, v) in &from.rejected {
            *self.rejected.entry(*k).or_default() += v;
        }
        for (k, v) in &from.events {
            *self.events.entry(*k).or_default() += v;
        }
        for (k, v) in &from.alerts {
            *self.alerts.entry(*k).or_default() += v;
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
