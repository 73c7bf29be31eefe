//! The detector's data-health alarms and its concurrency, read from the HCL: every alarm the
//! issue asks for exists, every pulse metric an alarm names is one the code emits (the names
//! are read from `shared/core/src/metrics.rs`, so a rename on either side fails here), and the
//! stream path shares no reserved concurrency with the schedule.

use crate::hcl::{Module, attr_text, terraform_dir};
use std::collections::BTreeSet;

/// The metric names the code emits: every `Datum::new("Name"` in the metrics module.
fn emitted() -> BTreeSet<String> {
    let path = terraform_dir().join("../shared/core/src/metrics.rs");
    let code = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut out = BTreeSet::new();
    for part in code.split("Datum::new(").skip(1) {
        let part = part.trim_start();
        if let Some(rest) = part.strip_prefix('"')
            && let Some(end) = rest.find('"')
        {
            out.insert(rest[..end].to_string());
        }
    }
    assert!(
        out.contains("RecordsProcessed") && out.len() > 10,
        "metric names not found in {path:?}: {out:?}"
    );
    out
}

/// Words that are CloudWatch vocabulary, not metric names.
const NOT_METRICS: &[&str] = &[
    "Sum",
    "Maximum",
    "Minimum",
    "Average",
    "SampleCount",
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];

/// AWS metrics the detector's alarms read besides its own.
const AWS_METRICS: &[&str] = &["ConsumedWriteCapacityUnits", "IteratorAge"];

/// Quoted single CamelCase words in an alarm's HCL: the metric names it reads.
fn metric_words(hcl_text: &str) -> BTreeSet<String> {
    hcl_text
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            w.len() > 2
                && w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && w.chars().all(|c| c.is_ascii_alphanumeric())
                && w.chars().any(|c| c.is_ascii_lowercase())
        })
        .filter(|w| !NOT_METRICS.contains(w))
        .map(str::to_string)
        .collect()
}

#[test]
fn data_health_alarms_exist_and_read_metrics_the_code_emits() {
    let alarms = Module::named("alarms");
    let code = emitted();
    let main = std::fs::read_to_string(alarms.dir.join("main.tf")).unwrap();
    // What the issue asks for, by resource, with the metrics each must read.
    let wanted: &[(&str, &[&str])] = &[
        (
            "detector_no_records",
            &["RecordsApplied", "ConsumedWriteCapacityUnits"],
        ),
        (
            "detector_rejections",
            &["RecordsProcessed", "RecordsRejected"],
        ),
        ("stream_iterator_age", &["IteratorAge"]),
        ("detector_record_lag", &["Lag"]),
        ("detector_state_resets", &["StateResets"]),
        ("detector_quarantined", &["AlertsQuarantined"]),
    ];
    let mut checked = 0;
    for (name, metrics) in wanted {
        let start = main
            .find(&format!(
                "resource \"aws_cloudwatch_metric_alarm\" \"{name}\""
            ))
            .unwrap_or_else(|| panic!("no alarm {name} in modules/alarms"));
        let block = &main[start..];
        let end = block[1..]
            .find("\nresource ")
            .map_or(block.len(), |e| e + 1);
        let block = &block[..end];
        let words = metric_words(block);
        for m in *metrics {
            assert!(words.contains(*m), "{name} does not read {m}: {words:?}");
        }
        for w in &words {
            assert!(
                code.contains(w) || AWS_METRICS.contains(&w.as_str()),
                "{name} reads {w}, which the detector never emits (emitted: {code:?})"
            );
        }
        if block.contains("var.metrics_namespace") {
            assert!(
                block.contains("Trigger"),
                "{name}: the detector's metrics carry the dimension Trigger"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, wanted.len());
    // The dimension the alarms use is the one the code writes.
    let metrics_code =
        std::fs::read_to_string(terraform_dir().join("../shared/core/src/metrics.rs")).unwrap();
    assert!(metrics_code.contains("[(\"Trigger\", \"scheduled\")]"));
    assert!(metrics_code.contains("[(\"Trigger\", \"stream\")]"));

    // The environment module wires the tables and the stream switch into the alarms.
    let pulse = Module::named("pulse");
    let call = pulse.module_call("alarms");
    assert_eq!(attr_text(call, "source_table_names"), "local.table_names");
    assert_eq!(
        attr_text(call, "stream_trigger_enabled"),
        "var.enable_stream_trigger"
    );
}

/// The emitter test above must be able to fail: a name the code does not emit is caught.
#[test]
fn a_metric_the_code_does_not_emit_is_caught() {
    let code = emitted();
    let words = metric_words(r#"metric_name = "RecordsProcesed" statistic = "Sum""#);
    assert_eq!(words.len(), 1);
    assert!(words.iter().all(|w| !code.contains(w)));
}

/// The stream path does not share a concurrency cap with the schedule: the detector is
/// unreserved (ticks are kept one at a time by the Redis lease), and both triggers invoke
/// the same alias.
#[test]
fn the_stream_path_shares_no_reserved_concurrency_with_the_schedule() {
    let pulse = Module::named("pulse");
    let main = std::fs::read_to_string(pulse.dir.join("main.tf")).unwrap();
    let start = main.find("    detector = {").expect("functions.detector");
    let detector = &main[start..start + main[start..].find("\n    }").unwrap()];
    assert!(
        detector.contains("reserved_concurrent_executions = -1"),
        "the detector must stay unreserved: {detector}"
    );
    let mapping = pulse.resource("aws_lambda_event_source_mapping", "detector_stream");
    let target = pulse.resource("aws_cloudwatch_event_target", "detector_schedule");
    assert_eq!(
        attr_text(mapping, "function_name"),
        "module.function[\"detector\"].alias_arn"
    );
    assert_eq!(
        attr_text(target, "arn"),
        "module.function[\"detector\"].alias_arn"
    );
    // The tick's time budget is derived from the timeout.
    assert!(main.contains("PULSE_TICK_BUDGET_SECS = tostring(max(var.detector_timeout - 15"));
}
