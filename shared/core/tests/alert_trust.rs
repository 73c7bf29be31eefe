//! Alerts people can trust (issue 10): one test per defect the issue found, each failing on
//! the engine before the fix. They use only the public API that existed then, so they can be
//! run against the old code to see them fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::engine::{Context, Engine};
use pulse_core::event::{AlertRule, Event, EventType, Payload, Severity, Source, SqsAlertBody};
use pulse_core::parse::{self, Format};
use pulse_core::record::Record;
use pulse_core::state::StateMap;
use pulse_core::{Config, Rejection};

const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

fn parsed(line: &str) -> Result<Record, Rejection> {
    let mut out = None;
    parse::parse_line(Format::Plain, line, &Config::default().validation, |r| {
        out = Some(r)
    });
    out.unwrap()
}

fn record(line: &str) -> Record {
    parsed(line).unwrap()
}

fn price(pk: &str, t: i64, p: f64) -> Record {
    record(&format!(
        r#"{{"PK":"{pk}","SK":{t},"price":{p:?},"symbol":"X"}}"#
    ))
}

fn tvl(id: &str, t: i64, total: f64, keys: &[(&str, f64)]) -> Record {
    let keys: String = keys
        .iter()
        .map(|(c, v)| format!(r#","{c}":{v:?}"#))
        .collect();
    record(&format!(
        r#"{{"PK":"hourlyTvl#{id}","SK":{t},"tvl":{total:?}{keys}}}"#
    ))
}

/// Runs records one by one through fresh state, in `ctx`.
fn run_in(records: &[Record], ctx: &Context) -> Vec<Event> {
    let engine = Engine::new(Config::default());
    let mut states = StateMap::default();
    let mut out = Vec::new();
    for r in records {
        out.extend(
            engine
                .detect_batch(std::slice::from_ref(r), &mut states, ctx)
                .events,
        );
    }
    out
}

fn run(records: &[Record]) -> Vec<Event> {
    run_in(records, &Context::replay())
}

fn alerts(events: &[Event]) -> Vec<&pulse_core::event::Alert> {
    events.iter().filter_map(Event::alert).collect()
}

fn tvl_changes(events: &[Event]) -> Vec<&pulse_core::event::TvlChange> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::TvlChange(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn daily_data_is_never_judged_by_the_hour_window() {
    // Defect: the 1h window took "the newest value at or before its start" however old, so
    // daily data was compared with yesterday under the tight 1h thresholds: every windowed
    // alert on the daily data sets said "within 1h".
    let pk = "coingecko#daily-token";
    let events = run(&[
        price(pk, T0, 100.0),
        // +8 % in a day: past the 1h warning (5 %), under the 24h one (10 %).
        price(pk, T0 + DAY, 108.0),
        // +29.6 % printed 30 days after the previous price: no window can show that.
        price(pk, T0 + 31 * DAY, 140.0),
        // +12.5 % in a day: the 24h warning.
        price(pk, T0 + 32 * DAY, 157.5),
    ]);
    let a = alerts(&events);
    for alert in &a {
        assert_ne!(alert.window.as_deref(), Some("1h"), "{alert:?}");
        assert!(!alert.message.contains("within 1h"), "{}", alert.message);
    }
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(
        (a[0].rule, a[0].severity, a[0].window.as_deref()),
        (AlertRule::PriceMove, Severity::Warning, Some("1d"))
    );
    assert!(a[0].message.contains("within 24h"), "{}", a[0].message);
}

#[test]
fn tvl_sections_are_not_chains() {
    // Defect: `borrowed` and `<chain>-borrowed` were treated as chains: a protocol whose TVL
    // rose while its loans were repaid got critical tvl_drop alerts, and a section appearing
    // was a chain_added.
    let events = run(&[
        tvl(
            "lender",
            T0,
            1_000e6,
            &[
                ("ethereum", 600e6),
                ("arbitrum", 400e6),
                ("borrowed", 500e6),
                ("ethereum-borrowed", 300e6),
                ("arbitrum-borrowed", 200e6),
            ],
        ),
        tvl(
            "lender",
            T0 + 1800,
            1_020e6,
            &[
                ("ethereum", 610e6),
                ("arbitrum", 410e6),
                ("borrowed", 150e6),
                ("ethereum-borrowed", 90e6),
                ("arbitrum-borrowed", 60e6),
                ("ethereum-staking", 5e6),
            ],
        ),
    ]);
    assert!(alerts(&events).is_empty(), "{:?}", alerts(&events));
    assert!(
        events
            .iter()
            .all(|e| e.event_type() != EventType::ProtocolUpdate),
        "a section appearing is not a chain_added"
    );
    let changes = tvl_changes(&events);
    for t in &changes {
        let chain = t.chain.as_deref().unwrap_or("");
        assert!(
            !chain.contains("borrowed") && !chain.contains("staking"),
            "{t:?}"
        );
    }
    let total = changes.iter().find(|t| t.breakdown.is_some()).unwrap();
    let breakdown = total.breakdown.as_ref().unwrap();
    assert_eq!(
        breakdown.get("ethereum-borrowed"),
        Some(90e6),
        "sections ride in the breakdown"
    );
    assert_eq!(breakdown.get("ethereum-staking"), Some(5e6));
}

#[test]
fn a_single_chain_protocol_gives_one_event_per_change() {
    // Defect: the total and its only chain each gave an identical tvl_change (93,152
    // duplicated pairs in the chains replay).
    let events = run(&[
        tvl("solo", T0, 100e6, &[("ethereum", 100e6)]),
        tvl("solo", T0 + 3600, 150e6, &[("ethereum", 150e6)]),
    ]);
    let changes = tvl_changes(&events);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].chain.as_deref(), Some("ethereum"));
    let channels = events[0].channels();
    for c in [
        "events:tvl",
        "events:protocol:solo",
        "events:chain:ethereum:tvl",
    ] {
        assert!(
            channels.contains(&c.to_string()),
            "{c} missing: {channels:?}"
        );
    }
    // A second chain appearing later: ethereum is measured from its own last value (150 M),
    // not from a stale baseline, so it makes no event of its own.
    let events = run(&[
        tvl("solo", T0, 100e6, &[("ethereum", 100e6)]),
        tvl("solo", T0 + 600, 150e6, &[("ethereum", 150e6)]),
        tvl(
            "solo",
            T0 + 1200,
            160e6,
            &[("ethereum", 150e6), ("bsc", 10e6)],
        ),
    ]);
    let third: Vec<_> = events
        .iter()
        .filter(|e| e.timestamp == (T0 + 1200) * 1000)
        .filter_map(|e| match &e.payload {
            Payload::TvlChange(t) => Some(t.chain.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(third, vec![None], "only the total changed");
}

#[test]
fn a_record_from_the_future_does_not_mute_its_key() {
    // Defect: a record stamped in 2100 was applied; every later record of the key was
    // "stale", and ETH falling 1500 → 100 raised nothing.
    let now = T0 + 600;
    let ctx = Context {
        source: Source::Scheduled,
        now: Some(now),
    };
    let eth = "coingecko#ethereum";
    let events = run_in(
        &[
            price(eth, T0, 1500.0),
            price(eth, 4_100_000_000, 1500.0),
            price(eth, now, 100.0),
        ],
        &ctx,
    );
    let a = alerts(&events);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!((a[0].severity, a[0].value), (Severity::Critical, 100.0));
}

#[test]
fn a_state_poisoned_by_a_future_record_heals() {
    // The same key, poisoned before the guard existed (no clock): once detection runs with a
    // clock, the state heals and the key alerts again.
    let eth = "coingecko#ethereum";
    let engine = Engine::new(Config::default());
    let mut states = StateMap::default();
    engine.detect_batch(
        &[price(eth, T0, 1500.0), price(eth, 4_100_000_000, 1500.0)],
        &mut states,
        &Context::replay(),
    );
    let ctx = |now| Context {
        source: Source::Scheduled,
        now: Some(now),
    };
    let mut events = Vec::new();
    for (t, p) in [(T0 + 600, 1500.0), (T0 + 660, 100.0)] {
        let out = engine.detect_batch(&[price(eth, t, p)], &mut states, &ctx(t));
        assert_eq!(out.applied, 1, "the key is not muted");
        events.extend(out.events);
    }
    let a = alerts(&events);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].severity, Severity::Critical);
}

/// Every number the event carries, wherever it is.
fn numbers(v: &serde_json::Value, path: &str, out: &mut Vec<(String, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                numbers(x, &format!("{path}.{k}"), out)
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                numbers(x, &format!("{path}[{i}]"), out)
            }
        }
        other => out.push((path.to_string(), other.clone())),
    }
}

#[test]
fn tiny_prices_never_make_an_event_without_numbers() {
    // Defect: a price of 5e-324 or 1e-300 made a critical alert whose changePercent was
    // null: it failed the schema and the alert consumer could not parse the SQS body.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../schema/event.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let lines = [
        r#"{"PK":"coingecko#dust","SK":1700000000,"price":1.0}"#,
        r#"{"PK":"coingecko#dust","SK":1700000060,"price":5e-324}"#,
        r#"{"PK":"coingecko#dust","SK":1700000120,"price":1e-300}"#,
        r#"{"PK":"coingecko#dust","SK":1700000180,"price":1.0}"#,
        r#"{"PK":"coingecko#dust2","SK":1700000000,"price":1e-300}"#,
        r#"{"PK":"coingecko#dust2","SK":1700000060,"price":2.0}"#,
        r#"{"PK":"hourlyTvl#dust","SK":1700000000,"tvl":1e-300}"#,
        r#"{"PK":"hourlyTvl#dust","SK":1700000060,"tvl":5e7}"#,
    ];
    let records: Vec<Record> = lines.iter().filter_map(|l| parsed(l).ok()).collect();
    let events = run(&records);
    for event in &events {
        let value = serde_json::to_value(event).unwrap();
        let mut all = Vec::new();
        numbers(&value["data"], "data", &mut all);
        for (path, v) in &all {
            assert!(
                !v.is_null()
                    || path.ends_with("symbol")
                    || path.ends_with("chain")
                    || path.ends_with("decimals"),
                "{path} is null in {value}"
            );
        }
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{value}\n{errors:?}");
        if let Some(body) = event.to_sqs_body() {
            let text = serde_json::to_string(&body).unwrap();
            serde_json::from_str::<SqsAlertBody>(&text)
                .unwrap_or_else(|e| panic!("the consumer cannot parse {text}: {e}"));
        }
    }
}

#[test]
fn peg_recovery_only_for_an_announced_episode() {
    // Defect: one warning, then a "recovered" for every later episode whose alert was
    // suppressed by the cooldown.
    let usdc = "coingecko#usd-coin";
    let mut records = Vec::new();
    for i in 0..4 {
        records.push(price(usdc, T0 + i * 240, 0.97));
        records.push(price(usdc, T0 + i * 240 + 120, 1.0));
    }
    let events = run(&records);
    let a = alerts(&events);
    let rules: Vec<AlertRule> = a.iter().map(|a| a.rule).collect();
    assert_eq!(
        rules,
        vec![AlertRule::PegDeviation, AlertRule::PegRecovery],
        "{a:?}"
    );
}
