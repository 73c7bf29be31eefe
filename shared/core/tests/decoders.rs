//! Property tests of the three decoders (SPEC section 1) with generators that write each
//! encoding: the same item as a plain JSON line, a DynamoDB-export line, a DynamoDB Streams
//! record and a whole Lambda stream event must decode to the same record, or be rejected for
//! the same reason; broken DynamoDB JSON and truncated lines are typed rejections, never
//! panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use pulse_core::Config;
use pulse_core::parse::{self, Format};
use pulse_core::record::{Record, RejectReason};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// An attribute value, as the generators model it.
#[derive(Debug, Clone)]
enum Val {
    S(String),
    N(f64),
    Bool(bool),
    Null,
    M(BTreeMap<String, Val>),
    L(Vec<Val>),
}

fn plain(v: &Val) -> Value {
    match v {
        Val::S(s) => Value::String(s.clone()),
        Val::N(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Val::Bool(b) => Value::Bool(*b),
        Val::Null => Value::Null,
        Val::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        Val::L(l) => Value::Array(l.iter().map(plain).collect()),
    }
}

/// DynamoDB JSON: `N` carries the number as text, written as serde_json writes it.
fn ddb(v: &Val) -> Value {
    match v {
        Val::S(s) => json!({ "S": s }),
        Val::N(n) => json!({ "N": serde_json::to_string(n).unwrap() }),
        Val::Bool(b) => json!({ "BOOL": b }),
        Val::Null => json!({ "NULL": true }),
        Val::M(m) => json!({ "M": ddb_item(m) }),
        Val::L(l) => json!({ "L": l.iter().map(ddb).collect::<Vec<_>>() }),
    }
}

fn ddb_item(item: &BTreeMap<String, Val>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), ddb(v)))
            .collect::<Map<_, _>>(),
    )
}

fn plain_line(item: &BTreeMap<String, Val>) -> String {
    plain(&Val::M(item.clone())).to_string()
}

fn export_line(item: &BTreeMap<String, Val>) -> String {
    json!({ "Item": ddb_item(item) }).to_string()
}

fn stream_record(item: &BTreeMap<String, Val>, seq: usize) -> Value {
    json!({
        "eventID": format!("e{seq}"),
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {},
            "SequenceNumber": format!("{}", 100 + seq),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "NewImage": ddb_item(item),
        }
    })
}

type Parsed = Result<Record, RejectReason>;

fn decode(format: Format, line: &str) -> Vec<Parsed> {
    let mut out = Vec::new();
    parse::parse_line(format, line, &Config::default().validation, |r| {
        out.push(r.map_err(|e| e.reason))
    });
    out
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,8}",
        "[\\PC]{0,6}",
        Just("q\"uote\\back\nslash".to_string()),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0f64..2.0,
        0.0f64..1e13,
        Just(0.0),
        Just(-1.0),
        Just(5e-324),
        Just(1e-300),
        Just(1e300),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
    ]
}

fn leaf() -> impl Strategy<Value = Val> {
    prop_oneof![
        4 => number().prop_map(Val::N),
        2 => text().prop_map(Val::S),
        1 => any::<bool>().prop_map(Val::Bool),
        1 => Just(Val::Null),
    ]
}

fn value() -> impl Strategy<Value = Val> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::btree_map("[a-z]{1,6}", inner.clone(), 0..4).prop_map(Val::M),
            proptest::collection::vec(inner, 0..4).prop_map(Val::L),
        ]
    })
}

/// Items shaped like the platform's rows (and some that are not), with arbitrary extras.
fn item() -> impl Strategy<Value = BTreeMap<String, Val>> {
    let pk = prop_oneof![
        Just("coingecko#usd-coin".to_string()),
        Just("coingecko#bitcoin".to_string()),
        Just("asset#solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v".to_string()),
        Just("asset#ethereum:0xa0b8".to_string()),
        Just("hourlyTvl#111".to_string()),
        Just("dailyTvl#uniswap".to_string()),
        Just("daily#fees#111".to_string()),
        Just("delete#hourlyTvl#111".to_string()),
        "[a-zA-Z#:]{0,14}",
    ];
    let time = prop_oneof![
        1_600_000_000i64..1_800_000_000,
        Just(0i64),
        Just(4_200_000_000i64),
    ];
    let aggregated = proptest::collection::btree_map(
        "[a-z]{1,8}",
        prop_oneof![
            number().prop_map(|n| Val::M(BTreeMap::from([("value".to_string(), Val::N(n))]))),
            value(),
        ],
        0..3,
    );
    (
        pk,
        time,
        proptest::option::of(number()),
        proptest::option::of(number()),
        proptest::collection::btree_map(
            prop_oneof![
                Just("ethereum".to_string()),
                Just("bsc".to_string()),
                Just("borrowed".to_string()),
                Just("ethereum-staking".to_string()),
                Just("symbol".to_string()),
                Just("decimals".to_string()),
                Just("confidence".to_string()),
                Just("redirect".to_string()),
                Just("timestamp".to_string()),
                Just("token".to_string()),
                "[a-z]{1,10}",
            ],
            value(),
            0..6,
        ),
        proptest::option::of(aggregated),
    )
        .prop_map(|(pk, sk, price, tvl, extra, aggregated)| {
            let mut item = extra;
            item.insert("PK".into(), Val::S(pk));
            item.insert("SK".into(), Val::N(sk as f64));
            if let Some(p) = price {
                item.insert("price".into(), Val::N(p));
            }
            if let Some(t) = tvl {
                item.insert("tvl".into(), Val::N(t));
            }
            if let Some(agg) = aggregated {
                item.insert(
                    "data".into(),
                    Val::M(BTreeMap::from([("aggregated".to_string(), Val::M(agg))])),
                );
            }
            item
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_encoding_of_an_item_decodes_alike(item in item()) {
        let plain = decode(Format::Plain, &plain_line(&item));
        prop_assert_eq!(plain.len(), 1);
        let export = decode(Format::DdbExport, &export_line(&item));
        prop_assert_eq!(&export, &plain, "export line {}", export_line(&item));
        let record = decode(Format::Stream, &stream_record(&item, 0).to_string());
        prop_assert_eq!(&record, &plain);
        // The plain line through the export decoder is no export line.
        prop_assert_eq!(decode(Format::DdbExport, &plain_line(&item)), vec![Err(RejectReason::Malformed)]);
    }

    #[test]
    fn a_stream_event_decodes_each_record_in_order(items in proptest::collection::vec(item(), 0..6), removes in proptest::collection::vec(any::<bool>(), 6)) {
        let mut records = Vec::new();
        let mut expected = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if removes[i] {
                // A REMOVE has no new image and yields nothing.
                records.push(json!({"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "9", "OldImage": ddb_item(item)}}));
            } else {
                records.push(stream_record(item, i));
                expected.extend(decode(Format::Plain, &plain_line(item)));
            }
        }
        let event = json!({ "Records": records }).to_string();
        prop_assert_eq!(decode(Format::Stream, &event), expected.clone());
        let decoded = parse::stream_event(&event, &Config::default().validation).unwrap();
        prop_assert_eq!(decoded.len(), items.len());
        for (i, r) in decoded.iter().enumerate() {
            if !removes[i] {
                prop_assert_eq!(r.sequence_number.clone(), Some(format!("{}", 100 + i)));
            }
        }
    }

    #[test]
    fn broken_dynamodb_json_is_a_typed_rejection(
        item in item(),
        field in prop_oneof![Just("price"), Just("tvl"), Just("SK"), Just("ethereum"), Just("PK")],
        broken in prop_oneof![
            Just(json!({"N": "not a number"})),
            Just(json!({"N": "NaN"})),
            Just(json!({"N": "1e400"})),
            Just(json!({"Q": "1"})),
            Just(json!({"S": "x", "N": "1"})),
            Just(json!({})),
            Just(json!({"S": 5})),
            Just(json!("bare")),
        ],
    ) {
        let mut image = ddb_item(&item);
        image[field] = broken;
        let export = decode(Format::DdbExport, &json!({"Item": image}).to_string());
        let stream = decode(
            Format::Stream,
            &json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": image}}).to_string(),
        );
        prop_assert_eq!(export.len(), 1);
        prop_assert_eq!(&stream, &export);
    }

    #[test]
    fn truncated_or_spliced_lines_never_panic(item in item(), cut in any::<proptest::sample::Index>(), format in prop_oneof![Just(Format::Plain), Just(Format::DdbExport), Just(Format::Stream)]) {
        let lines = [
            plain_line(&item),
            export_line(&item),
            stream_record(&item, 0).to_string(),
            json!({"Records": [stream_record(&item, 0)]}).to_string(),
        ];
        for line in &lines {
            let mut end = cut.index(line.len() + 1);
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            let results = decode(format, &line[..end]);
            prop_assert!(results.len() <= 1);
            let other = &lines[1];
            let mut from = end.min(other.len());
            while !other.is_char_boundary(from) {
                from -= 1;
            }
            let spliced = format!("{}{}", &line[..end], &other[from..]);
            let _ = decode(format, &spliced);
        }
    }
}
