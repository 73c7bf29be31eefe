//! The words of a notification. A template is text with `{field}` placeholders; the fields
//! are those of [`AlertView`] (see [`fields`]), numbers formatted for people. Receivers use
//! the title, the body and the link; each receiver may override the templates.

use super::view::AlertView;
use pulse_core::time::Timestamp;
use serde::Deserialize;

/// The title and body templates: of a firing alert, and the short ones of a resolve.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Templates {
    pub title: String,
    pub body: String,
    pub resolved_title: String,
    pub resolved_body: String,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            title: "[{SEVERITY}] {subject}: {ruleTitle}".into(),
            body: "{message}\nValue {value} vs {reference} ({change}), threshold {threshold}, window {window}, level {level}\nChain {chain} · key {key} · {time}".into(),
            resolved_title: "[RESOLVED] {subject}: {triggerTitle}".into(),
            resolved_body: "{message}\n{time}".into(),
        }
    }
}

/// Where a person learns more about a protocol or a token; `{protocolId}` and `{tokenId}`
/// are replaced.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Links {
    pub protocol: String,
    pub token: String,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            protocol: "https://defillama.com/protocol/{protocolId}".into(),
            token: "https://coins.llama.fi/prices/current/{tokenId}".into(),
        }
    }
}

/// A rendered notification text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub title: String,
    pub body: String,
    pub link: Option<String>,
}

/// A number for people: `1.23B`, `45.6M`, `123.4K`, `0.9712`, `60123.5`.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e5 {
        (v / 1e3, "K")
    } else {
        (v, "")
    };
    let decimals = if !suffix.is_empty() {
        2
    } else if a == 0.0 {
        0
    } else {
        (5 - a.log10().floor() as i64).clamp(0, 8) as usize
    };
    let mut s = format!("{scaled:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    s + suffix
}

fn fill(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric()) => {
                let name = &after[..close];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of one placeholder; `-` for a field the alert lacks, `None` for an unknown name.
pub fn fields(a: &AlertView, name: &str) -> Option<String> {
    let opt = |v: Option<&str>| v.unwrap_or("-").to_string();
    let num = |v: Option<f64>| v.map_or_else(|| "-".into(), number);
    Some(match name {
        "eventId" => a.event_id.to_string(),
        "eventType" => a.event_type.as_str().into(),
        "severity" => a.severity.as_str().into(),
        "SEVERITY" => a.severity.as_str().to_uppercase(),
        "rule" => a.rule_name().into(),
        "ruleTitle" => a.rule_name().replace('_', " "),
        "triggerTitle" => a.episode_rule().replace('_', " "),
        "status" => a.status.as_str().into(),
        "key" => a.key.clone(),
        "subject" => a.subject().into(),
        "symbol" => opt(a.symbol.as_deref()),
        "tokenId" => opt(a.token_id.as_deref()),
        "protocolId" => opt(a.protocol_id.as_deref()),
        "chain" => opt(a.chain.as_deref()),
        "value" => num(a.value),
        "reference" => num(a.reference),
        "change" => a
            .change_percent
            .map_or_else(|| "-".into(), |c| format!("{c:+.2}%")),
        "threshold" => a
            .threshold_percent
            .map_or_else(|| "-".into(), |t| format!("{}%", number(t))),
        "window" => opt(a.window.as_deref()),
        "level" => a.level.to_string(),
        "message" => a.message.clone(),
        "tags" => a.tags.join(", "),
        "time" => Timestamp(a.timestamp_ms).to_rfc3339(),
        _ => return None,
    })
}

impl Links {
    /// The token's link when the alert names a token, else the protocol's, else none.
    pub fn for_alert(&self, a: &AlertView) -> Option<String> {
        if let Some(t) = &a.token_id {
            Some(self.token.replace("{tokenId}", t))
        } else {
            a.protocol_id
                .as_ref()
                .map(|p| self.protocol.replace("{protocolId}", p))
        }
    }
}

impl Templates {
    pub fn render(&self, a: &AlertView, links: &Links) -> Text {
        let link = links.for_alert(a);
        let lookup = |name: &str| {
            if name == "link" {
                Some(link.clone().unwrap_or_else(|| "-".into()))
            } else {
                fields(a, name)
            }
        };
        let (title, body) = if a.is_resolve() {
            (&self.resolved_title, &self.resolved_body)
        } else {
            (&self.title, &self.body)
        };
        Text {
            title: fill(title, &lookup),
            body: fill(body, &lookup),
            link,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::{alert, event, resolved, view_and_text};
    use pulse_core::event::{AlertRule, Severity};

    #[test]
    fn numbers_for_people() {
        assert_eq!(number(1_234_000_000.0), "1.23B");
        assert_eq!(number(45_600_000.0), "45.6M");
        assert_eq!(number(123_400.0), "123.4K");
        assert_eq!(number(0.97123456), "0.971235");
        assert_eq!(number(60_123.5), "60123.5");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-2.5), "-2.5");
    }

    #[test]
    fn default_templates_render() {
        let a = alert(AlertRule::PegDeviation, Severity::Critical, "ethereum");
        let t = Templates::default().render(&a, &Links::default());
        assert_eq!(t.title, "[CRITICAL] USDC: peg deviation");
        assert!(
            t.body
                .starts_with("USDC is 3.00% off its peg\nValue 0.97 vs 1 (-3.00%), threshold 2%")
        );
        assert_eq!(
            t.link.as_deref(),
            Some("https://coins.llama.fi/prices/current/coingecko:usd-coin")
        );
    }

    #[test]
    fn resolves_are_short_and_name_their_trigger() {
        let e = resolved(event(AlertRule::PegRecovery, Severity::Info, "ethereum"));
        let (_, t) = view_and_text(&e);
        assert_eq!(t.title, "[RESOLVED] USDC: peg deviation");
        assert_eq!(
            t.body,
            "USDC is back within its thresholds\n2026-12-01T00:00:00.000Z"
        );
    }

    #[test]
    fn unknown_placeholders_and_braces_stay() {
        let a = alert(AlertRule::PriceMove, Severity::Info, "x");
        let t = Templates {
            title: "{nope} {severity} {".into(),
            body: "{link} {} json {\"a\":1}".into(),
            ..Templates::default()
        }
        .render(&a, &Links::default());
        assert_eq!(t.title, "{nope} info {");
        assert!(t.body.ends_with("{} json {\"a\":1}"));
    }
}
