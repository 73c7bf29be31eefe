//! What the detection engine can make, as the alert consumer receives it: every event fits
//! `schema/event.schema.json`, and every alert's SQS body (serialised as the SQS adapter does)
//! parses with the consumer's own parser, `handler::parse`. Before issue 10 a tiny price made
//! an alert whose `changePercent` was `null`: the consumer rejected it and a redrive could not
//! fix it. The engine runs with the default config and with one that lets tiny prices and
//! section alerts through, so every clamp is exercised.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alert_consumer::handler::parse;
use aws_lambda_events::event::sqs::SqsMessage;
use proptest::prelude::*;
use pulse_core::Config;
use pulse_core::engine::{Context, Engine};
use pulse_core::event::{Event, Source};
use pulse_core::parse::Format;
use pulse_core::record::Record;
use pulse_core::state::StateMap;

fn configs() -> [Config; 2] {
    let permissive = Config::from_toml(
        "[validation]\nmin_price_usd = 5e-324\n[tvl]\nsection_alerts = [\"borrowed\", \"staking\"]\n",
    )
    .unwrap();
    [Config::default(), permissive]
}

/// One generated row: a price or a TVL row at a step after the previous one.
#[derive(Debug, Clone)]
enum Row {
    Price {
        token: usize,
        value: f64,
    },
    Tvl {
        protocol: usize,
        total: f64,
        keys: Vec<(usize, f64)>,
    },
}

const TOKENS: [&str; 4] = [
    "coingecko#usd-coin",
    "coingecko#bitcoin",
    "asset#solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
    "asset#ethereum:0xa0b8",
];
const KEYS: [&str; 6] = [
    "ethereum",
    "bsc",
    "borrowed",
    "ethereum-borrowed",
    "bsc-staking",
    "polygon-zkevm",
];

fn amount() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.5f64..1.5,
        2 => 0.0f64..2e9,
        1 => Just(5e-324),
        1 => Just(1e-300),
        1 => Just(1e-12),
        1 => Just(0.0),
        1 => Just(9.99e8),
        1 => Just(9.9e11),
        1 => 1e-320f64..1e-300,
    ]
}

fn row() -> impl Strategy<Value = Row> {
    prop_oneof![
        (0..TOKENS.len(), amount()).prop_map(|(token, value)| Row::Price { token, value }),
        (
            0..3usize,
            amount(),
            proptest::collection::vec((0..KEYS.len(), amount()), 0..4),
        )
            .prop_map(|(protocol, total, keys)| Row::Tvl {
                protocol,
                total,
                keys
            }),
    ]
}

fn line(row: &Row, t: i64) -> String {
    match row {
        Row::Price { token, value } => format!(
            r#"{{"PK":"{}","SK":{t},"price":{value:?},"symbol":"S"}}"#,
            TOKENS[*token]
        ),
        Row::Tvl {
            protocol,
            total,
            keys,
        } => {
            let keys: String = keys
                .iter()
                .map(|(k, v)| format!(r#","{}":{v:?}"#, KEYS[*k]))
                .collect();
            format!(r#"{{"PK":"hourlyTvl#p{protocol}","SK":{t},"tvl":{total:?}{keys}}}"#)
        }
    }
}

fn events(config: &Config, rows: &[(i64, Row)]) -> Vec<Event> {
    let engine = Engine::new(config.clone());
    let mut states = StateMap::default();
    let mut out = Vec::new();
    let mut t = 1_700_000_000;
    let ctx = Context {
        source: Source::Dynamodb,
        now: Some(1_800_000_000),
    };
    for (step, row) in rows {
        t += step;
        let mut records: Vec<Record> = Vec::new();
        pulse_core::parse::parse_line(Format::Plain, &line(row, t), &config.validation, |r| {
            records.extend(r.ok())
        });
        out.extend(engine.detect_batch(&records, &mut states, &ctx).events);
    }
    out
}

fn check(validator: &jsonschema::Validator, event: &Event) -> Result<(), TestCaseError> {
    let value = serde_json::to_value(event).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    prop_assert!(errors.is_empty(), "{}\n{:?}", value, errors);
    let mut written = Vec::new();
    event.write_json(&mut written);
    prop_assert_eq!(&written, &serde_json::to_vec(event).unwrap());
    if let Some(body) = event.to_sqs_body() {
        let mut message = SqsMessage::default();
        message.message_id = Some(event.event_id.to_string());
        message.body = Some(serde_json::to_string(&body).unwrap());
        let parsed = parse(&message);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", message.body, parsed.err());
        prop_assert_eq!(parsed.unwrap(), body);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_event_fits_the_schema_and_every_alert_parses_in_the_consumer(
        rows in proptest::collection::vec((prop_oneof![Just(60i64), Just(3600), Just(86_400), 1i64..200_000], row()), 1..40),
    ) {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schema/event.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        for config in configs() {
            for event in events(&config, &rows) {
                check(&validator, &event)?;
            }
        }
    }
}

#[test]
fn tiny_prices_with_no_floor_still_give_numbers() {
    // The issue's case, with the floor turned off: the percentage is clamped instead.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../schema/event.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let rows = [
        (
            0,
            Row::Price {
                token: 1,
                value: 5e-324,
            },
        ),
        (
            60,
            Row::Price {
                token: 1,
                value: 1e-300,
            },
        ),
        (
            60,
            Row::Price {
                token: 1,
                value: 1.0,
            },
        ),
        (
            60,
            Row::Price {
                token: 0,
                value: 1e-300,
            },
        ),
    ];
    let [_, permissive] = configs();
    let events = events(&permissive, &rows);
    let alerts: Vec<_> = events.iter().filter_map(Event::alert).collect();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(
        alerts[0].change_percent,
        pulse_core::event::MAX_CHANGE_PERCENT,
        "clamped"
    );
    assert!(
        alerts[0].message.contains("from $5e-324 to $1e-300"),
        "{}",
        alerts[0].message
    );
    let updates: Vec<f64> = events
        .iter()
        .filter_map(|e| match &e.payload {
            pulse_core::event::Payload::PriceUpdate(p) => Some(p.change_percent),
            _ => None,
        })
        .collect();
    assert!(
        updates.contains(&pulse_core::event::MAX_CHANGE_PERCENT),
        "{updates:?}"
    );
    for event in &events {
        check(&validator, event).unwrap();
    }
}
