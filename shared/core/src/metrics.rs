//! The metrics of a run (processed, rejected by reason, events by type, alerts by severity,
//! window gaps, healed states, duration, lag), as data, and their CloudWatch Embedded Metric Format log lines. Pure:
//! the sinks that print the lines or call PutMetricData are adapters.

use crate::tally::Tally;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
}

impl Unit {
    /// The CloudWatch unit name.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One metric value with its dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
    /// Dimension names and values, in a fixed order.
    pub dimensions: Vec<(&'static str, String)>,
}

impl Datum {
    fn new(name: &'static str, unit: Unit, value: f64, dims: &[(&'static str, &str)]) -> Self {
        Datum {
            name,
            unit,
            value,
            dimensions: dims.iter().map(|(k, v)| (*k, (*v).to_string())).collect(),
        }
    }
}

/// What the scheduled read cost, as metrics (`ItemsExamined` is what DynamoDB bills).
pub fn read_metrics(cost: &crate::ports::ReadCost) -> Vec<Datum> {
    let base = [("Trigger", "scheduled")];
    vec![
        Datum::new("ItemsExamined", Unit::Count, cost.examined as f64, &base),
        Datum::new("ReadUnits", Unit::Count, cost.read_units, &base),
        Datum::new(
            "DiscoveryItemsExamined",
            Unit::Count,
            cost.discovery_examined as f64,
            &base,
        ),
        Datum::new("KeysQueried", Unit::Count, cost.keys_queried as f64, &base),
        Datum::new(
            "KeysDiscovered",
            Unit::Count,
            cost.keys_discovered as f64,
            &base,
        ),
    ]
}

/// Stream records with no new value: REMOVEs (ignored) and INSERT/MODIFY records without a
/// NewImage (unreadable; alarmed on).
pub fn stream_metrics(removes: u64, without_image: u64) -> Vec<Datum> {
    let base = [("Trigger", "stream")];
    vec![
        Datum::new("StreamRemovesIgnored", Unit::Count, removes as f64, &base),
        Datum::new(
            "StreamRecordsWithoutImage",
            Unit::Count,
            without_image as f64,
            &base,
        ),
    ]
}

/// What a scheduled tick left or set aside: records deferred to the next tick (budget spent),
/// a state reset seen (Redis lost the state).
pub fn tick_metrics(deferred: usize, state_reset: bool) -> Vec<Datum> {
    let base = [("Trigger", "scheduled")];
    vec![
        Datum::new("RecordsDeferred", Unit::Count, deferred as f64, &base),
        Datum::new(
            "StateResets",
            Unit::Count,
            if state_reset { 1.0 } else { 0.0 },
            &base,
        ),
    ]
}

/// Whether an invocation failed (1) or not (0), and the alerts it quarantined: emitted on
/// every invocation, so the alarms on them have data either way.
pub fn outcome_metrics(trigger: &str, failed: bool, quarantined: usize) -> Vec<Datum> {
    let base = [("Trigger", trigger)];
    vec![
        Datum::new(
            "InvocationFailures",
            Unit::Count,
            if failed { 1.0 } else { 0.0 },
            &base,
        ),
        Datum::new("AlertsQuarantined", Unit::Count, quarantined as f64, &base),
    ]
}

/// A scheduled invocation that found another tick holding the lease and exited.
pub fn overlap_metrics() -> Vec<Datum> {
    vec![Datum::new(
        "TicksOverlapped",
        Unit::Count,
        1.0,
        &[("Trigger", "scheduled")],
    )]
}

/// The metrics of one invocation. `trigger` is `scheduled` or `stream`; `lag_secs` is now
/// minus the newest record's time, when there was a record.
pub fn invocation_metrics(
    tally: &Tally,
    trigger: &str,
    duration_ms: f64,
    lag_secs: Option<f64>,
) -> Vec<Datum> {
    let base = [("Trigger", trigger)];
    let mut out = vec![
        Datum::new(
            "RecordsProcessed",
            Unit::Count,
            tally.records() as f64,
            &base,
        ),
        Datum::new("RecordsApplied", Unit::Count, tally.applied as f64, &base),
        Datum::new("RecordsStale", Unit::Count, tally.stale as f64, &base),
        Datum::new(
            "RecordsRejected",
            Unit::Count,
            tally.rejected_total() as f64,
            &base,
        ),
        Datum::new("Duration", Unit::Milliseconds, duration_ms, &base),
        Datum::new("WindowGaps", Unit::Count, tally.window_gaps as f64, &base),
        Datum::new("StatesHealed", Unit::Count, tally.healed as f64, &base),
    ];
    if let Some(lag) = lag_secs {
        out.push(Datum::new("Lag", Unit::Seconds, lag, &base));
    }
    for (reason, n) in &tally.rejected {
        out.push(Datum::new(
            "RecordsRejected",
            Unit::Count,
            *n as f64,
            &[("Trigger", trigger), ("Reason", reason.as_str())],
        ));
    }
    for (kind, n) in &tally.events {
        out.push(Datum::new(
            "Events",
            Unit::Count,
            *n as f64,
            &[("Trigger", trigger), ("EventType", kind.as_str())],
        ));
    }
    for (severity, n) in &tally.alerts {
        out.push(Datum::new(
            "Alerts",
            Unit::Count,
            *n as f64,
            &[("Trigger", trigger), ("Severity", severity.as_str())],
        ));
    }
    out
}

/// One EMF document, the one encoder of every pulse metric line: `metrics` (name, unit, and
/// a number or an array of numbers) under one dimension set, plus `properties` that are logged
/// but are not dimensions (a reason, a flag). CloudWatch Logs turns the line into metrics in
/// `namespace`.
pub fn emf_document(
    namespace: &str,
    timestamp_ms: i64,
    dimensions: &[(&str, &str)],
    metrics: &[(&str, Unit, Value)],
    properties: &[(&str, Value)],
) -> Value {
    let mut doc = Map::new();
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let declared: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [names],
                "Metrics": declared,
            }],
        }),
    );
    for (k, v) in dimensions {
        doc.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    for (k, v) in properties {
        doc.insert((*k).to_string(), v.clone());
    }
    for (name, _, value) in metrics {
        doc.insert((*name).to_string(), value.clone());
    }
    Value::Object(doc)
}

/// EMF log lines of a run's data: one document per dimension set.
pub fn emf_lines(namespace: &str, data: &[Datum], timestamp_ms: i64) -> Vec<String> {
    let mut groups: BTreeMap<Vec<(&str, &str)>, Vec<&Datum>> = BTreeMap::new();
    for d in data {
        let dims: Vec<(&str, &str)> = d.dimensions.iter().map(|(k, v)| (*k, v.as_str())).collect();
        groups.entry(dims).or_default().push(d);
    }
    groups
        .into_iter()
        .map(|(dims, data)| {
            let metrics: Vec<(&str, Unit, Value)> = data
                .iter()
                .map(|d| (d.name, d.unit, json!(d.value)))
                .collect();
            emf_document(namespace, timestamp_ms, &dims, &metrics, &[]).to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::event::{EventType, Severity};
    use crate::record::RejectReason;

    #[test]
    fn emf_groups_by_dimension_set_and_declares_every_metric() {
        let mut tally = Tally {
            applied: 7,
            stale: 1,
            ..Tally::default()
        };
        tally.reject(RejectReason::Malformed);
        tally.reject(RejectReason::Malformed);
        tally.events.insert(EventType::PriceUpdate, 3);
        tally.alerts.insert(Severity::Critical, 1);
        let data = invocation_metrics(&tally, "scheduled", 12.5, Some(4.0));
        let lines = emf_lines("Pulse", &data, 1_700_000_000_000);
        assert_eq!(lines.len(), 4, "base, reason, event type, severity");
        let docs: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let base = docs.iter().find(|d| d.get("Duration").is_some()).unwrap();
        assert_eq!(base["RecordsProcessed"], json!(10.0));
        assert_eq!(base["RecordsRejected"], json!(2.0));
        assert_eq!(base["Lag"], json!(4.0));
        assert_eq!(base["WindowGaps"], json!(0.0));
        assert_eq!(base["StatesHealed"], json!(0.0));
        assert_eq!(base["Trigger"], "scheduled");
        let cw = &base["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Pulse");
        assert_eq!(cw["Dimensions"], json!([["Trigger"]]));
        assert_eq!(base["_aws"]["Timestamp"], json!(1_700_000_000_000_i64));
        let reason = docs.iter().find(|d| d.get("Reason").is_some()).unwrap();
        assert_eq!(reason["Reason"], "malformed");
        assert_eq!(reason["RecordsRejected"], json!(2.0));
        assert_eq!(
            reason["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Trigger", "Reason"]])
        );
        let sev = docs.iter().find(|d| d.get("Severity").is_some()).unwrap();
        assert_eq!(sev["Alerts"], json!(1.0));
    }
}
