//! Input records, as the data platform writes them to DynamoDB (SPEC section 1), and the
//! typed reasons a record is rejected. Building a [`Record`] is the only way to get one,
//! so a `Record` that exists is valid.

use crate::config::ValidationConfig;
use crate::parse::{Attr, Item};
use std::fmt;

/// Unix time in seconds.
pub type UnixSecs = i64;

/// (year, month, day) of a day count since 1970-01-01, proleptic Gregorian
/// (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD HH:MM` in UTC, for summaries and logs (no date library needed).
pub fn format_utc(secs: UnixSecs) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// A span of time as alert messages state it: `45s`, `12m`, `1h`, `24h`, `25h30m`, `3d`, `3d6h`.
pub fn format_span(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        return format!("{secs}s");
    }
    let mins = (secs + 30) / 60;
    if mins < 60 {
        return format!("{mins}m");
    }
    let (h, m) = (mins / 60, mins % 60);
    if h < 48 {
        return if m == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{m:02}m")
        };
    }
    let (d, h) = (h / 24, h % 24);
    if h == 0 {
        format!("{d}d")
    } else {
        format!("{d}d{h}h")
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A point in time given as unix seconds (`1678543259`) or RFC 3339
/// (`2023-03-11T14:00:59Z`, `2023-03-11T15:00:59+01:00`, fractions of a second ignored).
pub fn parse_time(text: &str) -> Result<UnixSecs, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    let bad =
        || format!("`{text}` is not unix seconds or an RFC 3339 time such as 2023-03-11T14:00:00Z");
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, String> {
        let part = text.get(from..from + len).ok_or_else(bad)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let (y, mo, d, h, mi, s) = (
        num(0, 4)?,
        num(5, 2)?,
        num(8, 2)?,
        num(11, 2)?,
        num(14, 2)?,
        num(17, 2)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(bad()),
            };
            let o = rest.as_bytes();
            if o.len() != 6 || o[3] != b':' {
                return Err(bad());
            }
            let (oh, om): (i64, i64) = (
                rest[1..3].parse().map_err(|_| bad())?,
                rest[4..6].parse().map_err(|_| bad())?,
            );
            sign * (oh * 3600 + om * 60)
        }
    };
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// A token, named the way the coins API names it: `coingecko:usd-coin`, `ethereum:0xa0b8...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenId {
    Coingecko(String),
    Asset { chain: String, address: String },
}

impl TokenId {
    /// The chain, for on-chain assets; coingecko ids have none.
    pub fn chain(&self) -> Option<&str> {
        match self {
            TokenId::Coingecko(_) => None,
            TokenId::Asset { chain, .. } => Some(chain),
        }
    }

    /// The id as the coins API writes it (the same text as `Display`, built directly).
    pub fn id_string(&self) -> String {
        let parts: [&str; 3] = match self {
            TokenId::Coingecko(id) => ["coingecko:", id, ""],
            TokenId::Asset { chain, address } => [chain, ":", address],
        };
        parts.concat()
    }

    /// The coingecko id, when this is one.
    pub fn coingecko_id(&self) -> Option<&str> {
        match self {
            TokenId::Coingecko(id) => Some(id),
            TokenId::Asset { .. } => None,
        }
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenId::Coingecko(id) => write!(f, "coingecko:{id}"),
            TokenId::Asset { chain, address } => write!(f, "{chain}:{address}"),
        }
    }
}

/// A coins-table row.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceRecord {
    pub token: TokenId,
    pub price: f64,
    pub symbol: Option<String>,
    pub decimals: Option<u32>,
    /// The source's own confidence, 0..1.
    pub confidence: Option<f64>,
    /// `coingecko#<id>` this asset redirects to, if any.
    pub redirect: Option<String>,
}

/// Whether a TVL row came from an hourly or a daily adapter run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TvlGranularity {
    Hourly,
    Daily,
}

/// A protocol TVL row with its per-chain (or per-section) breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct TvlRecord {
    pub protocol_id: String,
    pub granularity: TvlGranularity,
    pub tvl: f64,
    /// Every chain and section key as written (`ethereum`, `bsc`, `ethereum-staking`,
    /// `borrowed`), sorted by name; [`TvlRecord::split`] tells chains from sections.
    pub chains: Vec<(String, f64)>,
}

/// A TVL row's keys, told apart: real chains, and sections (parts of the TVL that are not
/// chains, such as `borrowed` or `ethereum-staking`). Both sorted by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TvlParts<'a> {
    pub chains: smallvec::SmallVec<[(&'a str, f64); 4]>,
    pub sections: smallvec::SmallVec<[(&'a str, f64); 4]>,
}

impl TvlRecord {
    /// The row's chains and sections, by `sections`.
    pub fn split(&self, sections: &Sections) -> TvlParts<'_> {
        let mut parts = TvlParts::default();
        for (key, value) in &self.chains {
            if sections.section_of(key).is_some() {
                parts.sections.push((key, *value));
            } else {
                parts.chains.push((key, *value));
            }
        }
        parts
    }
}

/// The section names of [`crate::config::TvlConfig::sections`], and which keys they cover.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sections {
    names: Vec<String>,
}

impl Sections {
    pub fn new(names: &[String]) -> Self {
        Sections {
            names: names.to_vec(),
        }
    }

    fn is_name(&self, s: &str) -> bool {
        self.names.iter().any(|n| n == s)
    }

    /// The section a TVL key names: `borrowed` for `borrowed` and for `ethereum-borrowed`;
    /// `None` for a chain (`ethereum`, `polygon-zkevm`).
    pub fn section_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        if self.is_name(key) {
            return Some(key);
        }
        match key.rsplit_once('-') {
            Some((chain, section)) if !chain.is_empty() && self.is_name(section) => Some(section),
            _ => None,
        }
    }
}

/// A dimensions row (fees, volume, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionRecord {
    pub metric: String,
    pub protocol_id: String,
    /// `data.aggregated.<name>.value`, sorted by name.
    pub values: Vec<(String, f64)>,
}

/// A token removal by a TVL adapter (`delete#...`).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRemovalRecord {
    /// What follows `delete#`.
    pub target: String,
    pub protocol_id: String,
    /// The row's other text fields (the removed token and the like), sorted by name.
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RecordBody {
    Price(PriceRecord),
    Tvl(TvlRecord),
    Dimension(DimensionRecord),
    TokenRemoval(TokenRemovalRecord),
}

/// One valid input record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The raw partition key, as written.
    pub pk: String,
    /// The record's time (SK, or `timestamp` on a latest-price row whose SK is 0).
    pub time: UnixSecs,
    pub body: RecordBody,
}

impl Record {
    /// The key state is kept under: `price:{tokenId}`, `tvl:{protocolId}`,
    /// `dimension:{metric}:{protocolId}` or `removal:{target}`.
    pub fn state_key(&self) -> String {
        let mut key = String::new();
        self.write_state_key(&mut key);
        key
    }

    /// [`Record::state_key`] into a buffer that is cleared first (no allocation once it is
    /// large enough).
    pub fn write_state_key(&self, key: &mut String) {
        key.clear();
        let parts: [&str; 4] = match &self.body {
            RecordBody::Price(p) => match &p.token {
                TokenId::Coingecko(id) => ["price:coingecko:", id, "", ""],
                TokenId::Asset { chain, address } => ["price:", chain, ":", address],
            },
            RecordBody::Tvl(t) => ["tvl:", &t.protocol_id, "", ""],
            RecordBody::Dimension(d) => ["dimension:", &d.metric, ":", &d.protocol_id],
            RecordBody::TokenRemoval(r) => ["removal:", &r.target, "", ""],
        };
        for part in parts {
            key.push_str(part);
        }
    }
}

/// Why a record was rejected. Each reason is counted under [`RejectReason::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Not a JSON object, or not valid JSON at all.
    Malformed,
    /// DynamoDB JSON that is not a valid attribute value.
    BadAttribute,
    MissingPk,
    UnknownPkShape,
    MissingTime,
    MissingValue,
    NonNumeric,
    Negative,
    NotFinite,
    ZeroPrice,
    /// A price above 0 but below `validation.min_price_usd`.
    TinyPrice,
    AbsurdMagnitude,
    /// Stamped more than `validation.max_future_skew` after the detection clock.
    FutureTime,
}

impl RejectReason {
    pub const ALL: [RejectReason; 13] = [
        RejectReason::Malformed,
        RejectReason::BadAttribute,
        RejectReason::MissingPk,
        RejectReason::UnknownPkShape,
        RejectReason::MissingTime,
        RejectReason::MissingValue,
        RejectReason::NonNumeric,
        RejectReason::Negative,
        RejectReason::NotFinite,
        RejectReason::ZeroPrice,
        RejectReason::TinyPrice,
        RejectReason::AbsurdMagnitude,
        RejectReason::FutureTime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::BadAttribute => "bad_attribute",
            RejectReason::MissingPk => "missing_pk",
            RejectReason::UnknownPkShape => "unknown_pk_shape",
            RejectReason::MissingTime => "missing_time",
            RejectReason::MissingValue => "missing_value",
            RejectReason::NonNumeric => "non_numeric",
            RejectReason::Negative => "negative",
            RejectReason::NotFinite => "not_finite",
            RejectReason::ZeroPrice => "zero_price",
            RejectReason::TinyPrice => "tiny_price",
            RejectReason::AbsurdMagnitude => "absurd_magnitude",
            RejectReason::FutureTime => "future_time",
        }
    }
}

/// A rejected record: the reason, and which field (when one is to blame).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record rejected ({}){}", reason.as_str(), field.as_ref().map(|f| format!(": field `{f}`")).unwrap_or_default())]
pub struct Rejection {
    pub reason: RejectReason,
    pub field: Option<String>,
}

impl Rejection {
    pub fn new(reason: RejectReason) -> Self {
        Rejection {
            reason,
            field: None,
        }
    }
    fn at(reason: RejectReason, field: &str) -> Self {
        Rejection {
            reason,
            field: Some(field.to_string()),
        }
    }
}

/// Item fields that are never a chain in a TVL row.
const TVL_NON_CHAIN_FIELDS: &[&str] = &[
    "PK",
    "SK",
    "SK_ORIGNAL",
    "tvl",
    "source",
    "timestamp",
    "tvlPrev1Hour",
    "tvlPrev1Day",
    "tvlPrev1Week",
    // The time-bucket GSI key the detector's Query path reads (see adapters::dynamodb).
    "timeBucket",
];

fn number(item: &Item<'_>, field: &str) -> Result<Option<f64>, Rejection> {
    match item.get(field) {
        None | Some(Attr::Null) => Ok(None),
        Some(Attr::Num(n)) => Ok(Some(*n)),
        Some(_) => Err(Rejection::at(RejectReason::NonNumeric, field)),
    }
}

fn text(item: &Item<'_>, field: &str) -> Option<String> {
    match item.get(field) {
        Some(Attr::Str(s)) => Some(s.to_string()),
        _ => None,
    }
}

/// A value that must be finite and not negative.
fn amount(field: &str, v: f64, max: f64) -> Result<f64, Rejection> {
    if !v.is_finite() {
        return Err(Rejection::at(RejectReason::NotFinite, field));
    }
    if v < 0.0 {
        return Err(Rejection::at(RejectReason::Negative, field));
    }
    if v > max {
        return Err(Rejection::at(RejectReason::AbsurdMagnitude, field));
    }
    Ok(v)
}

fn record_time(item: &Item<'_>) -> Result<UnixSecs, Rejection> {
    let sk = number(item, "SK").map_err(|_| Rejection::at(RejectReason::MissingTime, "SK"))?;
    let ts = number(item, "timestamp")
        .map_err(|_| Rejection::at(RejectReason::MissingTime, "timestamp"))?;
    // Plausible unix seconds: 2000-01-01 .. 2100-01-01. SK 0 marks the latest-price row.
    let plausible = |t: f64| t.is_finite() && (946_684_800.0..4_102_444_800.0).contains(&t);
    match (sk, ts) {
        (Some(sk), _) if plausible(sk) => Ok(sk as UnixSecs),
        (_, Some(ts)) if plausible(ts) => Ok(ts as UnixSecs),
        _ => Err(Rejection::at(RejectReason::MissingTime, "SK")),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl Record {
    /// Validates one DynamoDB item (already decoded from any encoding) into a record.
    pub fn from_item(item: &Item<'_>, limits: &ValidationConfig) -> Result<Record, Rejection> {
        let pk = match item.get("PK") {
            Some(Attr::Str(s)) if !s.is_empty() => s.as_ref(),
            Some(Attr::Str(_)) | None | Some(Attr::Null) => {
                return Err(Rejection::at(RejectReason::MissingPk, "PK"));
            }
            Some(_) => return Err(Rejection::at(RejectReason::UnknownPkShape, "PK")),
        };
        let (kind, rest) = pk
            .split_once('#')
            .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?;
        let body = match kind {
            "coingecko" | "asset" => {
                let token = match kind {
                    "coingecko" => TokenId::Coingecko(
                        non_empty(rest)
                            .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?
                            .to_string(),
                    ),
                    _ => {
                        let (chain, address) = rest
                            .split_once(':')
                            .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?;
                        match (non_empty(chain), non_empty(address)) {
                            (Some(chain), Some(address)) => TokenId::Asset {
                                chain: chain.to_string(),
                                address: address.to_string(),
                            },
                            _ => return Err(Rejection::at(RejectReason::UnknownPkShape, "PK")),
                        }
                    }
                };
                let price = number(item, "price")?
                    .ok_or(Rejection::at(RejectReason::MissingValue, "price"))?;
                let price = amount("price", price, limits.max_price_usd)?;
                if price == 0.0 {
                    return Err(Rejection::at(RejectReason::ZeroPrice, "price"));
                }
                if price < limits.min_price_usd {
                    return Err(Rejection::at(RejectReason::TinyPrice, "price"));
                }
                let confidence = number(item, "confidence")?
                    .filter(|c| c.is_finite())
                    .map(|c| c.clamp(0.0, 1.0));
                let decimals = number(item, "decimals")?
                    .filter(|d| d.is_finite() && *d >= 0.0 && *d <= 255.0)
                    .map(|d| d as u32);
                RecordBody::Price(PriceRecord {
                    token,
                    price,
                    symbol: text(item, "symbol"),
                    decimals,
                    confidence,
                    redirect: text(item, "redirect"),
                })
            }
            "hourlyTvl" | "dailyTvl" => {
                let protocol_id = non_empty(rest)
                    .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?
                    .to_string();
                let tvl =
                    number(item, "tvl")?.ok_or(Rejection::at(RejectReason::MissingValue, "tvl"))?;
                let tvl = amount("tvl", tvl, limits.max_tvl_usd)?;
                let mut chains = Vec::new();
                for (name, value) in item.fields() {
                    if let Attr::Num(v) = value
                        && !TVL_NON_CHAIN_FIELDS.contains(&name)
                    {
                        chains.push((name.to_string(), amount(name, *v, limits.max_tvl_usd)?));
                    }
                }
                chains.sort_by(|a, b| a.0.cmp(&b.0));
                chains.dedup_by(|a, b| a.0 == b.0);
                let granularity = if kind == "hourlyTvl" {
                    TvlGranularity::Hourly
                } else {
                    TvlGranularity::Daily
                };
                RecordBody::Tvl(TvlRecord {
                    protocol_id,
                    granularity,
                    tvl,
                    chains,
                })
            }
            "daily" => {
                let (metric, protocol_id) = rest
                    .split_once('#')
                    .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?;
                let (Some(metric), Some(protocol_id)) = (non_empty(metric), non_empty(protocol_id))
                else {
                    return Err(Rejection::at(RejectReason::UnknownPkShape, "PK"));
                };
                let aggregated = match item.get("data") {
                    Some(Attr::Map(data)) => match data.get("aggregated") {
                        Some(Attr::Map(agg)) => agg,
                        _ => {
                            return Err(Rejection::at(
                                RejectReason::MissingValue,
                                "data.aggregated",
                            ));
                        }
                    },
                    _ => return Err(Rejection::at(RejectReason::MissingValue, "data")),
                };
                let mut values = Vec::new();
                for (name, entry) in aggregated.fields() {
                    let Attr::Map(entry) = entry else { continue };
                    let field = format!("data.aggregated.{name}.value");
                    let v = number(entry, "value").map_err(|r| Rejection::at(r.reason, &field))?;
                    let v = v.ok_or(Rejection::at(RejectReason::MissingValue, &field))?;
                    // Dimensions can be negative (net flows); only reject the absurd.
                    if !v.is_finite() {
                        return Err(Rejection::at(RejectReason::NotFinite, &field));
                    }
                    if v.abs() > limits.max_tvl_usd {
                        return Err(Rejection::at(RejectReason::AbsurdMagnitude, &field));
                    }
                    values.push((name.to_string(), v));
                }
                if values.is_empty() {
                    return Err(Rejection::at(RejectReason::MissingValue, "data.aggregated"));
                }
                values.sort_by(|a, b| a.0.cmp(&b.0));
                RecordBody::Dimension(DimensionRecord {
                    metric: metric.to_string(),
                    protocol_id: protocol_id.to_string(),
                    values,
                })
            }
            "delete" => {
                let target = non_empty(rest)
                    .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?
                    .to_string();
                // `delete#hourlyTvl#111` names protocol 111; a bare `delete#111` names it directly.
                let protocol_id = target.rsplit('#').next().unwrap_or(&target).to_string();
                let mut fields: Vec<(String, String)> = item
                    .fields()
                    .filter(|(name, _)| !matches!(*name, "PK" | "SK" | "SK_ORIGNAL" | "source"))
                    .filter_map(|(name, v)| match v {
                        Attr::Str(s) => Some((name.to_string(), s.to_string())),
                        Attr::Num(n) => Some((name.to_string(), n.to_string())),
                        _ => None,
                    })
                    .collect();
                fields.sort();
                RecordBody::TokenRemoval(TokenRemovalRecord {
                    target,
                    protocol_id,
                    fields,
                })
            }
            _ => return Err(Rejection::at(RejectReason::UnknownPkShape, "PK")),
        };
        let time = record_time(item)?;
        Ok(Record {
            pk: pk.to_string(),
            time,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_times() {
        use super::parse_time;
        assert_eq!(parse_time("1678543259"), Ok(1_678_543_259));
        assert_eq!(parse_time("2023-03-11T14:00:59Z"), Ok(1_678_543_259));
        assert_eq!(
            parse_time("2023-03-11T15:00:59.250+01:00"),
            Ok(1_678_543_259)
        );
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(951_782_400));
        for bad in [
            "",
            "yesterday",
            "2023-03-11",
            "2023-13-11T00:00:00Z",
            "2023-03-11T00:00:00",
        ] {
            let err = parse_time(bad).unwrap_err();
            assert!(err.contains("RFC 3339"), "{err}");
        }
        for days in [-1000, 0, 19_000, 50_000] {
            let (y, m, d) = super::civil_from_days(days);
            assert_eq!(super::days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn spans_read_as_people_say_them() {
        use super::format_span;
        assert_eq!(format_span(45), "45s");
        assert_eq!(format_span(12 * 60 + 10), "12m");
        assert_eq!(format_span(3600), "1h");
        assert_eq!(format_span(86_400), "24h");
        assert_eq!(format_span(25 * 3600 + 30 * 60), "25h30m");
        assert_eq!(format_span(3 * 86_400), "3d");
        assert_eq!(format_span(3 * 86_400 + 6 * 3600), "3d6h");
    }

    #[test]
    fn sections_are_told_from_chains() {
        let sections = super::Sections::new(&crate::config::DEFAULT_SECTIONS.map(String::from));
        for (key, section) in [
            ("ethereum", None),
            ("polygon-zkevm", None),
            ("borrowed", Some("borrowed")),
            ("ethereum-borrowed", Some("borrowed")),
            ("bsc-staking", Some("staking")),
            ("arbitrum-pool2", Some("pool2")),
            ("masterchef", Some("masterchef")),
            ("dcAndLsOverlap", Some("dcAndLsOverlap")),
            ("-staking", None),
        ] {
            assert_eq!(sections.section_of(key), section, "{key}");
        }
    }

    #[test]
    fn formats_utc() {
        assert_eq!(super::format_utc(1_678_543_259), "2023-03-11 14:00");
        assert_eq!(super::format_utc(0), "1970-01-01 00:00");
        assert_eq!(super::format_utc(951_782_400), "2000-02-29 00:00");
    }
}
