//! What happened, per receiver: delivered, failed (retryable or permanent), suppressed (dedup,
//! cooldown, silence, stale trigger) and delivery latency. Each occurrence is one method that
//! writes its log line and counts its metric together, so the two never drift apart. At the
//! end of a batch [`Metrics::flush`] prints one CloudWatch EMF line per receiver.

use crate::retry::Failure;
use pulse_core::metrics::{Unit, emf_document};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suppression {
    /// Already delivered (the same event again, or this receiver on a retry).
    Dedup,
    /// Within the repeat interval, severity not higher.
    Cooldown,
    /// Muted by a silence.
    Silence,
    /// A trigger older than the newest resolve of its episode.
    Stale,
}

/// Counters of one receiver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub delivered: u64,
    /// Delivered past `max_age`, marked late.
    pub delivered_late: u64,
    pub failed: u64,
    pub failed_permanent: u64,
    pub suppressed_dedup: u64,
    pub suppressed_cooldown: u64,
    pub suppressed_silence: u64,
    pub suppressed_stale: u64,
    /// Messages sent back to the alerts queue with a delay because this receiver asked to
    /// wait (`Retry-After`) or its rate limit was reached.
    pub deferred: u64,
    pub latency_ms: Vec<f64>,
}

#[derive(Debug, Default)]
struct State {
    /// Since the last flush.
    batch: BTreeMap<String, Counts>,
    invalid_batch: u64,
    /// Since start (for tests and the bench).
    total: BTreeMap<String, Counts>,
}

#[derive(Debug)]
pub struct Metrics {
    namespace: String,
    state: Mutex<State>,
    /// Whether [`Metrics::flush`] prints (off for `pulse local alert`, which prints a summary).
    emf: bool,
}

const FUNCTION: &str = "alert-consumer";

impl Metrics {
    pub fn new(namespace: impl Into<String>) -> Self {
        Metrics {
            namespace: namespace.into(),
            state: Mutex::new(State::default()),
            emf: true,
        }
    }

    /// The same counters, with no EMF lines printed.
    pub fn without_emf(mut self) -> Self {
        self.emf = false;
        self
    }

    fn count(&self, receiver: &str, f: impl Fn(&mut Counts)) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(s.batch.entry(receiver.to_string()).or_default());
        f(s.total.entry(receiver.to_string()).or_default());
    }

    /// `late`: the alert's age, when past `max_age`.
    pub fn delivered(
        &self,
        receiver: &str,
        latency: Duration,
        escalation: bool,
        late: Option<Duration>,
    ) {
        let ms = latency.as_secs_f64() * 1000.0;
        match late {
            Some(age) => tracing::warn!(
                receiver,
                latency_ms = ms,
                escalation,
                age_secs = age.as_secs(),
                "delivered late"
            ),
            None => tracing::info!(receiver, latency_ms = ms, escalation, "delivered"),
        }
        self.count(receiver, |c| {
            c.delivered += 1;
            c.delivered_late += u64::from(late.is_some());
            c.latency_ms.push(ms);
        });
    }

    pub fn failed(&self, receiver: &str, failure: &Failure) {
        let permanent = !failure.is_retryable();
        if permanent {
            tracing::error!(
                receiver,
                reason = failure.reason(),
                "delivery failed permanently for this receiver"
            );
        } else {
            tracing::warn!(
                receiver,
                reason = failure.reason(),
                "delivery failed, will retry"
            );
        }
        self.count(receiver, |c| {
            c.failed += 1;
            if permanent {
                c.failed_permanent += 1;
            }
        });
    }

    pub fn suppressed(&self, receiver: &str, why: Suppression, detail: &str) {
        tracing::info!(receiver, suppressed = ?why, detail, "suppressed");
        self.count(receiver, |c| match why {
            Suppression::Dedup => c.suppressed_dedup += 1,
            Suppression::Cooldown => c.suppressed_cooldown += 1,
            Suppression::Silence => c.suppressed_silence += 1,
            Suppression::Stale => c.suppressed_stale += 1,
        });
    }

    /// A message deferred for `receiver`, for `delay`.
    pub fn deferred(&self, receiver: &str, delay: Duration, reason: &str) {
        tracing::info!(
            receiver,
            delay_secs = delay.as_secs(),
            reason,
            "deferred: back to the alerts queue with a delay"
        );
        self.count(receiver, |c| c.deferred += 1);
    }

    pub fn invalid_message(&self, reason: &str) {
        tracing::error!(
            reason,
            "unparseable message: reported failed, it goes to the DLQ after maxReceiveCount"
        );
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.invalid_batch += 1;
    }

    /// Counts since start, per receiver.
    pub fn totals(&self) -> BTreeMap<String, Counts> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .total
            .clone()
    }

    /// The EMF documents of the batch so far, and resets it.
    pub fn take_emf(&self, now_ms: i64) -> Vec<Value> {
        let (batch, invalid) = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            (
                std::mem::take(&mut s.batch),
                std::mem::take(&mut s.invalid_batch),
            )
        };
        let mut docs = Vec::new();
        for (receiver, c) in batch {
            let mut names = vec![
                ("Delivered", Unit::Count, json!(c.delivered)),
                ("DeliveredLate", Unit::Count, json!(c.delivered_late)),
                ("Failed", Unit::Count, json!(c.failed)),
                ("FailedPermanent", Unit::Count, json!(c.failed_permanent)),
                ("SuppressedDedup", Unit::Count, json!(c.suppressed_dedup)),
                (
                    "SuppressedCooldown",
                    Unit::Count,
                    json!(c.suppressed_cooldown),
                ),
                (
                    "SuppressedSilence",
                    Unit::Count,
                    json!(c.suppressed_silence),
                ),
                ("SuppressedStale", Unit::Count, json!(c.suppressed_stale)),
                ("Deferred", Unit::Count, json!(c.deferred)),
            ];
            if !c.latency_ms.is_empty() {
                names.push(("DeliveryLatency", Unit::Milliseconds, json!(c.latency_ms)));
            }
            docs.push(emf(
                &self.namespace,
                now_ms,
                &[("Receiver", receiver.as_str())],
                &names,
            ));
        }
        if invalid > 0 {
            docs.push(emf(
                &self.namespace,
                now_ms,
                &[],
                &[("InvalidMessages", Unit::Count, json!(invalid))],
            ));
        }
        docs
    }

    /// Prints the batch's EMF lines to stdout (CloudWatch Logs extracts the metrics).
    pub fn flush(&self, now_ms: i64) {
        let docs = self.take_emf(now_ms);
        if !self.emf {
            return;
        }
        for doc in docs {
            println!("{doc}");
        }
    }
}

fn emf(
    namespace: &str,
    now_ms: i64,
    dims: &[(&str, &str)],
    metrics: &[(&str, Unit, Value)],
) -> Value {
    let mut dimensions = vec![("Function", FUNCTION)];
    dimensions.extend_from_slice(dims);
    emf_document(namespace, now_ms, &dimensions, metrics, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_per_receiver() {
        let m = Metrics::new("Pulse");
        m.delivered("slack", Duration::from_millis(12), false, None);
        m.suppressed("slack", Suppression::Cooldown, "until later");
        m.failed("pager", &Failure::permanent("HTTP 400"));
        m.invalid_message("not json");
        let docs = m.take_emf(1_000);
        assert_eq!(docs.len(), 3);
        let slack = docs
            .iter()
            .find(|d| d["Receiver"] == "slack")
            .cloned()
            .unwrap_or_default();
        assert_eq!(slack["Delivered"], 1);
        assert_eq!(slack["SuppressedCooldown"], 1);
        assert_eq!(slack["DeliveryLatency"][0], 12.0);
        assert_eq!(
            slack["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][1],
            "Receiver"
        );
        let pager = docs
            .iter()
            .find(|d| d["Receiver"] == "pager")
            .cloned()
            .unwrap_or_default();
        assert_eq!(pager["FailedPermanent"], 1);
        assert!(m.take_emf(2_000).is_empty());
        assert_eq!(m.totals()["slack"].delivered, 1);
    }
}
