//! The detection engine: a record and its key's state in, update events and alerts out,
//! state updated in place. No I/O and no clock: "now" comes from the [`Context`], so the
//! same input always gives the same output.

use crate::config::{Config, WindowThreshold};
use crate::event::{
    self, Alert, AlertRule, Breakdown, ENVELOPE_VERSION, Event, FieldChange, Metadata, Payload,
    PriceUpdate, ProtocolUpdate, Severity, Source, TvlChange, UpdateType,
};
use crate::record::{PriceRecord, Record, RecordBody, TokenRemovalRecord, TvlRecord, UnixSecs};
use crate::rules::cooldown::{self, Decision, Observation};
use crate::rules::peg;
use crate::rules::publish::{self, PublishDecision, Published};
use crate::rules::window::{self, WindowHit};
use crate::state::{EntityState, SeriesState, StateMap};
use std::borrow::Cow;
use std::collections::HashSet;
use uuid::Uuid;

/// Where and when a batch is detected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Context {
    pub source: Source,
    /// Detection time; `None` takes each record's own time (replays).
    pub now: Option<UnixSecs>,
}

impl Context {
    pub fn replay() -> Self {
        Context {
            source: Source::Manual,
            now: None,
        }
    }
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    Applied,
    /// Not newer than the newest record already applied for its key (a re-read or a late write).
    Stale,
}

/// The result of a batch.
#[derive(Debug, Default)]
pub struct BatchOutput {
    pub events: Vec<Event>,
    pub applied: usize,
    pub stale: usize,
}

#[derive(Debug, Clone)]
pub struct Engine {
    config: Config,
    pegged: HashSet<String>,
    /// Whether any pegged entry is a token id (`chain:address`) rather than a coingecko id.
    pegged_token_ids: bool,
}

/// Per-record facts shared by every event made from it.
struct Emit<'a> {
    record: &'a Record,
    ctx: &'a Context,
    correlation_id: Option<Uuid>,
    source_confidence: Option<f64>,
}

impl<'a> Emit<'a> {
    fn new(record: &'a Record, ctx: &'a Context, source_confidence: Option<f64>) -> Self {
        Emit {
            record,
            ctx,
            correlation_id: None,
            source_confidence,
        }
    }

    /// The id of the event `rule` makes for the state key made of `key_parts` joined.
    fn id(&self, key_parts: &[&str], rule: &str) -> Uuid {
        event::event_id_of_parts(key_parts, self.record.time, rule)
    }

    fn event(
        &mut self,
        event_id: Uuid,
        change_percent: f64,
        tags: Vec<Tag>,
        payload: Payload,
    ) -> Event {
        let time = self.record.time;
        let age = self.ctx.now.map_or(0, |now| (now - time).max(0));
        let pk = &self.record.pk;
        let correlation_id = *self
            .correlation_id
            .get_or_insert_with(|| event::correlation_id(pk, time));
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

type Tag = Cow<'static, str>;

/// `{prefix}{value}` without the formatting machinery (tags are built for every event).
fn tag(prefix: &str, value: &str) -> Tag {
    Cow::Owned(text(prefix, value))
}

fn text(prefix: &str, value: &str) -> String {
    let mut t = String::with_capacity(prefix.len() + value.len());
    t.push_str(prefix);
    t.push_str(value);
    t
}

fn push_magnitude(tags: &mut Vec<Tag>, change_percent: f64) {
    if let Some(tag) = event::magnitude_tag(change_percent) {
        tags.push(Cow::Borrowed(tag));
    }
}

/// What a window or peg rule found, ready to become an alert.
struct Finding {
    rule: AlertRule,
    severity: Severity,
    key: String,
    value: f64,
    reference: f64,
    change_percent: f64,
    threshold_percent: f64,
    window: Option<String>,
    level: u8,
    message: String,
}

/// Who an alert is about.
#[derive(Default)]
struct Subject<'a> {
    token_id: Option<&'a str>,
    protocol_id: Option<&'a str>,
    chain: Option<&'a str>,
    symbol: Option<&'a str>,
    stablecoin: bool,
}

fn alert_event(emit: &mut Emit<'_>, f: Finding, who: &Subject<'_>) -> Event {
    let mut tags = Vec::with_capacity(8);
    tags.extend([
        Cow::Borrowed("type:alert"),
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
        tags.push(Cow::Borrowed("stablecoin"));
    }
    push_magnitude(&mut tags, f.change_percent);
    let rule_id = match f.rule {
        AlertRule::PriceMove => "alert:price_move",
        AlertRule::PegDeviation => "alert:peg_deviation",
        AlertRule::PegRecovery => "alert:peg_recovery",
        AlertRule::TvlDrop => "alert:tvl_drop",
    };
    let id = emit.id(&[&f.key], rule_id);
    let alert = Alert {
        rule: f.rule,
        severity: f.severity,
        key: f.key,
        token_id: who.token_id.map(str::to_string),
        protocol_id: who.protocol_id.map(str::to_string),
        chain: who.chain.map(str::to_string),
        symbol: who.symbol.map(str::to_string),
        value: f.value,
        reference: f.reference,
        change_percent: round4(f.change_percent),
        threshold_percent: f.threshold_percent,
        window: f.window,
        level: f.level,
        message: f.message,
    };
    emit.event(id, f.change_percent, tags, Payload::Alert(Box::new(alert)))
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn severity_of_window_level(level: u8) -> Severity {
    if level >= 2 {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

fn usd(x: f64) -> String {
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

/// The state key of a TVL series, `tvl:{protocolId}` or `tvl:{protocolId}:{chain}`, in parts.
fn tvl_key_parts<'a>(protocol_id: &'a str, chain: Option<&'a str>) -> [&'a str; 4] {
    match chain {
        Some(c) => ["tvl:", protocol_id, ":", c],
        None => ["tvl:", protocol_id, "", ""],
    }
}

fn tvl_key(protocol_id: &str, chain: Option<&str>) -> String {
    tvl_key_parts(protocol_id, chain).concat()
}

impl Engine {
    /// An engine with a validated config.
    pub fn new(config: Config) -> Self {
        let pegged = config.peg.assets.iter().cloned().collect();
        let pegged_token_ids = config.peg.assets.iter().any(|a| a.contains(':'));
        Engine {
            config,
            pegged,
            pegged_token_ids,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether a token is judged against the peg: by coingecko id, token id or redirect.
    pub fn is_pegged(&self, price: &PriceRecord) -> bool {
        let by_id = |id: &str| self.pegged.contains(id);
        price.token.coingecko_id().is_some_and(by_id)
            || price
                .redirect
                .as_deref()
                .and_then(|r| r.strip_prefix("coingecko#"))
                .is_some_and(by_id)
            || (self.pegged_token_ids && self.pegged.contains(&price.token.to_string()))
    }

    /// Runs a batch: records are applied per key in time order (the sort is stable), against
    /// `states`, which is updated in place. Keys missing from `states` start fresh.
    pub fn detect_batch(
        &self,
        records: &[Record],
        states: &mut StateMap,
        ctx: &Context,
    ) -> BatchOutput {
        let mut order: Vec<&Record> = records.iter().collect();
        order.sort_by_key(|r| r.time);
        let mut out = BatchOutput::default();
        let mut key = String::new();
        for record in order {
            match self.observe_keyed(record, states, &mut key, ctx, &mut out.events) {
                Observed::Applied => out.applied += 1,
                Observed::Stale => out.stale += 1,
            }
        }
        out
    }

    /// [`Engine::observe`] against the record's state in `states` (fresh when missing);
    /// `key` is a scratch buffer for the state key, so a known key costs no allocation.
    pub fn observe_keyed(
        &self,
        record: &Record,
        states: &mut StateMap,
        key: &mut String,
        ctx: &Context,
        out: &mut Vec<Event>,
    ) -> Observed {
        record.write_state_key(key);
        let state = match states.get_mut(key.as_str()) {
            Some(s) => s,
            None => states.entry(key.clone()).or_default(),
        };
        self.observe(record, state, ctx, out)
    }

    /// Applies one record to its key's state, appending any events to `out`.
    pub fn observe(
        &self,
        record: &Record,
        state: &mut EntityState,
        ctx: &Context,
        out: &mut Vec<Event>,
    ) -> Observed {
        if state.last_time.is_some_and(|last| record.time <= last) {
            return Observed::Stale;
        }
        let first_sighting = state.last_time.is_none();
        state.last_time = Some(record.time);
        match &record.body {
            RecordBody::Price(p) => self.observe_price(record, p, state, ctx, out),
            RecordBody::Tvl(t) => self.observe_tvl(record, t, state, first_sighting, ctx, out),
            RecordBody::TokenRemoval(r) => self.observe_removal(record, r, ctx, out),
            // Dimensions are parsed and counted; SPEC section 2 defines no event for them yet.
            RecordBody::Dimension(_) => {}
        }
        Observed::Applied
    }

    /// Ids and strings are built only when a price record yields an event.
    fn observe_price(
        &self,
        record: &Record,
        p: &PriceRecord,
        state: &mut EntityState,
        ctx: &Context,
        out: &mut Vec<Event>,
    ) {
        let t = record.time;
        let mut emit = Emit::new(record, ctx, p.confidence);
        let cfg = &self.config;
        let pegged = self.is_pegged(p);
        let ids = || {
            let token_id = p.token.id_string();
            let key = text("price:", &token_id);
            (token_id, key)
        };

        match publish::decide(
            &cfg.publish.price,
            cfg.publish.heartbeat,
            state.main.published,
            p.price,
            t,
        ) {
            PublishDecision::Seed => {
                state.main.published = Some(Published {
                    value: p.price,
                    time: t,
                })
            }
            PublishDecision::Hold => {}
            PublishDecision::Publish {
                previous,
                heartbeat,
            } => {
                let token_id = p.token.id_string();
                let change = publish::change_percent(previous.value, p.price);
                let mut tags = Vec::with_capacity(6);
                tags.extend([Cow::Borrowed("type:price"), tag("token:", &token_id)]);
                if let Some(chain) = p.token.chain() {
                    tags.push(tag("chain:", chain));
                }
                if pegged {
                    tags.push(Cow::Borrowed("stablecoin"));
                }
                if heartbeat {
                    tags.push(Cow::Borrowed("heartbeat"));
                }
                push_magnitude(&mut tags, change);
                let data = PriceUpdate {
                    token_id,
                    symbol: p.symbol.clone(),
                    chain: p.token.chain().map(str::to_string),
                    previous_price: previous.value,
                    current_price: p.price,
                    change_percent: round4(change),
                    change_absolute: p.price - previous.value,
                    decimals: p.decimals,
                };
                let id = emit.id(&["price:", &data.token_id], "price_update");
                out.push(emit.event(id, change, tags, Payload::PriceUpdate(data)));
                state.main.published = Some(Published {
                    value: p.price,
                    time: t,
                });
            }
        }

        let finding = if pegged {
            let peg_cfg = &cfg.peg;
            match cooldown::decide(
                &mut state.peg,
                peg::observe(peg_cfg, p.price),
                t,
                cfg.cooldown.period,
            ) {
                decision @ (Decision::Fire | Decision::Recovered) => {
                    let (token_id, key) = ids();
                    let name = p.symbol.clone().unwrap_or_else(|| token_id.clone());
                    let deviation = peg::deviation_percent(peg_cfg, p.price);
                    let mut f = Finding {
                        rule: AlertRule::PegDeviation,
                        severity: Severity::Warning,
                        key,
                        value: p.price,
                        reference: peg_cfg.peg,
                        change_percent: (p.price - peg_cfg.peg) / peg_cfg.peg * 100.0,
                        threshold_percent: 0.0,
                        window: None,
                        level: 0,
                        message: String::new(),
                    };
                    if decision == Decision::Fire {
                        let level = state.peg.active;
                        f.level = level;
                        f.threshold_percent = peg_cfg
                            .levels_percent
                            .get(usize::from(level).saturating_sub(1))
                            .copied()
                            .unwrap_or(0.0);
                        if usize::from(level) >= peg_cfg.critical_level {
                            f.severity = Severity::Critical;
                        }
                        f.message = format!(
                            "{name} is {deviation:.2}% off its ${} peg at ${} (past the {}% level)",
                            peg_cfg.peg, p.price, f.threshold_percent
                        );
                    } else {
                        f.rule = AlertRule::PegRecovery;
                        f.severity = Severity::Info;
                        f.threshold_percent = peg_cfg.recovery_percent;
                        f.message = format!(
                            "{name} is back within {}% of its ${} peg at ${}",
                            peg_cfg.recovery_percent, peg_cfg.peg, p.price
                        );
                    }
                    Some((f, token_id))
                }
                Decision::Quiet | Decision::Suppressed => None,
            }
        } else {
            let windows = &cfg.price_alerts.windows;
            let extremes = state.main.window_extremes(windows, t);
            let hit = window::price_move(windows, &extremes, p.price);
            state.main.push_window_value(t, p.price);
            let mut token = None;
            let f = self.window_finding(
                AlertRule::PriceMove,
                &mut state.main,
                hit,
                windows,
                p.price,
                t,
                || {
                    let (token_id, key) = ids();
                    let name = p.symbol.clone().unwrap_or_else(|| token_id.clone());
                    token = Some(token_id);
                    (key, name)
                },
            );
            f.zip(token)
        };
        if let Some((f, token_id)) = finding {
            let who = Subject {
                token_id: Some(&token_id),
                chain: p.token.chain(),
                symbol: p.symbol.as_deref(),
                stablecoin: pegged,
                ..Subject::default()
            };
            out.push(alert_event(&mut emit, f, &who));
        }
    }

    /// Runs the cooldown for a window rule and describes the alert when it fires;
    /// `describe` gives the state key and a readable name, only then.
    #[allow(clippy::too_many_arguments)]
    fn window_finding(
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
        if cooldown::decide(&mut series.alert, seen, t, self.config.cooldown.period)
            != Decision::Fire
        {
            return None;
        }
        let hit = hit?;
        let (key, name) = describe();
        let window = windows
            .get(hit.window)
            .map(|w| w.window.to_string())
            .unwrap_or_default();
        let message = match rule {
            AlertRule::TvlDrop => format!(
                "TVL of {name} dropped {:.2}% within {window}, from {} to {}",
                -hit.change_percent,
                usd(hit.reference),
                usd(value)
            ),
            _ => format!(
                "{name} moved {:+.2}% within {window}, from ${} to ${}",
                hit.change_percent, hit.reference, value
            ),
        };
        Some(Finding {
            rule,
            severity: severity_of_window_level(hit.level),
            key,
            value,
            reference: hit.reference,
            change_percent: hit.change_percent,
            threshold_percent: hit.threshold_percent,
            window: Some(window),
            level: hit.level,
            message,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn tvl_series(
        &self,
        emit: &mut Emit<'_>,
        series: &mut SeriesState,
        protocol_id: &str,
        chain: Option<&str>,
        value: f64,
        breakdown: Option<&[(String, f64)]>,
        alerts: bool,
        out: &mut Vec<Event>,
    ) {
        let cfg = &self.config;
        let t = emit.record.time;
        match publish::decide(
            &cfg.publish.tvl,
            cfg.publish.heartbeat,
            series.published,
            value,
            t,
        ) {
            PublishDecision::Seed => series.published = Some(Published { value, time: t }),
            PublishDecision::Hold => {}
            PublishDecision::Publish {
                previous,
                heartbeat,
            } => {
                let change = publish::change_percent(previous.value, value);
                let mut tags = Vec::with_capacity(5);
                tags.extend([Cow::Borrowed("type:tvl"), tag("protocol:", protocol_id)]);
                if let Some(c) = chain.and_then(event::chain_of_breakdown_key) {
                    tags.push(tag("chain:", c));
                }
                if heartbeat {
                    tags.push(Cow::Borrowed("heartbeat"));
                }
                push_magnitude(&mut tags, change);
                let data = TvlChange {
                    protocol_id: protocol_id.to_string(),
                    protocol_name: protocol_id.to_string(),
                    chain: chain.map(str::to_string),
                    previous_tvl: previous.value,
                    current_tvl: value,
                    change_percent: round4(change),
                    change_absolute: value - previous.value,
                    breakdown: breakdown.map(|b| {
                        if b.windows(2).all(|w| w[0].0 < w[1].0) {
                            Breakdown(b.to_vec())
                        } else {
                            Breakdown::from_pairs(b.iter().cloned())
                        }
                    }),
                };
                let id = emit.id(&tvl_key_parts(protocol_id, chain), "tvl_change");
                out.push(emit.event(id, change, tags, Payload::TvlChange(data)));
                series.published = Some(Published { value, time: t });
            }
        }
        if !alerts {
            return;
        }
        let windows = &cfg.tvl_alerts.windows;
        let extremes = series.window_extremes(windows, t);
        let hit = window::tvl_drop(windows, &extremes, value, cfg.tvl_alerts.min_drop_usd);
        series.push_window_value(t, value);
        let describe = || {
            let name = match chain {
                Some(c) => format!("{protocol_id} on {c}"),
                None => protocol_id.to_string(),
            };
            (tvl_key(protocol_id, chain), name)
        };
        if let Some(f) =
            self.window_finding(AlertRule::TvlDrop, series, hit, windows, value, t, describe)
        {
            let who = Subject {
                protocol_id: Some(protocol_id),
                chain,
                ..Subject::default()
            };
            out.push(alert_event(emit, f, &who));
        }
    }

    fn observe_tvl(
        &self,
        record: &Record,
        t: &TvlRecord,
        state: &mut EntityState,
        first: bool,
        ctx: &Context,
        out: &mut Vec<Event>,
    ) {
        let mut emit = Emit::new(record, ctx, None);
        let pid = t.protocol_id.as_str();
        self.tvl_series(
            &mut emit,
            &mut state.main,
            pid,
            None,
            t.tvl,
            Some(&t.chains),
            true,
            out,
        );

        for (chain, value) in &t.chains {
            let series = match state.chains.get_mut(chain) {
                Some(s) => s,
                None => state.chains.entry(chain.clone()).or_default(),
            };
            // A chain that is the whole protocol would only repeat the total's alerts.
            let alerts = (value - t.tvl).abs() > 1e-9 * t.tvl.abs().max(1.0);
            self.tvl_series(
                &mut emit,
                series,
                pid,
                Some(chain),
                *value,
                None,
                alerts,
                out,
            );
        }

        let changed = t
            .chains
            .iter()
            .map(|(c, _)| c.as_str())
            .ne(state.present_chains.iter().map(String::as_str));
        if !changed {
            return;
        }
        let now_present: Vec<&str> = t.chains.iter().map(|(c, _)| c.as_str()).collect();
        if !first {
            let key = tvl_key_parts(pid, None);
            let added: Vec<&str> = now_present
                .iter()
                .copied()
                .filter(|c| !state.present_chains.iter().any(|p| p == c))
                .collect();
            let removed: Vec<&str> = state
                .present_chains
                .iter()
                .map(String::as_str)
                .filter(|p| !now_present.contains(p))
                .collect();
            for (update_type, chains, rule) in [
                (UpdateType::ChainAdded, &added, "chain_added"),
                (UpdateType::ChainRemoved, &removed, "chain_removed"),
            ] {
                if chains.is_empty() {
                    continue;
                }
                let changes = chains
                    .iter()
                    .map(|c| {
                        let (previous_value, current_value) = match update_type {
                            UpdateType::ChainAdded => {
                                (serde_json::Value::Null, serde_json::Value::from(*c))
                            }
                            _ => (serde_json::Value::from(*c), serde_json::Value::Null),
                        };
                        FieldChange {
                            field: "chain".to_string(),
                            previous_value,
                            current_value,
                        }
                    })
                    .collect();
                let tags = vec![
                    Cow::Borrowed("type:protocol"),
                    tag("protocol:", pid),
                    tag("update:", rule),
                ];
                let data = ProtocolUpdate {
                    protocol_id: pid.to_string(),
                    protocol_name: pid.to_string(),
                    update_type,
                    changes,
                };
                let id = emit.id(&key, rule);
                out.push(emit.event(id, 0.0, tags, Payload::ProtocolUpdate(data)));
            }
        }
        state.present_chains = now_present.iter().map(|c| c.to_string()).collect();
    }

    fn observe_removal(
        &self,
        record: &Record,
        r: &TokenRemovalRecord,
        ctx: &Context,
        out: &mut Vec<Event>,
    ) {
        let mut emit = Emit::new(record, ctx, None);
        let mut changes: Vec<FieldChange> = r
            .fields
            .iter()
            .map(|(field, value)| FieldChange {
                field: field.clone(),
                previous_value: serde_json::Value::from(value.as_str()),
                current_value: serde_json::Value::Null,
            })
            .collect();
        if changes.is_empty() {
            changes.push(FieldChange {
                field: "token".to_string(),
                previous_value: serde_json::Value::from(r.target.as_str()),
                current_value: serde_json::Value::Null,
            });
        }
        let tags = vec![
            Cow::Borrowed("type:protocol"),
            tag("protocol:", &r.protocol_id),
            Cow::Borrowed("update:token_removal"),
        ];
        let data = ProtocolUpdate {
            protocol_id: r.protocol_id.clone(),
            protocol_name: r.protocol_id.clone(),
            update_type: UpdateType::Metadata,
            changes,
        };
        let id = emit.id(&[&record.state_key()], "token_removal");
        out.push(emit.event(id, 0.0, tags, Payload::ProtocolUpdate(data)));
    }
}
