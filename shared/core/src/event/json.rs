//! A direct JSON writer for events: the same bytes as `serde_json::to_vec(&event)` (a test
//! holds it to that), written straight into a byte buffer. `pulse replay` writes a few hundred
//! thousand events a second, and serde's per-field escaping of names was most of that time.

use super::{
    Alert, Event, FieldChange, Metadata, Payload, PriceUpdate, ProtocolUpdate, Source, TvlChange,
    UpdateType,
};
use uuid::Uuid;

impl Event {
    /// Appends the event as one JSON object (no newline).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"eventId\":");
        uuid(out, &self.event_id);
        out.extend_from_slice(b",\"eventType\":\"");
        out.extend_from_slice(self.event_type().as_str().as_bytes());
        out.extend_from_slice(b"\",\"timestamp\":");
        int(out, self.timestamp);
        out.extend_from_slice(b",\"source\":\"");
        out.extend_from_slice(match self.source {
            Source::Dynamodb => b"dynamodb".as_slice(),
            Source::Scheduled => b"scheduled",
            Source::Manual => b"manual",
        });
        out.extend_from_slice(b"\",\"version\":");
        string(out, &self.version);
        out.extend_from_slice(b",\"metadata\":");
        metadata(out, &self.metadata);
        out.extend_from_slice(b",\"data\":");
        match &self.payload {
            Payload::PriceUpdate(p) => price_update(out, p),
            Payload::TvlChange(t) => tvl_change(out, t),
            Payload::ProtocolUpdate(p) => protocol_update(out, p),
            Payload::Alert(a) => alert(out, a),
        }
        out.push(b'}');
    }
}

fn metadata(out: &mut Vec<u8>, m: &Metadata) {
    out.extend_from_slice(b"{\"correlationId\":");
    uuid(out, &m.correlation_id);
    out.extend_from_slice(b",\"confidence\":");
    confidence(out, m.confidence);
    out.extend_from_slice(b",\"processingTime\":");
    int(out, m.processing_time);
    out.extend_from_slice(b",\"retryCount\":");
    int(out, m.retry_count);
    out.extend_from_slice(b",\"tags\":[");
    for (i, tag) in m.tags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, tag);
    }
    out.extend_from_slice(b"]}");
}

fn price_update(out: &mut Vec<u8>, p: &PriceUpdate) {
    out.extend_from_slice(b"{\"tokenId\":");
    string(out, &p.token_id);
    out.extend_from_slice(b",\"symbol\":");
    opt_string(out, p.symbol.as_deref());
    out.extend_from_slice(b",\"chain\":");
    opt_string(out, p.chain.as_deref());
    out.extend_from_slice(b",\"previousPrice\":");
    float(out, p.previous_price);
    out.extend_from_slice(b",\"currentPrice\":");
    float(out, p.current_price);
    out.extend_from_slice(b",\"changePercent\":");
    float(out, p.change_percent);
    out.extend_from_slice(b",\"changeAbsolute\":");
    float(out, p.change_absolute);
    out.extend_from_slice(b",\"decimals\":");
    match p.decimals {
        Some(d) => int(out, d),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

fn tvl_change(out: &mut Vec<u8>, t: &TvlChange) {
    out.extend_from_slice(b"{\"protocolId\":");
    string(out, &t.protocol_id);
    out.extend_from_slice(b",\"protocolName\":");
    string(out, &t.protocol_name);
    if let Some(chain) = &t.chain {
        out.extend_from_slice(b",\"chain\":");
        string(out, chain);
    }
    out.extend_from_slice(b",\"previousTvl\":");
    float(out, t.previous_tvl);
    out.extend_from_slice(b",\"currentTvl\":");
    let start = out.len();
    float(out, t.current_tvl);
    let current = start..out.len();
    out.extend_from_slice(b",\"changePercent\":");
    float(out, t.change_percent);
    out.extend_from_slice(b",\"changeAbsolute\":");
    float(out, t.change_absolute);
    if let Some(breakdown) = &t.breakdown {
        out.extend_from_slice(b",\"breakdown\":{");
        for (i, (chain, value)) in breakdown.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, chain);
            out.push(b':');
            // A protocol on one chain has that chain's value as its TVL: copy its digits.
            if value.to_bits() == t.current_tvl.to_bits() {
                out.extend_from_within(current.clone());
            } else {
                float(out, value);
            }
        }
        out.push(b'}');
    }
    out.push(b'}');
}

fn protocol_update(out: &mut Vec<u8>, p: &ProtocolUpdate) {
    out.extend_from_slice(b"{\"protocolId\":");
    string(out, &p.protocol_id);
    out.extend_from_slice(b",\"protocolName\":");
    string(out, &p.protocol_name);
    out.extend_from_slice(b",\"updateType\":\"");
    out.extend_from_slice(match p.update_type {
        UpdateType::Metadata => b"metadata".as_slice(),
        UpdateType::Category => b"category",
        UpdateType::ChainAdded => b"chain_added",
        UpdateType::ChainRemoved => b"chain_removed",
        UpdateType::Status => b"status",
    });
    out.extend_from_slice(b"\",\"changes\":[");
    for (i, c) in p.changes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        field_change(out, c);
    }
    out.extend_from_slice(b"]}");
}

fn field_change(out: &mut Vec<u8>, c: &FieldChange) {
    out.extend_from_slice(b"{\"field\":");
    string(out, &c.field);
    out.extend_from_slice(b",\"previousValue\":");
    value(out, &c.previous_value);
    out.extend_from_slice(b",\"currentValue\":");
    value(out, &c.current_value);
    out.push(b'}');
}

fn alert(out: &mut Vec<u8>, a: &Alert) {
    out.extend_from_slice(b"{\"rule\":\"");
    out.extend_from_slice(a.rule.as_str().as_bytes());
    out.extend_from_slice(b"\",\"severity\":\"");
    out.extend_from_slice(a.severity.as_str().as_bytes());
    out.extend_from_slice(b"\",\"status\":\"");
    out.extend_from_slice(a.status.as_str().as_bytes());
    out.extend_from_slice(b"\",\"key\":");
    string(out, &a.key);
    for (name, v) in [
        (b",\"tokenId\":".as_slice(), &a.token_id),
        (b",\"protocolId\":", &a.protocol_id),
        (b",\"chain\":", &a.chain),
        (b",\"symbol\":", &a.symbol),
    ] {
        if let Some(v) = v {
            out.extend_from_slice(name);
            string(out, v);
        }
    }
    out.extend_from_slice(b",\"value\":");
    float(out, a.value);
    out.extend_from_slice(b",\"reference\":");
    float(out, a.reference);
    out.extend_from_slice(b",\"changePercent\":");
    float(out, a.change_percent);
    out.extend_from_slice(b",\"thresholdPercent\":");
    float(out, a.threshold_percent);
    if let Some(w) = &a.window {
        out.extend_from_slice(b",\"window\":");
        string(out, w);
    }
    if let Some(t) = a.reference_time {
        out.extend_from_slice(b",\"referenceTime\":");
        int(out, t);
    }
    out.extend_from_slice(b",\"level\":");
    int(out, a.level);
    out.extend_from_slice(b",\"message\":");
    string(out, &a.message);
    out.push(b'}');
}

/// Any JSON value (protocol update fields): rare, so serde_json writes it.
fn value(out: &mut Vec<u8>, v: &serde_json::Value) {
    match v {
        serde_json::Value::Null => out.extend_from_slice(b"null"),
        serde_json::Value::String(s) => string(out, s),
        // Writing a Value into a Vec cannot fail.
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

fn uuid(out: &mut Vec<u8>, id: &Uuid) {
    let mut buf = Uuid::encode_buffer();
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
    out.push(b'"');
}

fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// As serde_json writes an `f64`: shortest round-trip digits, `null` when not finite.
fn float(out: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(x).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// [`float`] for a confidence, which the engine rounds to thousandths (`event::confidence`):
/// a value that is exactly `k / 1000` for `k` in 1..=1000 is written from `k` (`0.95`, `1.0`:
/// the shortest digits that read back as it, which are serde_json's), anything else by `float`.
fn confidence(out: &mut Vec<u8>, x: f64) {
    let k = (x * 1000.0).round();
    if !((1.0..=1000.0).contains(&k) && k / 1000.0 == x) {
        return float(out, x);
    }
    if k == 1000.0 {
        return out.extend_from_slice(b"1.0");
    }
    // 1..=999: three decimals, trailing zeros dropped.
    let k = k as u32;
    let digits = [k / 100, k / 10 % 10, k % 10].map(|d| b'0' + d as u8);
    let zeros = digits.iter().rev().take_while(|&&d| d == b'0').count();
    out.extend_from_slice(b"0.");
    out.extend_from_slice(&digits[..3 - zeros]);
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string with serde_json's escapes: `\"`, `\\`, `\b \f \n \r \t`, other control
/// characters as `\u00XX`; everything else (including non-ASCII) as is.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    if let Some(first) = crate::scan::first_special(bytes) {
        for (i, &b) in bytes.iter().enumerate().skip(first) {
            let esc: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                0x0c => b"\\f",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(&bytes[start..i]);
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                    start = i + 1;
                    continue;
                }
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(esc);
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Breakdown;
    use proptest::prelude::*;

    fn written(e: &Event) -> String {
        let mut out = Vec::new();
        e.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "q\"uote",
            "back\\slash",
            "\u{8}\u{c}\n\r\t",
            "\u{1}\u{1f}\u{7f}",
            "é漢🙂",
            "/",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }

    /// Every value `event::confidence` can give, and its neighbours.
    #[test]
    fn confidences_write_as_serde_json_does() {
        for k in 0..=1000 {
            let x = f64::from(k) / 1000.0;
            for x in [x, -x, x.next_up(), x.next_down(), x * 1.0001] {
                let mut out = Vec::new();
                confidence(&mut out, x);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    serde_json::to_string(&x).unwrap(),
                    "{x:?}"
                );
            }
        }
    }

    #[test]
    fn floats_write_as_serde_json_does() {
        for x in [
            0.0,
            -0.0,
            1.0,
            0.1,
            1e21,
            1e-7,
            961_943_394.574_129_9,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ] {
            let mut out = Vec::new();
            float(&mut out, x);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&x).unwrap()
            );
        }
    }

    proptest! {
        #[test]
        fn any_string_escapes_as_serde_json_does(s in any::<String>()) {
            let mut out = Vec::new();
            string(&mut out, &s);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn any_float_writes_as_serde_json_does(x in any::<f64>()) {
            let mut out = Vec::new();
            float(&mut out, x);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&x).unwrap());
        }

        #[test]
        fn any_confidence_writes_as_serde_json_does(x in prop_oneof![any::<f64>(), 0.0..=1.0f64, (0u32..=1000).prop_map(|k| f64::from(k) / 1000.0)]) {
            let mut out = Vec::new();
            confidence(&mut out, x);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&x).unwrap());
        }
    }

    fn envelope(payload: Payload, tags: &[&str]) -> Event {
        Event {
            event_id: Uuid::from_u128(1),
            payload,
            timestamp: -1_000,
            source: Source::Dynamodb,
            version: "1.0\"".into(),
            metadata: Metadata {
                correlation_id: Uuid::from_u128(u128::MAX),
                confidence: 0.95,
                processing_time: 0,
                retry_count: 7,
                tags: tags.iter().map(|t| t.to_string().into()).collect(),
            },
        }
    }

    /// The optional fields both ways; the engine's real output is compared in
    /// `shared/core/tests/engine.rs` and `shared/core/tests/real_data.rs`.
    #[test]
    fn every_shape_of_payload_matches_serde_json() {
        let alert = Alert {
            rule: crate::event::AlertRule::PegRecovery,
            severity: crate::event::Severity::Info,
            status: crate::event::AlertStatus::Resolved,
            key: "price:a\\b".into(),
            token_id: Some("t".into()),
            protocol_id: Some("p".into()),
            chain: Some("c".into()),
            symbol: Some("S\n".into()),
            value: 1.5,
            reference: f64::NAN,
            change_percent: -0.25,
            threshold_percent: 1e-9,
            window: Some("24h".into()),
            reference_time: Some(-1_700_000_000_000),
            level: 3,
            message: "m\u{1}".into(),
        };
        let bare_alert = Alert {
            token_id: None,
            protocol_id: None,
            chain: None,
            symbol: None,
            window: None,
            reference_time: None,
            ..alert.clone()
        };
        let tvl = TvlChange {
            protocol_id: "1".into(),
            protocol_name: "n".into(),
            chain: Some("bsc".into()),
            previous_tvl: 1e12,
            current_tvl: 0.0,
            change_percent: -100.0,
            change_absolute: -1e12,
            breakdown: Some(Breakdown::from_pairs([
                ("b\"".into(), 2.5),
                ("a".into(), 1.0),
                ("z".into(), -0.0),
            ])),
        };
        let price = PriceUpdate {
            token_id: "coingecko:dai".into(),
            symbol: None,
            chain: Some("x".into()),
            previous_price: 1.0,
            current_price: 0.99,
            change_percent: -1.0,
            change_absolute: -0.01,
            decimals: Some(18),
        };
        let update = ProtocolUpdate {
            protocol_id: "1".into(),
            protocol_name: "1".into(),
            update_type: UpdateType::ChainRemoved,
            changes: vec![
                FieldChange {
                    field: "chain".into(),
                    previous_value: "bsc".into(),
                    current_value: serde_json::Value::Null,
                },
                FieldChange {
                    field: "other".into(),
                    previous_value: serde_json::json!({"a": [1, 2.5, true]}),
                    current_value: 3.into(),
                },
            ],
        };
        let payloads = [
            Payload::Alert(Box::new(alert)),
            Payload::Alert(Box::new(bare_alert)),
            Payload::TvlChange(tvl.clone()),
            // A breakdown value equal to the TVL is copied from it, bit for bit.
            Payload::TvlChange(TvlChange {
                current_tvl: 2.5,
                ..tvl.clone()
            }),
            Payload::TvlChange(TvlChange {
                current_tvl: f64::NAN,
                breakdown: Some(Breakdown::from_pairs([("a".into(), f64::NAN)])),
                ..tvl.clone()
            }),
            Payload::TvlChange(TvlChange {
                chain: None,
                breakdown: None,
                ..tvl
            }),
            Payload::PriceUpdate(price.clone()),
            Payload::PriceUpdate(PriceUpdate {
                symbol: Some("DAI".into()),
                chain: None,
                decimals: None,
                ..price
            }),
            Payload::ProtocolUpdate(update.clone()),
            Payload::ProtocolUpdate(ProtocolUpdate {
                changes: vec![],
                ..update
            }),
        ];
        for payload in payloads {
            for tags in [&[][..], &["type:x", "q\"q"][..]] {
                let e = envelope(payload.clone(), tags);
                assert_eq!(written(&e), serde_json::to_string(&e).unwrap());
            }
        }
    }
}
