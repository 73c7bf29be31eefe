//! Input records, as the data platform writes them to DynamoDB (SPEC section 1), and the
//! typed reasons a record is rejected. Building a [`Record`] ([`Record::from_item`], in
//! `validate`) is the only way to get one, so a `Record` that exists is valid.

mod validate;

pub use validate::PK_PREFIXES;
pub(crate) use validate::{PriceFields, TvlFields};

use std::fmt;

pub use crate::time::UnixSecs;

/// A record's names (PK, token id parts, symbol, protocol id, chain keys): a string kept
/// inline up to 24 bytes, so most records parse without allocating them.
pub type Text = compact_str::CompactString;

/// `parts` joined into a [`Text`], with room for all of them made once (ids and tags are
/// built this way for every event).
pub fn concat_text(parts: &[&str]) -> Text {
    let mut text = Text::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

/// A token, named the way the coins API names it: `coingecko:usd-coin`, `ethereum:0xa0b8...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenId {
    Coingecko(Text),
    Asset { chain: Text, address: Text },
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
    pub fn id_string(&self) -> Text {
        let parts: [&str; 3] = match self {
            TokenId::Coingecko(id) => ["coingecko:", id, ""],
            TokenId::Asset { chain, address } => [chain, ":", address],
        };
        concat_text(&parts)
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
    pub symbol: Option<Text>,
    pub decimals: Option<u32>,
    /// The source's own confidence, 0..1.
    pub confidence: Option<f64>,
    /// `coingecko#<id>` this asset redirects to, if any.
    pub redirect: Option<Text>,
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
    pub protocol_id: Text,
    pub granularity: TvlGranularity,
    pub tvl: f64,
    /// Every chain and section key as written (`ethereum`, `bsc`, `ethereum-staking`,
    /// `borrowed`), sorted by name; [`TvlRecord::split`] tells chains from sections.
    pub chains: Vec<(Text, f64)>,
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
        // A byte loop: keys are short, and this runs for every key of every TVL row.
        match key.bytes().rposition(|b| b == b'-') {
            Some(dash) if dash > 0 => Some(&key[dash + 1..]).filter(|s| self.is_name(s)),
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
    pub pk: Text,
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
        // Only the parts there are: this runs for every record.
        match &self.body {
            RecordBody::Price(p) => match &p.token {
                TokenId::Coingecko(id) => {
                    key.push_str("price:coingecko:");
                    key.push_str(id);
                }
                TokenId::Asset { chain, address } => {
                    for part in ["price:", chain, ":", address] {
                        key.push_str(part);
                    }
                }
            },
            RecordBody::Tvl(t) => {
                key.push_str("tvl:");
                key.push_str(&t.protocol_id);
            }
            RecordBody::Dimension(d) => {
                for part in ["dimension:", &d.metric, ":", &d.protocol_id] {
                    key.push_str(part);
                }
            }
            RecordBody::TokenRemoval(r) => {
                key.push_str("removal:");
                key.push_str(&r.target);
            }
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
    pub(crate) fn at(reason: RejectReason, field: &str) -> Self {
        Rejection {
            reason,
            field: Some(field.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_state_key() {
        let record = |body| Record {
            pk: Text::default(),
            time: 1_700_000_000,
            body,
        };
        let price = |token| {
            RecordBody::Price(PriceRecord {
                token,
                price: 1.0,
                symbol: None,
                decimals: None,
                confidence: None,
                redirect: None,
            })
        };
        for (body, key) in [
            (
                price(TokenId::Coingecko("usd-coin".into())),
                "price:coingecko:usd-coin",
            ),
            (
                price(TokenId::Asset {
                    chain: "ethereum".into(),
                    address: "0xa0b8".into(),
                }),
                "price:ethereum:0xa0b8",
            ),
            (
                RecordBody::Tvl(TvlRecord {
                    protocol_id: "aave".into(),
                    granularity: TvlGranularity::Daily,
                    tvl: 1.0,
                    chains: Vec::new(),
                }),
                "tvl:aave",
            ),
            (
                RecordBody::Dimension(DimensionRecord {
                    metric: "fees".into(),
                    protocol_id: "uniswap".into(),
                    values: Vec::new(),
                }),
                "dimension:fees:uniswap",
            ),
            (
                RecordBody::TokenRemoval(TokenRemovalRecord {
                    target: "hourlyTvl#111".into(),
                    protocol_id: "111".into(),
                    fields: Vec::new(),
                }),
                "removal:hourlyTvl#111",
            ),
        ] {
            let r = record(body);
            assert_eq!(r.state_key(), key);
            // The reused buffer is cleared first.
            let mut buf = String::from("stale text");
            r.write_state_key(&mut buf);
            assert_eq!(buf, key);
        }
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
}
