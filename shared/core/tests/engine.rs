//! Engine behaviour through the public API: the SPEC section 5 faults (each has a test that
//! would have caught it), TVL chains and token removals, the batch pipeline's order of effects,
//! properties (no panics, stable ids, identical reruns) and the published JSON Schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::engine::{Context, Engine};
use pulse_core::event::{AlertRule, Event, EventType, Payload, Severity, Source, UpdateType};
use pulse_core::parse::{self, Format};
use pulse_core::pipeline::Ports;
use pulse_core::ports::{
    AlertSink, CheckpointStore, EventPublisher, MemoryAlertLedger, MemoryAlertSink,
    MemoryCheckpointStore, MemoryPublisher, PortError,
};
use pulse_core::record::Record;
use pulse_core::replay::Replay;
use pulse_core::state::StateMap;
use pulse_core::tally::Tally;
use pulse_core::{Config, pipeline};
use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

/// One batch through the pipeline production runs, with in-memory ports and no watermark.
async fn run_batch<P: EventPublisher>(
    engine: &Engine,
    records: &[Record],
    ctx: &Context,
    store: &MemoryCheckpointStore,
    publisher: &P,
    alerts: &MemoryAlertSink,
    tally: &mut Tally,
) -> Result<(), PortError> {
    let ledger = MemoryAlertLedger::default();
    let ports = Ports {
        store,
        publisher,
        alerts,
        ledger: &ledger,
    };
    let now = ctx.now.unwrap_or(0);
    pipeline::run_checkpointed(engine, records, ctx, &ports, None, now, tally)
        .await
        .map(|_| ())
}

/// Runs a future whose ports never wait (the in-memory ones).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn record(line: &str) -> Record {
    let mut out = None;
    parse::parse_line(Format::Plain, line, &Config::default().validation, |r| {
        out = Some(r.unwrap())
    });
    out.unwrap()
}

fn price(pk: &str, t: i64, p: f64) -> Record {
    record(&format!(
        r#"{{"PK":"{pk}","SK":{t},"price":{p},"symbol":"X","confidence":0.99}}"#
    ))
}

fn tvl(id: &str, t: i64, total: f64, chains: &[(&str, f64)]) -> Record {
    let chains: String = chains
        .iter()
        .map(|(c, v)| format!(r#","{c}":{v}"#))
        .collect();
    record(&format!(
        r#"{{"PK":"hourlyTvl#{id}","SK":{t},"tvl":{total}{chains}}}"#
    ))
}

fn run(records: &[Record]) -> Vec<Event> {
    let engine = Engine::new(Config::default());
    let mut states = StateMap::default();
    let mut out = Vec::new();
    for r in records {
        let state = states.entry(r.state_key()).or_default();
        engine.observe(r, state, &Context::replay(), &mut out);
    }
    out
}

fn of_type(events: &[Event], t: EventType) -> Vec<&Event> {
    events.iter().filter(|e| e.event_type() == t).collect()
}

fn alerts(events: &[Event]) -> Vec<&pulse_core::event::Alert> {
    events.iter().filter_map(Event::alert).collect()
}

mod spec_faults {
    use super::*;

    #[test]
    fn coingecko_baselines_are_read_under_the_key_they_are_written() {
        // Fault: written under one key, read under another: every price looked +100 %.
        let events = run(&[
            price("coingecko#bitcoin", 1_700_000_000, 60_000.0),
            price("coingecko#bitcoin", 1_700_000_060, 60_100.0),
        ]);
        let updates = of_type(&events, EventType::PriceUpdate);
        assert_eq!(updates.len(), 1);
        let Payload::PriceUpdate(p) = &updates[0].payload else {
            panic!()
        };
        assert_eq!(p.previous_price, 60_000.0);
        assert!(
            (p.change_percent - 0.1667).abs() < 0.001,
            "{}",
            p.change_percent
        );
    }

    #[test]
    fn missing_baseline_is_seeded_and_never_expires_into_zero() {
        // Fault: a missing or expired baseline compared as 0 gave a false +100 %; baselines
        // expired after 1 h of quiet.
        let first = run(&[price("coingecko#eth", 1_700_000_000, 2000.0)]);
        assert!(first.is_empty(), "first sighting is silent: {first:?}");
        let later = run(&[
            price("coingecko#eth", 1_700_000_000, 2000.0),
            price("coingecko#eth", 1_700_000_000 + 6 * 3600, 2001.0),
        ]);
        let Payload::PriceUpdate(p) = &of_type(&later, EventType::PriceUpdate)[0].payload else {
            panic!()
        };
        assert_eq!(
            p.previous_price, 2000.0,
            "six quiet hours later the baseline is still there"
        );
        assert!(p.change_percent < 1.0);
    }

    #[test]
    fn percent_or_absolute_does_not_fire_on_every_tick() {
        // Fault: $0.01 on a $60,000 asset, or $10,000 on a $10 bn protocol, fired every tick.
        let mut records = vec![price("coingecko#bitcoin", 1_700_000_000, 60_000.0)];
        records.extend((1..=30).map(|i| {
            price(
                "coingecko#bitcoin",
                1_700_000_000 + i * 60,
                60_000.0 + (i % 2) as f64 * 0.01,
            )
        }));
        records.push(tvl("big", 1_700_000_000, 10e9, &[]));
        records.extend((1..=30).map(|i| {
            tvl(
                "big",
                1_700_000_000 + i * 60,
                10e9 + (i % 2) as f64 * 10_000.0,
                &[],
            )
        }));
        assert!(run(&records).is_empty());
    }

    #[test]
    fn slow_drift_is_caught_against_the_last_published_value() {
        // Fault: comparing with the previous observed value, 0.05 % a minute never fired.
        let mut p = 100.0;
        let mut records = vec![price("coingecko#drift", 1_700_000_000, p)];
        for i in 1..=20 {
            p *= 1.0005;
            records.push(price("coingecko#drift", 1_700_000_000 + i * 60, p));
        }
        let updates = of_type(&run(&records), EventType::PriceUpdate).len();
        assert_eq!(
            updates, 10,
            "every second minute crosses 0.1 % from the last published price"
        );
    }

    #[test]
    fn event_ids_are_deterministic_not_random() {
        // Fault: dedup keys from fresh random UUIDs, so nothing was ever deduplicated.
        let records = [
            price("coingecko#x", 1_700_000_000, 1.0),
            price("coingecko#x", 1_700_000_060, 2.0),
        ];
        let a: Vec<_> = run(&records).iter().map(|e| e.event_id).collect();
        let b: Vec<_> = run(&records).iter().map(|e| e.event_id).collect();
        assert!(!a.is_empty());
        assert_eq!(a, b);
    }

    #[test]
    fn tokens_without_0x_addresses_are_tokens_and_protocol_updates_fire() {
        // Fault: Solana tokens and coingecko ids classed as protocols; protocol_update never fired.
        let sol = "asset#solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
        let events = run(&[
            price(sol, 1_700_000_000, 1.0),
            price(sol, 1_700_000_060, 1.01),
        ]);
        let Payload::PriceUpdate(p) = &events[0].payload else {
            panic!("{events:?}")
        };
        assert_eq!(
            p.token_id,
            "solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
        );
        assert_eq!(p.chain.as_deref(), Some("solana"));
        assert!(
            events[0]
                .channels()
                .contains(&"events:chain:solana:prices".to_string())
        );

        let events = run(&[
            tvl("111", 1_700_000_000, 100e6, &[("ethereum", 100e6)]),
            tvl(
                "111",
                1_700_003_600,
                100e6,
                &[("ethereum", 80e6), ("solana", 20e6)],
            ),
        ]);
        let updates = of_type(&events, EventType::ProtocolUpdate);
        assert_eq!(updates.len(), 1);
        let Payload::ProtocolUpdate(u) = &updates[0].payload else {
            panic!()
        };
        assert_eq!(u.update_type, UpdateType::ChainAdded);
        assert_eq!(u.changes[0].current_value, "solana");
    }

    #[test]
    fn errors_reach_the_caller_and_state_is_not_committed() {
        // Fault: errors caught and turned into a 500 return value; retries never fired.
        struct Down;
        impl EventPublisher for Down {
            async fn publish(&self, _: &[Event]) -> Result<(), PortError> {
                Err(PortError::retryable("redis down"))
            }
        }
        let engine = Engine::new(Config::default());
        let store = MemoryCheckpointStore::default();
        let sink = MemoryAlertSink::default();
        let records = [
            price("coingecko#x", 1_700_000_000, 1.0),
            price("coingecko#x", 1_700_000_060, 2.0),
        ];
        let ctx = Context {
            source: Source::Scheduled,
            now: None,
        };
        let err = block_on(run_batch(
            &engine,
            &records,
            &ctx,
            &store,
            &Down,
            &sink,
            &mut Tally::default(),
        ))
        .unwrap_err();
        assert!(err.retryable);
        assert!(
            block_on(store.load(&["price:coingecko:x".into()]))
                .unwrap()
                .is_empty(),
            "state must not be saved"
        );
        assert!(
            sink.sent.lock().unwrap().is_empty(),
            "no alert before events are out"
        );
    }
}

mod rules {
    use super::*;

    #[test]
    fn heartbeat_republishes_after_an_hour_of_silence() {
        let records: Vec<Record> = (0..=61)
            .map(|i| price("coingecko#flat", 1_700_000_000 + i * 60, 5.0))
            .collect();
        let events = run(&records);
        assert_eq!(events.len(), 1);
        assert!(events[0].metadata.tags.contains(&"heartbeat".into()));
        assert_eq!(events[0].timestamp, (1_700_000_000 + 60 * 60) * 1000);
    }

    #[test]
    fn price_move_within_an_hour_is_judged_over_the_window_not_tick_to_tick() {
        // 1 % a minute for six minutes: no single tick reaches 5 %, the hour does.
        let mut p = 100.0;
        let mut records = vec![price("coingecko#slide", 1_700_000_000, p)];
        for i in 1..=6 {
            p *= 0.99;
            records.push(price("coingecko#slide", 1_700_000_000 + i * 60, p));
        }
        let events = run(&records);
        let a = alerts(&events);
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!(
            (a[0].rule, a[0].severity, a[0].window.as_deref()),
            (AlertRule::PriceMove, Severity::Warning, Some("1h"))
        );
        assert_eq!(
            events
                .iter()
                .find(|e| e.alert().is_some())
                .unwrap()
                .timestamp,
            (1_700_000_000 + 6 * 60) * 1000
        );
    }

    #[test]
    fn critical_and_escalation_break_the_cooldown() {
        let t0 = 1_700_000_000;
        let records = [
            price("coingecko#v", t0, 100.0),
            price("coingecko#v", t0 + 60, 94.0),
            price("coingecko#v", t0 + 120, 93.0),
            price("coingecko#v", t0 + 180, 84.0),
        ];
        let a: Vec<_> = alerts(&run(&records)).iter().map(|a| a.severity).collect();
        assert_eq!(a, vec![Severity::Warning, Severity::Critical]);
    }

    #[test]
    fn stablecoin_is_judged_against_the_peg_from_the_first_record() {
        let t0 = 1_700_000_000;
        let events = run(&[
            price("coingecko#usd-coin", t0, 0.9121),
            price("coingecko#usd-coin", t0 + 60, 0.93),
            price("coingecko#usd-coin", t0 + 120, 0.89),
            price("coingecko#usd-coin", t0 + 180, 0.74),
            price("coingecko#usd-coin", t0 + 240, 0.985),
            price("coingecko#usd-coin", t0 + 300, 0.995),
        ]);
        let a: Vec<_> = alerts(&events)
            .iter()
            .map(|a| (a.rule, a.severity, a.level))
            .collect();
        assert_eq!(
            a,
            vec![
                (AlertRule::PegDeviation, Severity::Critical, 2),
                (AlertRule::PegDeviation, Severity::Critical, 3),
                (AlertRule::PegDeviation, Severity::Critical, 4),
                (AlertRule::PegRecovery, Severity::Info, 0),
            ]
        );
        assert!(
            alerts(&events)
                .iter()
                .all(|a| a.token_id.as_deref() == Some("coingecko:usd-coin"))
        );
    }

    #[test]
    fn a_pegged_redirect_counts_as_pegged() {
        let pk = "asset#ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
        let line = |t: i64, p: f64| {
            record(&format!(
                r#"{{"PK":"{pk}","SK":{t},"price":{p},"redirect":"coingecko#usd-coin"}}"#
            ))
        };
        let a = alerts(&run(&[line(1_700_000_000, 0.97)])).len();
        assert_eq!(a, 1);
    }

    #[test]
    fn tvl_drop_needs_a_window_move_and_a_dollar_floor() {
        let t0 = 1_700_000_000;
        let events = run(&[
            tvl("p", t0, 100e6, &[]),
            tvl("p", t0 + 600, 95e6, &[]),
            tvl("p", t0 + 1200, 89e6, &[]),
        ]);
        let a = alerts(&events);
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].rule, a[0].severity, a[0].protocol_id.as_deref()),
            (AlertRule::TvlDrop, Severity::Warning, Some("p"))
        );
        // Same percentages on a $5 M protocol: under the $1 M floor.
        let small = run(&[tvl("s", t0, 5e6, &[]), tvl("s", t0 + 600, 4.45e6, &[])]);
        assert!(alerts(&small).is_empty());
    }

    #[test]
    fn tvl_chains_get_their_own_events_and_alerts_when_they_differ_from_the_total() {
        let t0 = 1_700_000_000;
        let events = run(&[
            tvl("u", t0, 200e6, &[("ethereum", 150e6), ("bsc", 50e6)]),
            tvl("u", t0 + 1800, 180e6, &[("ethereum", 150e6), ("bsc", 30e6)]),
        ]);
        let changes: Vec<_> = of_type(&events, EventType::TvlChange)
            .iter()
            .map(|e| match &e.payload {
                Payload::TvlChange(t) => (t.chain.clone(), t.breakdown.is_some()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(changes, vec![(None, true), (Some("bsc".into()), false)]);
        let a = alerts(&events);
        assert_eq!(
            a.len(),
            2,
            "total -10 % warning and bsc -40 % critical: {a:?}"
        );
        assert_eq!(a[1].key, "tvl:u:bsc");
        assert_eq!(a[1].severity, Severity::Critical);
        let bsc_event = of_type(&events, EventType::TvlChange)[1];
        assert!(
            bsc_event
                .channels()
                .contains(&"events:chain:bsc:tvl".to_string())
        );
    }

    #[test]
    fn chain_removed_and_token_removal_are_protocol_updates() {
        let t0 = 1_700_000_000;
        let events = run(&[
            tvl("r", t0, 2e6, &[("ethereum", 1e6), ("celo", 1e6)]),
            tvl("r", t0 + 60, 2e6, &[("ethereum", 2e6)]),
        ]);
        let Payload::ProtocolUpdate(u) = &of_type(&events, EventType::ProtocolUpdate)[0].payload
        else {
            panic!()
        };
        assert_eq!(u.update_type, UpdateType::ChainRemoved);
        assert_eq!(u.changes[0].previous_value, "celo");
        let removal = run(&[record(
            r#"{"PK":"delete#hourlyTvl#111","SK":1700000000,"source":"tvl-adapter-token-removal","token":"0xdead"}"#,
        )]);
        let Payload::ProtocolUpdate(u) = &removal[0].payload else {
            panic!()
        };
        assert_eq!(u.protocol_id, "111");
        assert_eq!(
            removal[0].channels(),
            vec![
                "events:protocols".to_string(),
                "events:protocol:111".to_string()
            ]
        );
    }

    #[test]
    fn stale_and_duplicate_records_are_skipped() {
        let engine = Engine::new(Config::default());
        let mut states = StateMap::default();
        let records = [
            price("coingecko#x", 1_700_000_060, 1.0),
            price("coingecko#x", 1_700_000_000, 9.0),
            price("coingecko#x", 1_700_000_060, 9.0),
        ];
        let out = engine.detect_batch(&records[..1], &mut states, &Context::replay());
        assert_eq!(out.applied, 1);
        let out = engine.detect_batch(&records[1..], &mut states, &Context::replay());
        assert_eq!((out.applied, out.stale, out.events.len()), (0, 2, 0));
    }

    #[test]
    fn batch_applies_each_key_in_time_order() {
        let engine = Engine::new(Config::default());
        let mut states = StateMap::default();
        let records = [
            price("coingecko#x", 1_700_000_120, 3.0),
            price("coingecko#x", 1_700_000_000, 1.0),
            price("coingecko#x", 1_700_000_060, 2.0),
        ];
        let out = engine.detect_batch(&records, &mut states, &Context::replay());
        assert_eq!((out.applied, out.stale), (3, 0));
    }

    #[test]
    fn pipeline_publishes_sends_alerts_then_saves() {
        let engine = Engine::new(Config::default());
        let (store, publisher, sink) = (
            MemoryCheckpointStore::default(),
            MemoryPublisher::default(),
            MemoryAlertSink::default(),
        );
        let records = [price("coingecko#usd-coin", 1_700_000_000, 0.9)];
        let ctx = Context {
            source: Source::Dynamodb,
            now: Some(1_700_000_030),
        };
        let mut tally = Tally::default();
        block_on(run_batch(
            &engine, &records, &ctx, &store, &publisher, &sink, &mut tally,
        ))
        .unwrap();
        let sent = sink.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].priority, pulse_core::event::Priority::High);
        assert_eq!(sent[0].event.metadata.processing_time, 30_000);
        assert_eq!(sent[0].event.source, Source::Dynamodb);
        let published = publisher.published.lock().unwrap();
        assert_eq!(
            published[0].0,
            vec![
                "events:alerts".to_string(),
                "events:token:coingecko:usd-coin".to_string()
            ]
        );
        assert_eq!(
            block_on(store.load(&["price:coingecko:usd-coin".into()]))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(tally.alerts.get(&Severity::Critical), Some(&1));
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn replay_lines(lines: &[String], format: Format) -> Vec<String> {
        let mut replay = Replay::new(Config::default());
        let mut out = Vec::new();
        for line in lines {
            replay.feed_line(format, line, &mut out);
        }
        out.iter()
            .map(|e| {
                let text = serde_json::to_string(e).unwrap();
                let mut fast = Vec::new();
                e.write_json(&mut fast);
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    text,
                    "the direct writer agrees"
                );
                text
            })
            .collect()
    }

    fn arb_line() -> impl Strategy<Value = String> {
        let pk = prop_oneof![
            Just("coingecko#usd-coin".to_string()),
            Just("coingecko#bitcoin".to_string()),
            Just("asset#solana:EPj".to_string()),
            Just("hourlyTvl#111".to_string()),
            Just("dailyTvl#111".to_string()),
            Just("daily#fees#111".to_string()),
            Just("delete#hourlyTvl#111".to_string()),
            "[a-z#:]{0,12}",
        ];
        let number = prop_oneof![
            any::<f64>().prop_map(|f| f.to_string()),
            (0.0f64..2.0).prop_map(|f| f.to_string()),
            Just("\"1\"".into()),
            Just("null".into()),
            Just("-1".into()),
            Just("1e400".into())
        ];
        (
            pk,
            1_600_000_000i64..1_600_100_000,
            number.clone(),
            number,
            any::<bool>(),
        )
            .prop_map(|(pk, t, a, b, extra)| {
                let extra = if extra {
                    r#","data":{"aggregated":{"x":{"value":3}}},"ethereum":5"#
                } else {
                    ""
                };
                format!(r#"{{"PK":"{pk}","SK":{t},"price":{a},"tvl":{b}{extra}}}"#)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn no_line_panics_in_any_format(lines in proptest::collection::vec(prop_oneof![arb_line(), ".{0,80}"], 0..40)) {
            for format in [Format::Plain, Format::DdbExport, Format::Stream] {
                let _ = replay_lines(&lines, format);
            }
        }

        #[test]
        fn replaying_twice_into_fresh_state_is_identical(lines in proptest::collection::vec(arb_line(), 0..60)) {
            prop_assert_eq!(replay_lines(&lines, Format::Plain), replay_lines(&lines, Format::Plain));
        }

        #[test]
        fn event_ids_are_stable_and_unique(prices in proptest::collection::vec(0.5f64..1.5, 1..80)) {
            let records: Vec<Record> = prices.iter().enumerate().map(|(i, p)| price("coingecko#usd-coin", 1_700_000_000 + i as i64 * 60, *p)).collect();
            let a: Vec<_> = run(&records).iter().map(|e| e.event_id).collect();
            let b: Vec<_> = run(&records).iter().map(|e| e.event_id).collect();
            let mut unique = a.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(unique.len(), a.len());
        }
    }
}

mod schema {
    use super::*;

    #[test]
    fn every_kind_of_event_matches_the_published_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schema/event.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let t0 = 1_700_000_000;
        let events = [
            run(&[
                price("coingecko#usd-coin", t0, 0.9),
                price("coingecko#usd-coin", t0 + 60, 1.0),
            ]),
            run(&[
                price("asset#solana:EPj", t0, 10.0),
                price("asset#solana:EPj", t0 + 60, 5.0),
            ]),
            run(&[
                tvl("u", t0, 200e6, &[("ethereum", 150e6), ("bsc", 50e6)]),
                tvl("u", t0 + 3600, 100e6, &[("ethereum", 100e6)]),
            ]),
            run(&[record(r#"{"PK":"delete#111","SK":1700000000}"#)]),
        ]
        .concat();
        let kinds: std::collections::BTreeSet<_> = events.iter().map(|e| e.event_type()).collect();
        assert_eq!(kinds.len(), 4, "all four event types are checked");
        for event in &events {
            let mut written = Vec::new();
            event.write_json(&mut written);
            assert_eq!(written, serde_json::to_vec(event).unwrap());
            let value = serde_json::to_value(event).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{value}\n{errors:?}");
        }
        // The schema bites: a confidence out of range is refused.
        let mut bad = serde_json::to_value(&events[0]).unwrap();
        bad["metadata"]["confidence"] = 0.2.into();
        assert!(!validator.is_valid(&bad));
    }
}

#[test]
fn sqs_body_round_trips() {
    let events = run(&[price("coingecko#usd-coin", 1_700_000_000, 0.9)]);
    let body = events[0].to_sqs_body().unwrap();
    let text = serde_json::to_string(&body).unwrap();
    let back: pulse_core::event::SqsAlertBody = serde_json::from_str(&text).unwrap();
    assert_eq!(back, body);
    assert!(
        block_on(MemoryAlertSink::default().deliver(&[back]))
            .error
            .is_none()
    );
}

/// Issue 10 behaviour through the API it added (the defects themselves: `alert_trust.rs`).
mod trust {
    use super::*;
    use pulse_core::engine::Outcome;

    const T0: i64 = 1_700_000_000;

    #[test]
    fn window_alerts_state_their_reference_time_and_real_span() {
        // Minute data: 1 % a minute for six minutes; the 1h window compares with the first.
        let mut p = 100.0;
        let mut records = vec![price("coingecko#slide", T0, p)];
        for i in 1..=6 {
            p *= 0.99;
            records.push(price("coingecko#slide", T0 + i * 60, p));
        }
        let a = alerts(&run(&records))
            .into_iter()
            .cloned()
            .collect::<Vec<_>>();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].window.as_deref(), Some("1h"), "the configured window");
        assert_eq!(
            a[0].reference_time,
            Some(T0 * 1000),
            "the reference value's time"
        );
        assert!(a[0].message.contains("within 6m"), "{}", a[0].message);
        // Peg alerts compare with the peg, which has no time.
        let peg = run(&[price("coingecko#usd-coin", T0, 0.9)]);
        assert_eq!(alerts(&peg)[0].reference_time, None);
    }

    #[test]
    fn gaps_are_counted_not_silent() {
        let engine = Engine::new(Config::default());
        let mut states = StateMap::default();
        let day = 86_400;
        let records: Vec<Record> = (0..5)
            .map(|i| price("coingecko#daily", T0 + i * day, 1.0 + i as f64 * 0.01))
            .collect();
        let out = engine.detect_batch(&records, &mut states, &Context::replay());
        assert_eq!(
            out.window_gaps, 4,
            "daily data: the 1h window has nothing usable after the first record"
        );
        let mut tally = Tally::default();
        out.add_to(&mut tally);
        assert_eq!(tally.window_gaps, 4);
        // A month's silence: no comparison in either window.
        let out = engine.detect_batch(
            &[price("coingecko#daily", T0 + 40 * day, 2.0)],
            &mut states,
            &Context::replay(),
        );
        assert_eq!(out.window_gaps, 2);
        assert!(out.events.iter().all(|e| e.alert().is_none()));
    }

    #[test]
    fn future_records_are_counted_and_never_enter_state() {
        let engine = Engine::new(Config::default());
        let mut states = StateMap::default();
        let ctx = Context {
            source: Source::Scheduled,
            now: Some(T0),
        };
        // Within the 5 minutes of skew: accepted. Beyond: rejected.
        let out = engine.detect_batch(
            &[
                price("coingecko#a", T0 + 300, 1.0),
                price("coingecko#b", T0 + 301, 1.0),
            ],
            &mut states,
            &ctx,
        );
        assert_eq!((out.applied, out.future), (1, 1));
        assert!(!states.contains_key("price:coingecko:b"), "no state for it");
        let mut tally = Tally::default();
        out.add_to(&mut tally);
        assert_eq!(
            tally.rejected.get(&pulse_core::RejectReason::FutureTime),
            Some(&1)
        );
        assert_eq!(tally.records(), 2);
        // Replays guard against their clock too.
        let mut replay = Replay::new(Config::default());
        replay.set_clock(T0);
        replay.feed_line(
            Format::Plain,
            r#"{"PK":"coingecko#a","SK":1800000000,"price":1}"#,
            &mut Vec::new(),
        );
        assert_eq!(replay.summary(0.0).rejected.get("future_time"), Some(&1));
    }

    /// A checkpoint store that remembers what each commit wrote.
    #[derive(Default)]
    struct Recording {
        store: MemoryCheckpointStore,
        history: std::sync::Mutex<Vec<i64>>,
        current: std::sync::Mutex<Vec<i64>>,
    }

    impl CheckpointStore for Recording {
        async fn load(&self, keys: &[String]) -> Result<StateMap, PortError> {
            self.store.load(keys).await
        }
        async fn watermark(&self, _table: &str) -> Result<Option<i64>, PortError> {
            Ok(None)
        }
        async fn commit(&self, commit: pulse_core::ports::Commit<'_>) -> Result<(), PortError> {
            self.store.commit(commit).await?;
            let times =
                |rs: &mut dyn Iterator<Item = &Record>| rs.map(|r| r.time).collect::<Vec<_>>();
            self.history
                .lock()
                .unwrap()
                .extend(times(&mut commit.history.iter()));
            self.current
                .lock()
                .unwrap()
                .extend(times(&mut commit.current.iter().copied()));
            Ok(())
        }
    }

    #[test]
    fn a_checkpointed_batch_keeps_future_records_out_of_state_and_history() {
        let engine = Engine::new(Config::default());
        let store = Recording::default();
        let (publisher, sink) = (MemoryPublisher::default(), MemoryAlertSink::default());
        let ledger = pulse_core::ports::MemoryAlertLedger::default();
        let ports = pipeline::Ports {
            store: &store,
            publisher: &publisher,
            alerts: &sink,
            ledger: &ledger,
        };
        let ctx = Context {
            source: Source::Scheduled,
            now: Some(T0),
        };
        let records = [
            price("coingecko#eth", T0 - 60, 1500.0),
            price("coingecko#eth", 4_100_000_000, 1500.0),
        ];
        let mut tally = Tally::default();
        block_on(pipeline::run_checkpointed(
            &engine, &records, &ctx, &ports, None, T0, &mut tally,
        ))
        .unwrap();
        assert_eq!(*store.history.lock().unwrap(), vec![T0 - 60]);
        assert_eq!(*store.current.lock().unwrap(), vec![T0 - 60]);
        let saved = block_on(store.load(&["price:coingecko:eth".into()])).unwrap();
        assert_eq!(saved["price:coingecko:eth"].last_time, Some(T0 - 60));
        assert_eq!(
            tally.rejected.get(&pulse_core::RejectReason::FutureTime),
            Some(&1)
        );
    }

    #[test]
    fn healing_is_counted() {
        let engine = Engine::new(Config::default());
        let mut state = pulse_core::state::EntityState::default();
        let mut out = Vec::new();
        engine.observe(
            &price("coingecko#x", 4_000_000_000, 1.0),
            &mut state,
            &Context::replay(),
            &mut out,
        );
        let ctx = Context {
            source: Source::Dynamodb,
            now: Some(T0),
        };
        let seen = engine.observe(&price("coingecko#x", T0, 1.0), &mut state, &ctx, &mut out);
        assert_eq!((seen.outcome, seen.healed), (Outcome::Applied, true));
        assert_eq!(state.last_time, Some(T0));
        let again = engine.observe(
            &price("coingecko#x", T0 + 60, 1.0),
            &mut state,
            &ctx,
            &mut out,
        );
        assert!(!again.healed);
    }

    #[test]
    fn section_alerts_are_opt_in() {
        let config = Config::from_toml("[tvl]\nsection_alerts = [\"borrowed\"]\n").unwrap();
        let engine = Engine::new(config);
        let mut states = StateMap::default();
        let records = [
            tvl(
                "lender",
                T0,
                1_000e6,
                &[
                    ("ethereum", 1_000e6),
                    ("ethereum-borrowed", 500e6),
                    ("staking", 50e6),
                ],
            ),
            tvl(
                "lender",
                T0 + 1800,
                1_000e6,
                &[
                    ("ethereum", 1_000e6),
                    ("ethereum-borrowed", 150e6),
                    ("staking", 5e6),
                ],
            ),
        ];
        let out = engine.detect_batch(&records, &mut states, &Context::replay());
        let a = alerts(&out.events);
        assert_eq!(a.len(), 1, "borrowed alerts, staking does not: {a:?}");
        assert_eq!(a[0].key, "tvl:lender:ethereum-borrowed");
        assert_eq!(a[0].chain.as_deref(), Some("ethereum"));
        assert_eq!(a[0].severity, Severity::Critical);
        // Sections have no update events of their own.
        assert!(of_type(&out.events, EventType::TvlChange).is_empty());
    }

    #[test]
    fn a_state_that_listed_sections_as_chains_reports_no_removal() {
        let engine = Engine::new(Config::default());
        let mut state = pulse_core::state::EntityState {
            last_time: Some(T0),
            present_chains: vec!["borrowed".into(), "ethereum".into()],
            ..Default::default()
        };
        state.chains.insert("borrowed".into(), Default::default());
        let mut out = Vec::new();
        engine.observe(
            &tvl(
                "p",
                T0 + 60,
                10e6,
                &[("ethereum", 8e6), ("borrowed", 1e6), ("bsc", 2e6)],
            ),
            &mut state,
            &Context::replay(),
            &mut out,
        );
        let updates: Vec<_> = of_type(&out, EventType::ProtocolUpdate)
            .iter()
            .map(|e| match &e.payload {
                Payload::ProtocolUpdate(u) => (u.update_type, u.changes.len()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(updates, vec![(UpdateType::ChainAdded, 1)], "bsc only");
        assert_eq!(
            state.present_chains,
            vec!["bsc".to_string(), "ethereum".to_string()]
        );
        assert!(!state.chains.contains_key("borrowed"));
    }

    #[test]
    fn two_rows_of_sixty_thousand_keys() {
        // Regression on output for the quadratic chain comparison (10.4 s for these two rows):
        // each key is looked up once now (`rules::tvl::diff_sorted`, whose comparisons a unit
        // test counts).
        let row = |t: i64, offset: usize| {
            let mut line = format!(r#"{{"PK":"hourlyTvl#wide","SK":{t},"tvl":1e9"#);
            for i in 0..60_000 {
                line.push_str(&format!(r#","c{:06}":1"#, 2 * i + offset));
            }
            line.push('}');
            record(&line)
        };
        let events = run(&[row(T0, 0), row(T0 + 60, 1)]);
        let updates: Vec<(UpdateType, usize)> = of_type(&events, EventType::ProtocolUpdate)
            .iter()
            .map(|e| match &e.payload {
                Payload::ProtocolUpdate(u) => (u.update_type, u.changes.len()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            updates,
            vec![
                (UpdateType::ChainAdded, 60_000),
                (UpdateType::ChainRemoved, 60_000)
            ]
        );
    }

    #[test]
    fn a_junk_first_line_does_not_decide_the_format() {
        let mut replay = Replay::new(Config::default());
        let mut decoder = pulse_core::replay::FileDecoder::new(None);
        let mut out = Vec::new();
        let lines: [&[u8]; 5] = [
            b"\xEF\xBB\xBFgarbage",
            b"{\"not\":\"a record\"}",
            b"\xff\xfe broken \xc3",
            br#"{"Item":{"PK":{"S":"coingecko#dai"},"SK":{"N":"1700000000"},"price":{"N":"1.0"}}}"#,
            br#"{"Item":{"PK":{"S":"coingecko#dai"},"SK":{"N":"1700000060"},"price":{"N":"0.9"}}}"#,
        ];
        for line in lines {
            replay.feed_bytes(&mut decoder, line, &mut out);
        }
        assert_eq!(decoder.format(), Some(Format::DdbExport));
        let s = replay.summary(0.0);
        assert_eq!((s.records, s.applied), (5, 2));
        assert_eq!(s.rejected.get("malformed"), Some(&2));
        assert_eq!(s.rejected.get("missing_pk"), Some(&1));
    }
}
