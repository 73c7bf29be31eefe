//! The three encodings of a DynamoDB item (SPEC section 1) decoded into one [`Item`], then
//! validated into a [`Record`]: plain JSON lines, DynamoDB-export JSON lines
//! (`{"Item":{"PK":{"S":..}}}`), and DynamoDB Streams records (`dynamodb.NewImage`).
//! Strings are borrowed from the input where JSON allows it, so parsing allocates little; a
//! flat plain line of a price or a TVL row skips the `Item` and hands the validator only the
//! fields it reads (`record::PriceFields`, `record::TvlFields`).

use crate::config::ValidationConfig;
use crate::item::{Attr, Item, Value};
use crate::record::{PriceFields, Record, RejectReason, Rejection, TvlFields};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A string that borrows from the input when it can.
struct CowStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// Plain JSON: numbers are numbers, strings are strings.
struct PlainVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for PlainVisitor<'a> {
    type Value = Attr<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Attr::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Attr::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Attr::Num(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Attr::Num(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Attr::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Attr::Str(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Attr::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Attr::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Plain(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Attr::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(12));
        while let Some((CowStr(k), Plain(v))) = map.next_entry()? {
            out.push((k, v));
        }
        Ok(Attr::Map(Item(out)))
    }
}

struct Plain<'a>(Attr<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Plain<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PlainVisitor(std::marker::PhantomData))
            .map(Plain)
    }
}

/// DynamoDB JSON: every value is `{"<type>": value}`.
struct Ddb<'a>(Attr<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Ddb<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Ddb<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a DynamoDB attribute value such as {\"S\": \"...\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let Some(CowStr(kind)) = map.next_key()? else {
                    return Ok(Ddb(Attr::Invalid));
                };
                let value = match kind.as_ref() {
                    "S" => Attr::Str(map.next_value::<CowStr>()?.0),
                    "N" => {
                        let text = map.next_value::<CowStr>()?.0;
                        text.trim()
                            .parse::<f64>()
                            .map(Attr::Num)
                            .unwrap_or(Attr::BadNumber)
                    }
                    "BOOL" => Attr::Bool(map.next_value()?),
                    "NULL" => {
                        map.next_value::<IgnoredAny>()?;
                        Attr::Null
                    }
                    "M" => Attr::Map(map.next_value::<DdbItem>()?.0),
                    "L" => Attr::List(
                        map.next_value::<Vec<Ddb>>()?
                            .into_iter()
                            .map(|d| d.0)
                            .collect(),
                    ),
                    "SS" => Attr::List(
                        map.next_value::<Vec<CowStr>>()?
                            .into_iter()
                            .map(|s| Attr::Str(s.0))
                            .collect(),
                    ),
                    "NS" => Attr::List(
                        map.next_value::<Vec<CowStr>>()?
                            .into_iter()
                            .map(|s| {
                                s.0.trim()
                                    .parse::<f64>()
                                    .map(Attr::Num)
                                    .unwrap_or(Attr::BadNumber)
                            })
                            .collect(),
                    ),
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        Attr::Invalid
                    }
                };
                // A second type key makes the value ambiguous.
                if map.next_key::<IgnoredAny>()?.is_some() {
                    while map.next_value::<IgnoredAny>().is_ok()
                        && map.next_key::<IgnoredAny>()?.is_some()
                    {}
                    return Ok(Ddb(Attr::Invalid));
                }
                Ok(Ddb(value))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A DynamoDB-JSON item: `{"PK":{"S":..}, ...}`.
struct DdbItem<'a>(Item<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for DdbItem<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = DdbItem<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a DynamoDB item")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(12));
                while let Some((CowStr(k), Ddb(v))) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(DdbItem(Item(out)))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Which encoding a line is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One plain JSON item per line.
    Plain,
    /// One `{"Item": {...}}` per line, as an S3 table export writes.
    DdbExport,
    /// DynamoDB Streams: a Lambda event `{"Records":[...]}` or one stream record per line.
    Stream,
}

impl Format {
    /// Guesses the format from a line: the first key decides (`"Item"`: export, `"Records"`
    /// or a `"dynamodb"` object: stream, anything else: plain).
    pub fn detect(line: &str) -> Format {
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        let first_key = line
            .trim_start()
            .strip_prefix('{')
            .map(str::trim_start)
            .unwrap_or("");
        if first_key.starts_with("\"Item\"") {
            Format::DdbExport
        } else if first_key.starts_with("\"Records\"")
            || line.contains("\"dynamodb\":{")
            || line.contains("\"dynamodb\": {")
        {
            Format::Stream
        } else {
            Format::Plain
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::DdbExport => "ddb-export",
            Format::Stream => "stream",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plain" | "json" | "ndjson" => Ok(Format::Plain),
            "ddb-export" | "export" | "ddb" => Ok(Format::DdbExport),
            "stream" | "streams" => Ok(Format::Stream),
            _ => Err(format!(
                "unknown format `{s}`: use plain, ddb-export or stream"
            )),
        }
    }
}

fn malformed() -> Rejection {
    Rejection::new(RejectReason::Malformed)
}

/// Parses one plain JSON item.
pub fn plain_item(line: &str) -> Result<Item<'_>, Rejection> {
    match flat_plain_item(line) {
        Some(item) => Ok(item),
        None => serde_plain_item(line),
    }
}

fn serde_plain_item(line: &str) -> Result<Item<'_>, Rejection> {
    match serde_json::from_str::<Plain>(line) {
        Ok(Plain(Attr::Map(item))) => Ok(item),
        _ => Err(malformed()),
    }
}

/// The fast path of [`plain_item`]: a line that is one flat object of strings without
/// escapes, numbers, booleans and nulls (every line the platform writes) is scanned directly.
/// Anything else (nesting, escapes, bad syntax, numbers out of range) gives `None` and goes
/// to serde_json, which decides. Where both answer, the items are identical (a property test
/// holds them to it): numbers go through `str::parse`, which `float_roundtrip` matches.
fn flat_plain_item(line: &str) -> Option<Item<'_>> {
    let mut fields = Vec::with_capacity(8);
    scan_flat(line, |name, value| {
        let value = match value {
            Value::Str(s) => Attr::Str(Cow::Borrowed(s)),
            Value::Num(n) => Attr::Num(n),
            Value::Bool(b) => Attr::Bool(b),
            Value::Null => Attr::Null,
            Value::Other => Attr::Invalid, // the scanner makes none
        };
        fields.push((Cow::Borrowed(name), value))
    })?;
    Some(Item(fields))
}

/// A flat line (as [`flat_plain_item`] reads it) that leads with the PK of a price or a TVL
/// row (as every line the platform writes does), validated from the fields that kind reads
/// without building an [`Item`]: the same record or rejection as [`Record::from_item`] (the
/// same validator reads them; a property test compares the two). `None` for any other line,
/// for the general path to decide.
fn flat_record(line: &str, limits: &ValidationConfig) -> Option<Result<Record, Rejection>> {
    // A peek at the leading field's name and string value; `scan_flat` checks the syntax.
    let b = line.as_bytes();
    let i = skip_ws(b, 0);
    let i = skip_ws(b, i + usize::from(b.get(i) == Some(&b'{')));
    let (key, next) = flat_str(line, i)?;
    let i = skip_ws(b, next);
    let i = skip_ws(b, i + usize::from(b.get(i) == Some(&b':')));
    let (pk, _) = flat_str(line, i)?;
    if key != "PK" {
        return None;
    }
    // The first PK is the one the validator reads, so its kind holds for the line.
    if pk.starts_with("coingecko#") || pk.starts_with("asset#") {
        let mut fields = PriceFields::default();
        scan_flat(line, |name, value| fields.keep(name, value))?;
        Some(Record::from_flat_fields(&fields, limits))
    } else if pk.starts_with("hourlyTvl#") || pk.starts_with("dailyTvl#") {
        let mut fields = TvlFields::default();
        scan_flat(line, |name, value| fields.keep(name, value))?;
        Some(Record::from_flat_fields(&fields, limits))
    } else {
        None
    }
}

/// Scans a flat object, handing each field to `field` in order; `None` when the line is not
/// one (see [`flat_plain_item`]).
fn scan_flat<'a>(line: &'a str, mut field: impl FnMut(&'a str, Value<'a>)) -> Option<()> {
    let b = line.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let (key, next) = flat_str(line, i)?;
            i = skip_ws(b, next);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            let rest = &b[i..];
            let (value, next) = match rest.first()? {
                b'"' => {
                    let (s, next) = flat_str(line, i)?;
                    (Value::Str(s), next)
                }
                b't' if rest.starts_with(b"true") => (Value::Bool(true), i + 4),
                b'f' if rest.starts_with(b"false") => (Value::Bool(false), i + 5),
                b'n' if rest.starts_with(b"null") => (Value::Null, i + 4),
                b'-' | b'0'..=b'9' => {
                    let (v, end) = json_number(line, i)?;
                    (Value::Num(v), end)
                }
                _ => return None,
            };
            field(key, value);
            i = skip_ws(b, next);
            match b.get(i)? {
                b',' => i = skip_ws(b, i + 1),
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(())
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// A string at `i` with no escapes or control characters, and the index after it.
fn flat_str(line: &str, i: usize) -> Option<(&str, usize)> {
    let b = line.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let len = crate::scan::first_special(&b[i + 1..])?;
    let end = i + 1 + len;
    (b[end] == b'"').then(|| (&line[i + 1..end], end + 1))
}

/// Powers of ten that are exact in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A finite number in JSON's grammar at `i`
/// (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`), and the index after it.
/// Digits are read once: when they are at most 19, their value at most 2^53 and the scale
/// at most 10^22, the value is one multiply or divide of two exact `f64`s, which IEEE rounds
/// correctly, so it equals `str::parse`'s (Clinger's fast path; every platform price and
/// timestamp takes it). Anything else goes through `str::parse`.
fn json_number(line: &str, start: usize) -> Option<(f64, usize)> {
    let b = line.as_bytes();
    let mut i = start;
    let negative = b.get(i) == Some(&b'-');
    if negative {
        i += 1;
    }
    let mut mantissa = 0u64;
    let mut digits = 0usize;
    let mut take = |i: &mut usize| {
        let from = *i;
        // Eight digits at a time while there are eight; the value is the same mod 2^64 as
        // eight single steps (and exact while the fast path may use it: 19 digits at most).
        while let Some(eight) = b.get(*i..*i + 8).and_then(eight_digits) {
            mantissa = mantissa.wrapping_mul(100_000_000).wrapping_add(eight);
            *i += 8;
        }
        while let Some(&c) = b.get(*i).filter(|c| c.is_ascii_digit()) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            *i += 1;
        }
        digits += *i - from;
        *i - from
    };
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => {
            take(&mut i);
        }
        _ => return None,
    }
    let mut scale = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let n = take(&mut i);
        if n == 0 {
            return None;
        }
        scale = -i64::try_from(n).ok()?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let minus = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let from = i;
        let mut exp = 0i64;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            exp = (exp * 10 + i64::from(c - b'0')).min(1 << 40);
            i += 1;
        }
        if i == from {
            return None;
        }
        scale += if minus { -exp } else { exp };
    }
    let fast = (digits <= 19 && mantissa <= 1 << 53)
        .then(|| match usize::try_from(scale.unsigned_abs()) {
            Ok(e) if e < POW10.len() && scale >= 0 => Some(mantissa as f64 * POW10[e]),
            Ok(e) if e < POW10.len() => Some(mantissa as f64 / POW10[e]),
            _ => None,
        })
        .flatten();
    let v = match fast {
        Some(v) if negative => -v,
        Some(v) => v,
        None => line[start..i].parse::<f64>().ok()?,
    };
    v.is_finite().then_some((v, i))
}

/// The value of eight ASCII digits, or `None` if any of the bytes is not one (SWAR: all
/// eight checked and combined in a few word operations).
fn eight_digits(bytes: &[u8]) -> Option<u64> {
    let v = u64::from_le_bytes(bytes.try_into().ok()?);
    let below = v.wrapping_sub(0x3030_3030_3030_3030);
    let above = v.wrapping_add(0x4646_4646_4646_4646);
    if (below | above) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    // Pairs, then quads, then all eight (most significant digit first in the text).
    let v = below.wrapping_mul(10).wrapping_add(below >> 8);
    let pairs = 0x0000_00FF_0000_00FF;
    let hi = (v & pairs).wrapping_mul(100 + (1_000_000 << 32));
    let lo = ((v >> 16) & pairs).wrapping_mul(1 + (10_000 << 32));
    Some(u64::from(hi.wrapping_add(lo).wrapping_shr(32) as u32))
}

/// Parses one DynamoDB-export line.
pub fn export_item(line: &str) -> Result<Item<'_>, Rejection> {
    #[derive(Deserialize)]
    struct Line<'a> {
        #[serde(rename = "Item", borrow)]
        item: DdbItem<'a>,
    }
    let item = serde_json::from_str::<Line>(line)
        .map_err(|_| malformed())?
        .item
        .0;
    if item.has_invalid() {
        return Err(Rejection::new(RejectReason::BadAttribute));
    }
    Ok(item)
}

/// Parses a DynamoDB-JSON image (a stream record's `NewImage`, or any item in that shape).
pub fn ddb_image(json: &str) -> Result<Item<'_>, Rejection> {
    let item = serde_json::from_str::<DdbItem>(json)
        .map_err(|_| malformed())?
        .0;
    if item.has_invalid() {
        return Err(Rejection::new(RejectReason::BadAttribute));
    }
    Ok(item)
}

/// One DynamoDB Streams record, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// `dynamodb.SequenceNumber`, what a partial batch failure names.
    pub sequence_number: Option<String>,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: Option<String>,
    /// The new image as a record; `Ok(None)` for a REMOVE (no new image).
    pub record: Result<Option<Record>, Rejection>,
}

#[derive(Deserialize)]
struct RawStreamRecord<'a> {
    #[serde(rename = "eventName", default)]
    event_name: Option<String>,
    #[serde(borrow)]
    dynamodb: Option<RawStreamBody<'a>>,
}

#[derive(Deserialize)]
struct RawStreamBody<'a> {
    #[serde(rename = "SequenceNumber", default)]
    sequence_number: Option<String>,
    #[serde(rename = "NewImage", borrow, default)]
    new_image: Option<DdbItem<'a>>,
}

/// Decodes one stream record given as a JSON value (as found in a Lambda stream event).
pub fn stream_record(value: &serde_json::Value, limits: &ValidationConfig) -> StreamRecord {
    let text = value.to_string();
    stream_record_str(&text, limits)
}

fn stream_record_str(text: &str, limits: &ValidationConfig) -> StreamRecord {
    let raw = match serde_json::from_str::<RawStreamRecord>(text) {
        Ok(raw) => raw,
        Err(_) => {
            return StreamRecord {
                sequence_number: None,
                event_name: None,
                record: Err(malformed()),
            };
        }
    };
    let Some(body) = raw.dynamodb else {
        return StreamRecord {
            sequence_number: None,
            event_name: raw.event_name,
            record: Err(malformed()),
        };
    };
    let record = match body.new_image {
        None => Ok(None),
        Some(DdbItem(item)) if item.has_invalid() => {
            Err(Rejection::new(RejectReason::BadAttribute))
        }
        Some(DdbItem(item)) => Record::from_item(&item, limits).map(Some),
    };
    StreamRecord {
        sequence_number: body.sequence_number,
        event_name: raw.event_name,
        record,
    }
}

/// Decodes a whole Lambda DynamoDB stream event (`{"Records":[...]}`).
pub fn stream_event(json: &str, limits: &ValidationConfig) -> Result<Vec<StreamRecord>, Rejection> {
    #[derive(Deserialize)]
    struct Event {
        #[serde(rename = "Records")]
        records: Vec<serde_json::Value>,
    }
    let event: Event = serde_json::from_str(json).map_err(|_| malformed())?;
    Ok(event
        .records
        .iter()
        .map(|r| stream_record(r, limits))
        .collect())
}

/// Parses one line of `format` and hands each record (or rejection) found in it to `sink`.
/// A stream line may hold a whole event with many records; a REMOVE yields nothing.
pub fn parse_line(
    format: Format,
    line: &str,
    limits: &ValidationConfig,
    mut sink: impl FnMut(Result<Record, Rejection>),
) {
    match format {
        Format::Plain => sink(match flat_record(line, limits) {
            Some(record) => record,
            None => plain_item(line).and_then(|item| Record::from_item(&item, limits)),
        }),
        Format::DdbExport => {
            sink(export_item(line).and_then(|item| Record::from_item(&item, limits)))
        }
        Format::Stream => {
            let is_event = line
                .trim_start()
                .strip_prefix('{')
                .is_some_and(|r| r.trim_start().starts_with("\"Records\""));
            let records = if is_event {
                match stream_event(line, limits) {
                    Ok(records) => records,
                    Err(rejection) => return sink(Err(rejection)),
                }
            } else {
                vec![stream_record_str(line, limits)]
            };
            for r in records {
                match r.record {
                    Ok(Some(record)) => sink(Ok(record)),
                    Ok(None) => {}
                    Err(rejection) => sink(Err(rejection)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RecordBody, TokenId, TvlGranularity};

    fn limits() -> ValidationConfig {
        ValidationConfig::default()
    }

    /// Attr equality that tells -0.0 from 0.0.
    fn same(a: &Item<'_>, b: &Item<'_>) -> bool {
        fn attr(a: &Attr<'_>, b: &Attr<'_>) -> bool {
            match (a, b) {
                (Attr::Num(x), Attr::Num(y)) => x.to_bits() == y.to_bits(),
                (Attr::Map(x), Attr::Map(y)) => same(x, y),
                _ => a == b,
            }
        }
        a.0.len() == b.0.len()
            && a.0
                .iter()
                .zip(&b.0)
                .all(|((ka, va), (kb, vb))| ka == kb && attr(va, vb))
    }

    fn flat_agrees_with_serde(line: &str) -> bool {
        match flat_plain_item(line) {
            None => true,
            Some(fast) => serde_plain_item(line).is_ok_and(|slow| same(&fast, &slow)),
        }
    }

    #[test]
    fn eight_digits_reads_eight_ascii_digits_and_nothing_else() {
        for n in [
            0u64, 1, 9, 10, 12_345_678, 99_999_999, 10_000_000, 90_807_060,
        ] {
            let text = format!("{n:08}");
            assert_eq!(eight_digits(text.as_bytes()), Some(n), "{text}");
        }
        for text in [
            "1234567a", "/2345678", "1234567:", "12 45678", "-1234567", "1234.678",
        ] {
            assert_eq!(eight_digits(text.as_bytes()), None, "{text}");
        }
        // Every byte value in every position: only '0'..='9' pass.
        for pos in 0..8 {
            for byte in 0..=255u8 {
                let mut text = *b"55555555";
                text[pos] = byte;
                assert_eq!(
                    eight_digits(&text).is_some(),
                    byte.is_ascii_digit(),
                    "{pos} {byte}"
                );
            }
        }
    }

    #[test]
    fn flat_fast_path_takes_platform_lines_and_leaves_the_rest() {
        for line in [
            r#"{"PK":"hourlyTvl#chain-ethereum","SK":1530230400,"tvl":20541.94079040033,"ethereum":20541.94079040033}"#,
            r#" { "PK" : "coingecko#usd-coin" , "SK":0,"price":0.9121,"ok":true,"no":false,"x":null} "#,
            r#"{}"#,
            r#"{"a":-0,"b":-0.0,"c":1E5,"d":2e-400,"e":18446744073709551617,"f":9007199254740993}"#,
        ] {
            assert!(flat_plain_item(line).is_some(), "{line}");
            assert!(flat_agrees_with_serde(line), "{line}");
        }
        for line in [
            r#"{"a":"esc\"aped"}"#,
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1]}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e400}"#,
            r#"{"a":+1}"#,
            r#"{"a":NaN}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"a":truex}"#,
            r#"{"a" 1}"#,
            "{\"a\":\"tab\there\"}",
            r#"[1]"#,
            "",
        ] {
            assert!(flat_plain_item(line).is_none(), "{line}");
        }
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #[test]
        fn flat_fast_path_agrees_with_serde_json(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("{".to_string()),
                    proptest::strategy::Just("}".to_string()),
                    proptest::strategy::Just(",".to_string()),
                    proptest::strategy::Just(":".to_string()),
                    proptest::strategy::Just(" ".to_string()),
                    proptest::strategy::Just("\"PK\"".to_string()),
                    proptest::strategy::Just("true".to_string()),
                    proptest::strategy::Just("null".to_string()),
                    "\"[a-z#\\\\\t]{0,6}\"",
                    "-?[0-9]{1,20}(\\.[0-9]{0,18})?([eE][+-]?[0-9]{1,3})?",
                    proptest::num::f64::ANY.prop_map(|f| f.to_string()),
                ],
                0..24,
            ),
            obj in proptest::bool::ANY,
        ) {
            let body = parts.concat();
            let line = if obj { format!("{{{body}}}") } else { body };
            proptest::prop_assert!(flat_agrees_with_serde(&line), "{}", line);
        }

        #[test]
        fn numbers_read_as_str_parse_reads_them(
            text in "-?(0|[1-9][0-9]{0,21})(\\.[0-9]{1,21})?([eE][+-]?[0-9]{1,3})?",
        ) {
            let expected: f64 = text.parse().unwrap();
            let got = json_number(&text, 0);
            if expected.is_finite() {
                proptest::prop_assert_eq!(got.map(|(v, end)| (v.to_bits(), end)), Some((expected.to_bits(), text.len())), "{}", text);
            } else {
                proptest::prop_assert!(got.is_none(), "{}", text);
            }
        }

        #[test]
        fn flat_objects_of_any_numbers_agree(values in proptest::collection::vec(proptest::num::f64::ANY, 0..8)) {
            let body: Vec<String> = values.iter().enumerate().map(|(i, v)| format!("\"k{i}\":{v:?}")).collect();
            let line = format!("{{{}}}", body.join(","));
            proptest::prop_assert!(flat_agrees_with_serde(&line), "{}", line);
        }
    }

    /// The general path: an `Item`, then `Record::from_item`.
    fn through_item(line: &str) -> Result<Record, Rejection> {
        plain_item(line).and_then(|item| Record::from_item(&item, &limits()))
    }

    #[test]
    fn price_and_tvl_lines_take_the_flat_path() {
        for line in [
            r#"{"PK":"coingecko#usd-coin","SK":1678543259,"price":0.9121,"symbol":"USDC","decimals":6,"timestamp":1678543259,"confidence":0.99,"adapter":"binance-kline"}"#,
            r#"{"PK":"asset#ethereum:0xa0b8","SK":0,"timestamp":1678543259,"price":1.0,"redirect":"coingecko#usd-coin"}"#,
            r#"{"PK":"coingecko#dai","SK":1678543259,"price":-1}"#,
            r#"{"PK":"hourlyTvl#chain-ethereum","SK":1530230400,"SK_ORIGNAL":1530230400,"source":"tvl-adapter","tvl":1.5,"ethereum":1.5}"#,
            r#"{"PK":"dailyTvl#uniswap","SK":1530230400,"tvl":3,"bsc":1,"ethereum":2,"ethereum-borrowed":4,"bsc":-1}"#,
        ] {
            let fast = flat_record(line, &limits()).expect(line);
            assert_eq!(
                format!("{fast:?}"),
                format!("{:?}", through_item(line)),
                "{line}"
            );
        }
        for line in [
            r#"{"PK":"daily#dexs#uniswap","SK":1530230400,"total24h":1}"#,
            r#"{"PK":"coingecko#dai","SK":1678543259,"price":1,"x":{"nested":1}}"#,
            r#"{"PK":"coingecko#d\u0061i","SK":1678543259,"price":1}"#,
            r#"{"SK":1678543259,"price":1}"#,
        ] {
            assert!(flat_record(line, &limits()).is_none(), "{line}");
        }
    }

    /// Values of every type for any field, valid ones for a price or a time among them.
    fn any_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        proptest::prop_oneof![
            4 => proptest::sample::select(vec![
                "\"coingecko#usd-coin\"", "\"coingecko#\"", "\"asset#ethereum:0xa0\"",
                "\"asset#ethereum\"", "\"hourlyTvl#p\"", "\"\"", "\"USDC\"", "true", "false",
                "null", "0", "-0.0", "1e-13", "1e-12", "0.9121", "1", "-1", "255", "256", "6.5",
                "1e9", "1000000001", "1678543259", "946684799", "4102444800", "1e400",
            ]).prop_map(str::to_string),
            1 => proptest::num::f64::ANY.prop_map(|f| format!("{f:?}")),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(4096))]

        /// Price and TVL lines (a PK, SK, price and TVL, mostly valid) with any other fields
        /// (chains, TVL, the fields a row never takes as a chain), repeated names and any
        /// order: where the flat path answers, it answers as the general path does (the same
        /// record, or the same rejection and field).
        #[test]
        fn flat_record_path_agrees_with_the_item_path(
            pk in proptest::sample::select(vec![
                "\"coingecko#usd-coin\"", "\"asset#ethereum:0xa0b8\"", "\"coingecko#a#b\"",
                "\"coingecko#\"", "\"asset#ethereum\"", "\"asset#:0xa0\"",
                "\"hourlyTvl#uniswap\"", "\"dailyTvl#chain-bsc\"", "\"hourlyTvl#\"",
                "\"delete#uniswap\"",
            ]),
            sk in proptest::prop_oneof![3 => proptest::strategy::Just("1678543259".to_string()), 1 => any_value()],
            price in proptest::prop_oneof![
                3 => proptest::sample::select(vec!["0.9121", "1", "6.5"]).prop_map(str::to_string),
                1 => any_value(),
            ],
            extra in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "PK", "SK", "timestamp", "timestamp", "price", "confidence",
                        "confidence", "decimals", "decimals", "symbol", "symbol", "redirect",
                        "redirect", "adapter", "tvl", "tvl", "ethereum", "ethereum", "bsc",
                        "ethereum-borrowed", "SK_ORIGNAL", "source", "tvlPrev1Day",
                    ]),
                    proptest::prop_oneof![
                        1 => proptest::strategy::Just("\"USDC\"".to_string()),
                        3 => any_value(),
                    ],
                ),
                0..8,
            ),
            rotate in proptest::prop_oneof![3 => proptest::strategy::Just(0usize), 1 => 0usize..12],
        ) {
            let mut fields = vec![("PK", pk.to_string()), ("SK", sk), ("price", price.clone()), ("tvl", price)];
            fields.extend(extra);
            let n = fields.len();
            fields.rotate_left(rotate % n);
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let line = format!("{{{}}}", body.join(","));
            if let Some(fast) = flat_record(&line, &limits()) {
                proptest::prop_assert_eq!(format!("{fast:?}"), format!("{:?}", through_item(&line)), "{}", line);
            }
        }
    }

    fn one(format: Format, line: &str) -> Result<Record, Rejection> {
        let mut out = Vec::new();
        parse_line(format, line, &limits(), |r| out.push(r));
        assert_eq!(out.len(), 1, "{line}");
        out.remove(0)
    }

    fn reason(format: Format, line: &str) -> RejectReason {
        one(format, line).unwrap_err().reason
    }

    #[test]
    fn coingecko_price() {
        let r = one(Format::Plain, r#"{"PK":"coingecko#usd-coin","SK":1678543259,"price":0.9121,"symbol":"USDC","decimals":6,"timestamp":1678543259,"confidence":0.99,"adapter":"binance-kline"}"#).unwrap();
        assert_eq!(r.time, 1_678_543_259);
        let RecordBody::Price(p) = r.body else {
            panic!()
        };
        assert_eq!(p.token, TokenId::Coingecko("usd-coin".into()));
        assert_eq!(p.token.to_string(), "coingecko:usd-coin");
        assert_eq!(p.price, 0.9121);
        assert_eq!(p.decimals, Some(6));
        assert_eq!(p.confidence, Some(0.99));
    }

    #[test]
    fn asset_price_with_solana_address_is_a_token_not_a_protocol() {
        let r = one(Format::Plain, r#"{"PK":"asset#solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","SK":1700000000,"price":1.0,"redirect":"coingecko#usd-coin"}"#).unwrap();
        assert_eq!(
            r.state_key(),
            "price:solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
        );
        let RecordBody::Price(p) = r.body else {
            panic!()
        };
        assert_eq!(p.token.chain(), Some("solana"));
        assert_eq!(p.redirect.as_deref(), Some("coingecko#usd-coin"));
    }

    #[test]
    fn latest_price_row_uses_its_timestamp() {
        let r = one(
            Format::Plain,
            r#"{"PK":"coingecko#dai","SK":0,"price":1.0,"timestamp":1700000100}"#,
        )
        .unwrap();
        assert_eq!(r.time, 1_700_000_100);
    }

    #[test]
    fn tvl_with_chains_and_sections() {
        let r = one(Format::Plain, r#"{"PK":"hourlyTvl#111","SK":1700000000,"SK_ORIGNAL":1699999990,"source":"tvl-adapter","tvl":300,"ethereum":200,"bsc":100,"ethereum-staking":5,"tvlPrev1Day":280,"timeBucket":472222}"#).unwrap();
        let RecordBody::Tvl(t) = r.body else { panic!() };
        assert_eq!(t.protocol_id, "111");
        assert_eq!(t.granularity, TvlGranularity::Hourly);
        assert_eq!(
            t.chains,
            vec![
                ("bsc".into(), 100.0),
                ("ethereum".into(), 200.0),
                ("ethereum-staking".into(), 5.0)
            ]
        );
    }

    #[test]
    fn dimensions_and_token_removal() {
        let r = one(Format::Plain, r#"{"PK":"daily#fees#111","SK":1700000000,"source":"dimension-adapter","data":{"aggregated":{"dailyFees":{"value":1234.5},"dailyRevenue":{"value":99}}}}"#).unwrap();
        let RecordBody::Dimension(d) = r.body else {
            panic!()
        };
        assert_eq!((d.metric.as_str(), d.protocol_id.as_str()), ("fees", "111"));
        assert_eq!(d.values.len(), 2);
        let r = one(Format::Plain, r#"{"PK":"delete#hourlyTvl#111","SK":1700000000,"source":"tvl-adapter-token-removal","token":"0xdead"}"#).unwrap();
        let RecordBody::TokenRemoval(t) = r.body else {
            panic!()
        };
        assert_eq!(t.protocol_id, "111");
        assert_eq!(t.fields, vec![("token".into(), "0xdead".into())]);
    }

    #[test]
    fn export_encoding_matches_plain() {
        let plain = one(Format::Plain, r#"{"PK":"hourlyTvl#uniswap","SK":1541116800,"SK_ORIGNAL":1541116800,"source":"tvl-adapter","ethereum":34643.89061,"tvl":34643.89061}"#).unwrap();
        let export = one(Format::DdbExport, r#"{"Item":{"PK":{"S":"hourlyTvl#uniswap"},"SK":{"N":"1541116800"},"SK_ORIGNAL":{"N":"1541116800"},"source":{"S":"tvl-adapter"},"ethereum":{"N":"34643.89061"},"tvl":{"N":"34643.89061"}}}"#).unwrap();
        assert_eq!(plain, export);
    }

    #[test]
    fn stream_event_with_insert_and_remove() {
        let event = r#"{"Records":[
          {"eventID":"1","eventName":"INSERT","dynamodb":{"SequenceNumber":"111","NewImage":{"PK":{"S":"coingecko#dai"},"SK":{"N":"1700000000"},"price":{"N":"0.999"}}}},
          {"eventID":"2","eventName":"REMOVE","dynamodb":{"SequenceNumber":"112","OldImage":{"PK":{"S":"coingecko#dai"}}}},
          {"eventID":"3","eventName":"INSERT","dynamodb":{"SequenceNumber":"113","NewImage":{"PK":{"S":"coingecko#dai"},"SK":{"N":"1700000060"},"price":{"N":"abc"}}}}
        ]}"#;
        let records = stream_event(event, &limits()).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].sequence_number.as_deref(), Some("111"));
        assert!(matches!(records[0].record, Ok(Some(_))));
        assert_eq!(records[1].record, Ok(None));
        assert_eq!(
            records[2].record.as_ref().unwrap_err().reason,
            RejectReason::NonNumeric
        );
        let mut seen = Vec::new();
        parse_line(Format::Stream, &event.replace('\n', ""), &limits(), |r| {
            seen.push(r.is_ok())
        });
        assert_eq!(seen, vec![true, false]);
    }

    #[test]
    fn rejections_are_typed() {
        use RejectReason::*;
        let p = Format::Plain;
        assert_eq!(reason(p, "not json"), Malformed);
        assert_eq!(reason(p, "[1,2]"), Malformed);
        assert_eq!(reason(p, r#"{"SK":1700000000,"price":1}"#), MissingPk);
        assert_eq!(
            reason(p, r#"{"PK":"","SK":1700000000,"price":1}"#),
            MissingPk
        );
        assert_eq!(
            reason(p, r#"{"PK":"weird#1","SK":1700000000,"price":1}"#),
            UnknownPkShape
        );
        assert_eq!(
            reason(p, r#"{"PK":"nohash","SK":1700000000,"price":1}"#),
            UnknownPkShape
        );
        assert_eq!(
            reason(p, r#"{"PK":"asset#nocolon","SK":1700000000,"price":1}"#),
            UnknownPkShape
        );
        assert_eq!(reason(p, r#"{"PK":"coingecko#x","price":1}"#), MissingTime);
        assert_eq!(
            reason(p, r#"{"PK":"coingecko#x","SK":1700000000}"#),
            MissingValue
        );
        assert_eq!(
            reason(p, r#"{"PK":"coingecko#x","SK":1700000000,"price":"1.0"}"#),
            NonNumeric
        );
        assert_eq!(
            reason(p, r#"{"PK":"coingecko#x","SK":1700000000,"price":-1}"#),
            Negative
        );
        assert_eq!(
            reason(p, r#"{"PK":"coingecko#x","SK":1700000000,"price":0}"#),
            ZeroPrice
        );
        assert_eq!(
            reason(p, r#"{"PK":"hourlyTvl#1","SK":1700000000,"tvl":2e12}"#),
            AbsurdMagnitude
        );
        assert_eq!(
            reason(
                p,
                r#"{"PK":"hourlyTvl#1","SK":1700000000,"tvl":10,"bsc":-3}"#
            ),
            Negative
        );
        let e = Format::DdbExport;
        assert_eq!(
            reason(
                e,
                r#"{"Item":{"PK":{"S":"coingecko#x"},"SK":{"N":"1700000000"},"price":{"N":"NaN"}}}"#
            ),
            NotFinite
        );
        assert_eq!(
            reason(
                e,
                r#"{"Item":{"PK":{"S":"coingecko#x"},"SK":{"N":"1700000000"},"price":{"Q":"1"}}}"#
            ),
            BadAttribute
        );
        assert_eq!(reason(e, r#"{"PK":"coingecko#x"}"#), Malformed);
    }

    #[test]
    fn format_detection() {
        assert_eq!(Format::detect(r#"{"PK":"x"}"#), Format::Plain);
        assert_eq!(Format::detect(r#"  { "Item" : {}}"#), Format::DdbExport);
        assert_eq!(Format::detect(r#"{"Records":[]}"#), Format::Stream);
        assert_eq!(
            Format::detect(r#"{"eventName":"INSERT","dynamodb":{}}"#),
            Format::Stream
        );
    }
}
