//! What every event made from one record shares (id, time, correlation, confidence, tags),
//! and alerts: a rule's finding, its message and the event that carries it.

use super::Engine;
use crate::config::WindowThreshold;
use crate::engine::Context;
use crate::event::{
    self, Alert, AlertRule, AlertStatus, ENVELOPE_VERSION, Event, IdTime, Metadata, Payload,
    Severity,
};
use crate::record::{Record, Text, UnixSecs, concat_text};
use crate::rules::cooldown::{self, Decision, Observation};
use crate::rules::window::{self, WindowHit};
use crate::state::SeriesState;
use crate::time::format_span;
use std::borrow::Cow;
use uuid::Uuid;

/// Per-record facts shared by every event made from it, and what the record counted.
pub(super) struct Emit<'a> {
    pub(super) record: &'a Record,
    pub(super) ctx: &'a Context,
    pub(super) correlation_id: Option<Uuid>,
    /// The record time as ids spell it, written at the first id.
    time: Option<IdTime>,
    pub(super) source_confidence: Option<f64>,
    pub(super) window_gaps: u32,
}

impl<'a> Emit<'a> {
    pub(super) fn new(record: &'a Record, ctx: &'a Context) -> Self {
        Emit {
            record,
            ctx,
            correlation_id: None,
            time: None,
            source_confidence: None,
            window_gaps: 0,
        }
    }

    /// The id of the event `rule` makes for the state key made of `key_parts` joined.
    pub(super) fn id(&mut self, key_parts: &[&str], rule: &str) -> Uuid {
        event::event_id_at(key_parts, self.time(), rule)
    }

    fn time(&mut self) -> &IdTime {
        let time = self.record.time;
        self.time.get_or_insert_with(|| IdTime::new(time))
    }

    pub(super) fn event(
        &mut self,
        event_id: Uuid,
        change_percent: f64,
        tags: Vec<Tag>,
        payload: Payload,
    ) -> Event {
        let time = self.record.time;
        let age = self.ctx.age(time);
        let correlation_id = match self.correlation_id {
            Some(id) => id,
            None => {
                let id = event::correlation_id_at(&self.record.pk, self.time());
                *self.correlation_id.insert(id)
            }
        };
        Event {
            event_id,
            payload,
            timestamp: time * 1000,
            source: self.ctx.source,
            version: Cow::Borrowed(ENVELOPE_VERSION),
            metadata: Metadata {
                correlation_id,
                confidence: event::confidence(self.source_confidence, age, change_percent),
                processing_time: age * 1000,
                retry_count: 0,
                tags,
            },
        }
    }
}

pub(super) type Tag = Text;

/// A fixed tag (no allocation).
pub(super) const fn fixed(tag: &'static str) -> Tag {
    Text::const_new(tag)
}

/// `{prefix}{value}` without the formatting machinery (tags are built for every event);
/// inline, no allocation, up to 24 bytes.
pub(super) fn tag(prefix: &str, value: &str) -> Tag {
    concat_text(&[prefix, value])
}

pub(super) fn push_magnitude(tags: &mut Vec<Tag>, change_percent: f64) {
    if let Some(tag) = event::magnitude_tag(change_percent) {
        tags.push(fixed(tag));
    }
}

/// What a window or peg rule found, ready to become an alert.
pub(super) struct Finding {
    pub(super) rule: AlertRule,
    pub(super) severity: Severity,
    pub(super) status: AlertStatus,
    pub(super) key: String,
    pub(super) value: f64,
    pub(super) reference: f64,
    pub(super) change_percent: f64,
    pub(super) threshold_percent: f64,
    pub(super) window: Option<String>,
    pub(super) reference_time: Option<UnixSecs>,
    pub(super) level: u8,
    pub(super) message: String,
}

/// Who an alert is about.
#[derive(Default)]
pub(super) struct Subject<'a> {
    pub(super) token_id: Option<&'a str>,
    pub(super) protocol_id: Option<&'a str>,
    pub(super) chain: Option<&'a str>,
    pub(super) symbol: Option<&'a str>,
    pub(super) stablecoin: bool,
}

pub(super) fn alert_event(emit: &mut Emit<'_>, f: Finding, who: &Subject<'_>) -> Event {
    let mut tags = Vec::with_capacity(8);
    tags.extend([
        fixed("type:alert"),
        tag("rule:", f.rule.as_str()),
        tag("severity:", f.severity.as_str()),
    ]);
    if let Some(t) = who.token_id {
        tags.push(tag("token:", t));
    }
    if let Some(p) = who.protocol_id {
        tags.push(tag("protocol:", p));
    }
    if let Some(c) = who.chain {
        tags.push(tag("chain:", c));
    }
    if who.stablecoin {
        tags.push(fixed("stablecoin"));
    }
    push_magnitude(&mut tags, f.change_percent);
    if f.status == AlertStatus::Resolved {
        tags.push(fixed("resolved"));
    }
    let rule_id = match (f.rule, f.status) {
        (AlertRule::PriceMove, AlertStatus::Firing) => "alert:price_move",
        (AlertRule::PriceMove, AlertStatus::Resolved) => "alert:price_move:resolved",
        (AlertRule::PegDeviation, _) => "alert:peg_deviation",
        (AlertRule::PegRecovery, _) => "alert:peg_recovery",
        (AlertRule::TvlDrop, AlertStatus::Firing) => "alert:tvl_drop",
        (AlertRule::TvlDrop, AlertStatus::Resolved) => "alert:tvl_drop:resolved",
    };
    let id = emit.id(&[&f.key], rule_id);
    let alert = Alert {
        rule: f.rule,
        severity: f.severity,
        status: f.status,
        key: f.key,
        token_id: who.token_id.map(str::to_string),
        protocol_id: who.protocol_id.map(str::to_string),
        chain: who.chain.map(str::to_string),
        symbol: who.symbol.map(str::to_string),
        value: f.value,
        reference: f.reference,
        change_percent: event::stated_percent(f.change_percent),
        threshold_percent: f.threshold_percent,
        window: f.window,
        reference_time: f.reference_time.map(|t| t.saturating_mul(1000)),
        level: f.level,
        message: f.message,
    };
    emit.event(id, f.change_percent, tags, Payload::Alert(Box::new(alert)))
}

pub(super) fn usd(x: f64) -> String {
    let a = x.abs();
    if a >= 1e9 {
        format!("${:.2}bn", x / 1e9)
    } else if a >= 1e6 {
        format!("${:.2}M", x / 1e6)
    } else if a >= 1e3 {
        format!("${:.1}k", x / 1e3)
    } else {
        format!("${x:.4}")
    }
}

/// A price as messages write it: as is, or in scientific notation when tiny or huge (a
/// dust token's price is not 300 zeros).
pub(super) fn price_text(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-6..1e15).contains(&a) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// The state key of a TVL series, `tvl:{protocolId}` or `tvl:{protocolId}:{part}`, in parts.
pub(super) fn tvl_key_parts<'a>(protocol_id: &'a str, part: Option<&'a str>) -> [&'a str; 4] {
    match part {
        Some(c) => ["tvl:", protocol_id, ":", c],
        None => ["tvl:", protocol_id, "", ""],
    }
}

pub(super) fn tvl_key(protocol_id: &str, part: Option<&str>) -> String {
    tvl_key_parts(protocol_id, part).concat()
}

impl Engine {
    /// Runs the cooldown for a window rule and describes the alert when it fires;
    /// `describe` gives the state key and a readable name, only then.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn window_finding(
        &self,
        rule: AlertRule,
        series: &mut SeriesState,
        hit: Option<WindowHit>,
        windows: &[WindowThreshold],
        value: f64,
        t: UnixSecs,
        describe: impl FnOnce() -> (String, String),
    ) -> Option<Finding> {
        let seen = hit.map_or(Observation::Clear, |h| Observation::Level(h.level));
        let hit = match cooldown::decide(&mut series.alert, seen, t, self.config.cooldown.period) {
            Decision::Fire => hit?,
            Decision::Recovered => {
                let (key, name) = describe();
                return Some(resolved(rule, key, &name, value));
            }
            Decision::Quiet | Decision::Suppressed | Decision::Ended => return None,
        };
        let (key, name) = describe();
        let window = windows
            .get(hit.window)
            .map(|w| w.window.to_string())
            .unwrap_or_default();
        // The span the move really covers: from the reference value to this one.
        let span = format_span(t - hit.reference_time);
        let change = event::stated_percent(hit.change_percent);
        let message = match rule {
            AlertRule::TvlDrop => format!(
                "TVL of {name} dropped {:.2}% within {span}, from {} to {}",
                -change,
                usd(hit.reference),
                usd(value)
            ),
            _ => format!(
                "{name} moved {change:+.2}% within {span}, from ${} to ${}",
                price_text(hit.reference),
                price_text(value)
            ),
        };
        Some(Finding {
            rule,
            severity: window::severity(hit.level),
            status: AlertStatus::Firing,
            key,
            value,
            reference: hit.reference,
            change_percent: hit.change_percent,
            threshold_percent: hit.threshold_percent,
            window: Some(window),
            reference_time: Some(hit.reference_time),
            level: hit.level,
            message,
        })
    }
}

/// The resolve of an announced window episode: the move no longer crosses any threshold of
/// the rule's windows. Info, level 0, compared with nothing (the value is the news).
fn resolved(rule: AlertRule, key: String, name: &str, value: f64) -> Finding {
    let message = match rule {
        AlertRule::TvlDrop => format!(
            "TVL of {name} is no longer down past its drop thresholds, at {}",
            usd(value)
        ),
        _ => format!(
            "{name} is back within its price move thresholds, at ${}",
            price_text(value)
        ),
    };
    Finding {
        rule,
        severity: Severity::Info,
        status: AlertStatus::Resolved,
        key,
        value,
        reference: value,
        change_percent: 0.0,
        threshold_percent: 0.0,
        window: None,
        reference_time: None,
        level: 0,
        message,
    }
}
