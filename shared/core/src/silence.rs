//! Silences as data (`pulse silence add|list|expire`, read by the alert consumer): matchers on
//! an alert's fields, a time window, an author and a comment. Pure: parsing, matching, expiry;
//! the store is an adapter (`pulse_adapters::redis::silences`).
//!
//! A matcher is written `field=value` (equality), `field!=value`, `field=~regex` or
//! `field!~regex` (a regex matches the whole value, as Alertmanager's do). Fields are those the
//! routing tree matches on: `eventType`, `severity`, `rule`, `chain`, `protocolId`, `tokenId`,
//! `key`, `tag` (any of the alert's tags). A field the alert lacks has the value `""`, so
//! `chain!=ethereum` also matches an alert without a chain. Every matcher must hold.

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The fields a matcher may name.
pub const FIELDS: &[&str] = &[
    "eventType",
    "severity",
    "rule",
    "chain",
    "protocolId",
    "tokenId",
    "key",
    "tag",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = "=~")]
    Regex,
    #[serde(rename = "!~")]
    NotRegex,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Equal => "=",
            Op::NotEqual => "!=",
            Op::Regex => "=~",
            Op::NotRegex => "!~",
        }
    }
}

/// One condition on one field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "MatcherText", into = "MatcherText")]
pub struct Matcher {
    pub field: String,
    pub op: Op,
    pub value: String,
    /// Compiled once, anchored (`^(?:value)$`), for the regex operators.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        (&self.field, self.op, &self.value) == (&other.field, other.op, &other.value)
    }
}

#[derive(Serialize, Deserialize)]
struct MatcherText {
    field: String,
    op: Op,
    value: String,
}

impl TryFrom<MatcherText> for Matcher {
    type Error = String;
    fn try_from(m: MatcherText) -> Result<Self, String> {
        Matcher::new(&m.field, m.op, &m.value)
    }
}

impl From<Matcher> for MatcherText {
    fn from(m: Matcher) -> Self {
        MatcherText {
            field: m.field,
            op: m.op,
            value: m.value,
        }
    }
}

impl Matcher {
    pub fn new(field: &str, op: Op, value: &str) -> Result<Self, String> {
        if !FIELDS.contains(&field) {
            return Err(format!(
                "unknown field `{field}`: match on one of {}",
                FIELDS.join(", ")
            ));
        }
        let regex = match op {
            Op::Regex | Op::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("`{value}` is not a regex: {e}"))?,
            ),
            Op::Equal | Op::NotEqual => None,
        };
        Ok(Matcher {
            field: field.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Parses `field=value`, `field!=value`, `field=~regex` or `field!~regex`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let at = text
            .find(['=', '!'])
            .ok_or_else(|| format!("`{text}` is not field=value (or !=, =~, !~)"))?;
        let (field, rest) = text.split_at(at);
        let (op, value) = if let Some(v) = rest.strip_prefix("=~") {
            (Op::Regex, v)
        } else if let Some(v) = rest.strip_prefix("!~") {
            (Op::NotRegex, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (Op::NotEqual, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (Op::Equal, v)
        } else {
            return Err(format!("`{text}` is not field=value (or !=, =~, !~)"));
        };
        Matcher::new(field.trim(), op, value)
    }

    fn holds_for(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (Op::Equal, _) => value == self.value,
            (Op::NotEqual, _) => value != self.value,
            (Op::Regex, Some(r)) => r.is_match(value),
            (Op::NotRegex, Some(r)) => !r.is_match(value),
            (Op::Regex | Op::NotRegex, None) => false,
        }
    }

    /// Whether this matcher holds for an alert whose fields `values` gives (`tag` may have
    /// several values: a positive matcher needs one to hold, a negative one all).
    pub fn matches(&self, values: &dyn Fn(&str) -> Vec<String>) -> bool {
        let mut vals = values(&self.field);
        if vals.is_empty() {
            vals.push(String::new());
        }
        match self.op {
            Op::Equal | Op::Regex => vals.iter().any(|v| self.holds_for(v)),
            Op::NotEqual | Op::NotRegex => vals.iter().all(|v| self.holds_for(v)),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{}", self.field, self.op.as_str(), self.value)
    }
}

/// A silence as stored: who, why, what it matches and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSilence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub created_at_ms: i64,
    pub author: String,
    pub comment: String,
}

impl StoredSilence {
    /// Active from its start (inclusive) to its end (exclusive).
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.starts_at_ms <= now_ms && now_ms < self.ends_at_ms
    }

    pub fn is_expired(&self, now_ms: i64) -> bool {
        now_ms >= self.ends_at_ms
    }

    /// Whether this silence mutes an alert (every matcher holds) at `now_ms`.
    pub fn mutes(&self, values: &dyn Fn(&str) -> Vec<String>, now_ms: i64) -> bool {
        self.is_active(now_ms) && self.matchers.iter().all(|m| m.matches(values))
    }

    /// The matchers as written: `chain=ethereum severity!=info`.
    pub fn matchers_text(&self) -> String {
        self.matchers
            .iter()
            .map(Matcher::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Why a new silence is refused.
pub fn validate(s: &StoredSilence) -> Result<(), String> {
    if s.matchers.is_empty() {
        return Err(
            "a silence needs at least one --match (a silence of everything is an outage)".into(),
        );
    }
    if s.ends_at_ms <= s.starts_at_ms {
        return Err(
            "the silence ends before it starts: --for must be positive, --until in the future"
                .into(),
        );
    }
    if s.comment.trim().is_empty() {
        return Err(
            "say why with --comment (it is shown in list and in the consumer's logs)".into(),
        );
    }
    Ok(())
}

/// The first silence muting an alert at `now_ms`.
pub fn find<'a>(
    silences: &'a [StoredSilence],
    values: &dyn Fn(&str) -> Vec<String>,
    now_ms: i64,
) -> Option<&'a StoredSilence> {
    silences.iter().find(|s| s.mutes(values, now_ms))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn alert(field: &str) -> Vec<String> {
        match field {
            "chain" => vec!["ethereum".into()],
            "tokenId" => vec!["coingecko:usd-coin".into()],
            "severity" => vec!["critical".into()],
            "tag" => vec!["peg".into(), "large-change".into()],
            _ => vec![],
        }
    }

    fn silence(matchers: &[&str]) -> StoredSilence {
        StoredSilence {
            id: "s1".into(),
            matchers: matchers
                .iter()
                .map(|m| Matcher::parse(m).unwrap())
                .collect(),
            starts_at_ms: 1_000,
            ends_at_ms: 2_000,
            created_at_ms: 1_000,
            author: "ana".into(),
            comment: "known".into(),
        }
    }

    #[test]
    fn equality_regex_and_negation() {
        assert!(silence(&["chain=ethereum"]).mutes(&alert, 1_500));
        assert!(!silence(&["chain=bsc"]).mutes(&alert, 1_500));
        assert!(silence(&["chain!=bsc"]).mutes(&alert, 1_500));
        assert!(silence(&["tokenId=~coingecko:usd-.*"]).mutes(&alert, 1_500));
        assert!(!silence(&["tokenId=~usd"]).mutes(&alert, 1_500), "anchored");
        assert!(silence(&["severity!~info|warning"]).mutes(&alert, 1_500));
        assert!(
            silence(&["protocolId!=1"]).mutes(&alert, 1_500),
            "absent is \"\""
        );
        assert!(!silence(&["protocolId=~.+"]).mutes(&alert, 1_500));
        assert!(silence(&["tag=peg"]).mutes(&alert, 1_500));
        assert!(!silence(&["tag!=peg"]).mutes(&alert, 1_500));
        assert!(!silence(&["chain=ethereum", "severity=info"]).mutes(&alert, 1_500));
    }

    #[test]
    fn active_from_start_until_end() {
        let s = silence(&["chain=ethereum"]);
        assert!(!s.mutes(&alert, 999));
        assert!(s.mutes(&alert, 1_000));
        assert!(s.mutes(&alert, 1_999));
        assert!(!s.mutes(&alert, 2_000));
        assert!(s.is_expired(2_000));
    }

    #[test]
    fn bad_matchers_and_silences_are_refused() {
        assert!(Matcher::parse("colour=red").is_err());
        assert!(Matcher::parse("chain").is_err());
        assert!(Matcher::parse("key=~(").is_err());
        assert_eq!(Matcher::parse("key=a=b").unwrap().value, "a=b");
        let mut s = silence(&["chain=ethereum"]);
        assert!(validate(&s).is_ok());
        s.comment = " ".into();
        assert!(validate(&s).is_err());
        assert!(validate(&silence(&[])).is_err());
    }

    #[test]
    fn stored_as_json_and_read_back() {
        let s = silence(&["chain=ethereum", "key=~tvl:.*"]);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""op":"=~""#), "{json}");
        let back: StoredSilence = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(back.mutes(
            &|f| if f == "key" {
                vec!["tvl:1".into()]
            } else {
                alert(f)
            },
            1_500
        ));
    }
}
