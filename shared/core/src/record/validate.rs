//! [`Record::from_item`]: one DynamoDB item validated into a record, one function per kind of
//! partition key, each rejecting with a typed reason and the field to blame.

use super::{
    DimensionRecord, PriceRecord, Record, RecordBody, RejectReason, Rejection, Text, TokenId,
    TokenRemovalRecord, TvlGranularity, TvlRecord, UnixSecs,
};
use crate::config::ValidationConfig;
use crate::item::{Attr, Fields, Item, Value};

/// The partition key prefixes a record can have (one per kind); any other PK is rejected.
pub const PK_PREFIXES: &[&str] = &[
    "coingecko#",
    "asset#",
    "hourlyTvl#",
    "dailyTvl#",
    "daily#",
    "delete#",
];

impl Record {
    /// Whether a partition key has the shape of a record kind pulse reads ([`PK_PREFIXES`]).
    pub fn is_record_pk(pk: &str) -> bool {
        PK_PREFIXES.iter().any(|p| pk.starts_with(p))
    }

    /// Validates one DynamoDB item (already decoded from any encoding) into a record: the PK
    /// says the kind, each kind has its own checks.
    pub fn from_item(item: &Item<'_>, limits: &ValidationConfig) -> Result<Record, Rejection> {
        from_fields(item, limits, |kind, rest| match kind {
            "daily" => dimension(rest, item, limits),
            "delete" => token_removal(rest, item),
            _ => Err(Rejection::at(RejectReason::UnknownPkShape, "PK")),
        })
    }

    /// [`Record::from_item`] for a price or a TVL row whose fields were kept in
    /// [`PriceFields`] or [`TvlFields`] (chosen by its PK's kind).
    pub(crate) fn from_flat_fields(
        fields: &impl Fields,
        limits: &ValidationConfig,
    ) -> Result<Record, Rejection> {
        from_fields(fields, limits, |_, _| {
            Err(Rejection::at(RejectReason::UnknownPkShape, "PK"))
        })
    }
}

/// The PK says the kind: prices and TVL rows are read here, any other kind by
/// `other(kind, rest)`.
fn from_fields(
    item: &impl Fields,
    limits: &ValidationConfig,
    other: impl FnOnce(&str, &str) -> Result<RecordBody, Rejection>,
) -> Result<Record, Rejection> {
    let pk = match item.value("PK") {
        Some(Value::Str(s)) if !s.is_empty() => s,
        Some(Value::Str(_)) | None | Some(Value::Null) => {
            return Err(Rejection::at(RejectReason::MissingPk, "PK"));
        }
        Some(_) => return Err(Rejection::at(RejectReason::UnknownPkShape, "PK")),
    };
    // A byte loop: the kind is a few bytes, shorter than `split_once`'s search set-up.
    let hash = pk
        .bytes()
        .position(|b| b == b'#')
        .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?;
    let (kind, rest) = (&pk[..hash], &pk[hash + 1..]);
    let body = match kind {
        "coingecko" | "asset" => price(kind, rest, item, limits)?,
        "hourlyTvl" | "dailyTvl" => tvl(kind, rest, item, limits)?,
        _ => other(kind, rest)?,
    };
    let time = record_time(item)?;
    Ok(Record {
        pk: Text::from(pk),
        time,
        body,
    })
}

/// Every field [`price`] and [`record_time`] read, the first of each name: the flat-line
/// path of [`crate::parse`] keeps these for a price instead of building an [`Item`]. A
/// field a price reads must be kept here (the parser's property test compares both paths).
#[derive(Debug, Default)]
pub(crate) struct PriceFields<'a>([Option<Value<'a>>; 8]);

impl<'a> PriceFields<'a> {
    fn slot(name: &str) -> Option<usize> {
        Some(match name {
            "PK" => 0,
            "SK" => 1,
            "timestamp" => 2,
            "price" => 3,
            "confidence" => 4,
            "decimals" => 5,
            "symbol" => 6,
            "redirect" => 7,
            _ => return None,
        })
    }

    /// Keeps `value` if a price reads `name` and no field of that name came before.
    pub(crate) fn keep(&mut self, name: &str, value: Value<'a>) {
        if let Some(slot @ None) = Self::slot(name).and_then(|i| self.0.get_mut(i)) {
            *slot = Some(value);
        }
    }
}

impl Fields for PriceFields<'_> {
    fn value(&self, name: &str) -> Option<Value<'_>> {
        Self::slot(name).and_then(|i| *self.0.get(i)?)
    }

    /// A price reads no field by iterating.
    fn numbers(&self) -> impl Iterator<Item = (&str, f64)> {
        std::iter::empty()
    }
}

/// Every field [`tvl`] and [`record_time`] read: the first of each name, and in order every
/// number a TVL row may take as a chain. The flat-line path of [`crate::parse`] keeps these
/// for a TVL row instead of building an [`Item`] (the parser's property test compares both).
#[derive(Debug, Default)]
pub(crate) struct TvlFields<'a> {
    named: [Option<Value<'a>>; 4],
    chains: smallvec::SmallVec<[(&'a str, f64); 6]>,
}

impl<'a> TvlFields<'a> {
    fn slot(name: &str) -> Option<usize> {
        Some(match name {
            "PK" => 0,
            "SK" => 1,
            "timestamp" => 2,
            "tvl" => 3,
            _ => return None,
        })
    }

    /// Keeps `value` if a TVL row reads `name` and no field of that name came before, or if
    /// it is a number the row may take as a chain.
    pub(crate) fn keep(&mut self, name: &'a str, value: Value<'a>) {
        match Self::slot(name).and_then(|i| self.named.get_mut(i)) {
            Some(slot @ None) => *slot = Some(value),
            Some(Some(_)) => {}
            None => {
                if let Value::Num(v) = value
                    && !TVL_NON_CHAIN_FIELDS.contains(&name)
                {
                    self.chains.push((name, v));
                }
            }
        }
    }
}

impl Fields for TvlFields<'_> {
    fn value(&self, name: &str) -> Option<Value<'_>> {
        Self::slot(name).and_then(|i| *self.named.get(i)?)
    }

    fn numbers(&self) -> impl Iterator<Item = (&str, f64)> {
        self.chains.iter().copied()
    }
}

/// `coingecko#{id}` or `asset#{chain}:{address}`: a price.
fn price(
    kind: &str,
    rest: &str,
    item: &impl Fields,
    limits: &ValidationConfig,
) -> Result<RecordBody, Rejection> {
    let token = match kind {
        "coingecko" => TokenId::Coingecko(Text::from(
            non_empty(rest).ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?,
        )),
        _ => {
            let (chain, address) = rest
                .split_once(':')
                .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?;
            match (non_empty(chain), non_empty(address)) {
                (Some(chain), Some(address)) => TokenId::Asset {
                    chain: Text::from(chain),
                    address: Text::from(address),
                },
                _ => return Err(Rejection::at(RejectReason::UnknownPkShape, "PK")),
            }
        }
    };
    let price = number(item, "price")?.ok_or(Rejection::at(RejectReason::MissingValue, "price"))?;
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
    Ok(RecordBody::Price(PriceRecord {
        token,
        price,
        symbol: text(item, "symbol"),
        decimals,
        confidence,
        redirect: text(item, "redirect"),
    }))
}

/// `hourlyTvl#{protocolId}` or `dailyTvl#{protocolId}`: a protocol's TVL with its chain and
/// section keys.
fn tvl(
    kind: &str,
    rest: &str,
    item: &impl Fields,
    limits: &ValidationConfig,
) -> Result<RecordBody, Rejection> {
    let protocol_id =
        Text::from(non_empty(rest).ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?);
    let tvl = number(item, "tvl")?.ok_or(Rejection::at(RejectReason::MissingValue, "tvl"))?;
    let tvl = amount("tvl", tvl, limits.max_tvl_usd)?;
    let mut chains = Vec::new();
    for (name, v) in item.numbers() {
        if !TVL_NON_CHAIN_FIELDS.contains(&name) {
            chains.push((Text::from(name), amount(name, v, limits.max_tvl_usd)?));
        }
    }
    chains.sort_by(|a, b| a.0.cmp(&b.0));
    chains.dedup_by(|a, b| a.0 == b.0);
    let granularity = if kind == "hourlyTvl" {
        TvlGranularity::Hourly
    } else {
        TvlGranularity::Daily
    };
    Ok(RecordBody::Tvl(TvlRecord {
        protocol_id,
        granularity,
        tvl,
        chains,
    }))
}

/// `daily#{metric}#{protocolId}`: a dimension's aggregated values.
fn dimension(
    rest: &str,
    item: &Item<'_>,
    limits: &ValidationConfig,
) -> Result<RecordBody, Rejection> {
    let (metric, protocol_id) = rest
        .split_once('#')
        .ok_or(Rejection::at(RejectReason::UnknownPkShape, "PK"))?;
    let (Some(metric), Some(protocol_id)) = (non_empty(metric), non_empty(protocol_id)) else {
        return Err(Rejection::at(RejectReason::UnknownPkShape, "PK"));
    };
    let aggregated = match item.get("data") {
        Some(Attr::Map(data)) => match data.get("aggregated") {
            Some(Attr::Map(agg)) => agg,
            _ => {
                return Err(Rejection::at(RejectReason::MissingValue, "data.aggregated"));
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
    Ok(RecordBody::Dimension(DimensionRecord {
        metric: metric.to_string(),
        protocol_id: protocol_id.to_string(),
        values,
    }))
}

/// `delete#{target}`: a token removal.
fn token_removal(rest: &str, item: &Item<'_>) -> Result<RecordBody, Rejection> {
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
    Ok(RecordBody::TokenRemoval(TokenRemovalRecord {
        target,
        protocol_id,
        fields,
    }))
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

fn number(item: &impl Fields, field: &str) -> Result<Option<f64>, Rejection> {
    match item.value(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Num(n)) => Ok(Some(n)),
        Some(_) => Err(Rejection::at(RejectReason::NonNumeric, field)),
    }
}

fn text(item: &impl Fields, field: &str) -> Option<Text> {
    match item.value(field) {
        Some(Value::Str(s)) => Some(Text::from(s)),
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

fn record_time(item: &impl Fields) -> Result<UnixSecs, Rejection> {
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
