//! The detection engine: a record and its key's state in, update events and alerts out,
//! state updated in place. No I/O and no clock: "now" comes from the [`Context`], so the
//! same input always gives the same output.

use crate::config::{Config, WindowThreshold};
use crate::event::{
    self, Alert, AlertRule, Breakdown, ENVELOPE_VERSION, Event, FieldChange, Metadata, Payload,
    PriceUpdate, ProtocolUpdate, Severity, Source, TvlChange, UpdateType,
};
use crate::record::{
    PriceRecord, Record, RecordBody, RejectReason, Sections, TokenRemovalRecord, TvlRecord,
    UnixSecs, format_span,
};
use crate::rules::cooldown::{self, Decision, Observation};
use crate::rules::peg;
use crate::rules::publish::{self, PublishDecision, Published};
use crate::rules::window::{self, WindowHit};
use crate::state::{EntityState, SeriesState, StateMap};
use crate::tally::Tally;
use std::borrow::Cow;
use std::collections::HashSet;
use uuid::Uuid;

/// Where and when a batch is detected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Context {
    pub source: Source,
    /// The detection clock. Records stamped more than `validation.max_future_skew` after it
    /// are rejected (`future_time`), and a state stamped after it is healed. Live sources
    /// (`dynamodb`, `scheduled`) also measure `processingTime` and freshness from it; a replay
    /// (`manual`) re-detects history, so its events have `processingTime` 0. `None`: no clock
    /// (no time guard), as in tests of the engine alone.
    pub now: Option<UnixSecs>,
}

impl Context {
    /// A replay without a clock: no time guard.
    pub fn replay() -> Self {
        Context {
            source: Source::Manual,
            now: None,
        }
    }

    /// A replay whose time guard measures against `now` (`pulse replay` gives the wall clock,
    /// or `--now`).
    pub fn replay_at(now: UnixSecs) -> Self {
        Context {
            source: Source::Manual,
            now: Some(now),
        }
    }

    /// Seconds from a record's time to its detection, as events state it.
    fn age(&self, time: UnixSecs) -> i64 {
        match (self.source, self.now) {
            (Source::Manual, _) | (_, None) => 0,
            (_, Some(now)) => now.saturating_sub(time).max(0),
        }
    }
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Not newer than the newest record already applied for its key (a re-read or a late write).
    Stale,
    /// Stamped more than the allowed skew after the detection clock: rejected (`future_time`),
    /// state untouched.
    Future,
}

/// What one record did, with what is counted beside events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub outcome: Outcome,
    /// Windows that held values but none whose age fits the window: no comparison was made
    /// for them (daily data in a 1h window, a gap longer than the window).
    pub window_gaps: u32,
    /// The key's state was stamped after the detection clock and was healed first.
    pub healed: bool,
}

/// The result of a batch.
#[derive(Debug, Default)]
pub struct BatchOutput {
    pub events: Vec<Event>,
    pub applied: usize,
    pub stale: usize,
    /// Records rejected as `future_time`.
    pub future: usize,
    pub window_gaps: u64,
    /// States healed of future times.
    pub healed: u64,
}

impl BatchOutput {
    fn count(&mut self, seen: Observed) {
        match seen.outcome {
            Outcome::Applied => self.applied += 1,
            Outcome::Stale => self.stale += 1,
            Outcome::Future => self.future += 1,
        }
        self.window_gaps += u64::from(seen.window_gaps);
        self.healed += u64::from(seen.healed);
    }

    /// Adds what the batch did (records, rejections, gaps, heals, events) to `tally`.
    pub fn add_to(&self, tally: &mut Tally) {
        tally.applied += self.applied as u64;
        tally.stale += self.stale as u64;
        if self.future > 0 {
            *tally.rejected.entry(RejectReason::FutureTime).or_default() += self.future as u64;
        }
        tally.window_gaps += self.window_gaps;
        tally.healed += self.healed;
        for event in &self.events {
            tally.count_event(event);
        }
    }
}

#[derive(Debug, Clone)]
pub struct Engine {
    config: Config,
    pegged: HashSet<String>,
    /// Whether any pegged entry is a token id (`chain:address`) rather than a coingecko id.
    pegged_token_ids: bool,
    sections: Sections,
}

/// Per-record facts shared by every event made from it, and what the record counted.
struct Emit<'a> {
    record: &'a Record,
    ctx: &'a Context,
    correlation_id: Option<Uuid>,
    source_confidence: Option<f64>,
    window_gaps: u32,
}

impl<'a> Emit<'a> {
    fn new(record: &'a Record, ctx: &'a Context) -> Self {
        Emit {
            record,
            ctx,
            correlation_id: None,
            source_confidence: None,
            window_gaps: 0,
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
        let age = self.ctx.age(time);
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
    reference_time: Option<UnixSecs>,
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
        change_percent: event::stated_percent(f.change_percent),
        threshold_percent: f.threshold_percent,
        window: f.window,
        reference_time: f.reference_time.map(|t| t.saturating_mul(1000)),
        level: f.level,
        message: f.message,
    };
    emit.event(id, f.change_percent, tags, Payload::Alert(Box::new(alert)))
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

/// A price as messages write it: as is, or in scientific notation when tiny or huge (a
/// dust token's price is not 300 zeros).
fn price_text(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-6..1e15).contains(&a) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// The state key of a TVL series, `tvl:{protocolId}` or `tvl:{protocolId}:{part}`, in parts.
fn tvl_key_parts<'a>(protocol_id: &'a str, part: Option<&'a str>) -> [&'a str; 4] {
    match part {
        Some(c) => ["tvl:", protocol_id, ":", c],
        None => ["tvl:", protocol_id, "", ""],
    }
}

fn tvl_key(protocol_id: &str, part: Option<&str>) -> String {
    tvl_key_parts(protocol_id, part).concat()
}

/// Whether a chain's value is the protocol's whole TVL.
fn is_whole(value: f64, total: f64) -> bool {
    (value - total).abs() <= 1e-9 * total.abs().max(1.0)
}

/// Names only in `now` (added) and only in `before` (removed), for two lists sorted
/// ascending without duplicates: one pass over both, so a row of many keys costs linear time.
pub fn diff_sorted<T: Ord + Copy>(before: &[T], now: &[T]) -> (Vec<T>, Vec<T>) {
    use std::cmp::Ordering;
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < before.len() && j < now.len() {
        match before[i].cmp(&now[j]) {
            Ordering::Less => {
                removed.push(before[i]);
                i += 1;
            }
            Ordering::Greater => {
                added.push(now[j]);
                j += 1;
            }
            Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    removed.extend_from_slice(&before[i..]);
    added.extend_from_slice(&now[j..]);
    (added, removed)
}

/// One TVL series to run: the total, a chain or a section.
struct TvlSeries<'a> {
    protocol_id: &'a str,
    /// The chain or section key of the series; `None` for the protocol total.
    part: Option<&'a str>,
    /// The chain the update event carries (the series' own chain, or the protocol's only chain
    /// on the total).
    chain: Option<&'a str>,
    value: f64,
    breakdown: Option<&'a [(String, f64)]>,
    /// Whether the series publishes `tvl_change` events (else its baseline moves silently).
    events: bool,
    /// Whether the series raises `tvl_drop` alerts.
    alerts: bool,
}

impl Engine {
    /// An engine with a validated config.
    pub fn new(config: Config) -> Self {
        let pegged = config.peg.assets.iter().cloned().collect();
        let pegged_token_ids = config.peg.assets.iter().any(|a| a.contains(':'));
        let sections = Sections::new(&config.tvl.sections);
        Engine {
            config,
            pegged,
            pegged_token_ids,
            sections,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The TVL section names, which are not chains.
    pub fn sections(&self) -> &Sections {
        &self.sections
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

    /// The newest record time the detection clock accepts (`None` without a clock).
    pub fn time_limit(&self, ctx: &Context) -> Option<UnixSecs> {
        ctx.now
            .map(|now| now.saturating_add(self.config.validation.max_future_skew.0))
    }

    /// Whether `record` is stamped beyond what the clock accepts (`future_time`).
    pub fn is_future(&self, record: &Record, ctx: &Context) -> bool {
        self.time_limit(ctx)
            .is_some_and(|limit| record.time > limit)
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
            let seen = self.observe_keyed(record, states, &mut key, ctx, &mut out.events);
            out.count(seen);
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
        if self.is_future(record, ctx) && !states.contains_key(key.as_str()) {
            // Rejected before it makes a state.
            return Observed {
                outcome: Outcome::Future,
                window_gaps: 0,
                healed: false,
            };
        }
        let state = match states.get_mut(key.as_str()) {
            Some(s) => s,
            None => states.entry(key.clone()).or_default(),
        };
        self.observe(record, state, ctx, out)
    }

    /// Applies one record to its key's state, appending any events to `out`. With a clock,
    /// a state stamped after it is healed first, and a record stamped after it is rejected.
    pub fn observe(
        &self,
        record: &Record,
        state: &mut EntityState,
        ctx: &Context,
        out: &mut Vec<Event>,
    ) -> Observed {
        let mut seen = Observed {
            outcome: Outcome::Applied,
            window_gaps: 0,
            healed: false,
        };
        if let Some(limit) = self.time_limit(ctx) {
            seen.healed = state.heal_after(limit);
            if record.time > limit {
                seen.outcome = Outcome::Future;
                return seen;
            }
        }
        if state.last_time.is_some_and(|last| record.time <= last) {
            seen.outcome = Outcome::Stale;
            return seen;
        }
        let first_sighting = state.last_time.is_none();
        state.last_time = Some(record.time);
        let mut emit = Emit::new(record, ctx);
        match &record.body {
            RecordBody::Price(p) => self.observe_price(&mut emit, p, state, out),
            RecordBody::Tvl(t) => self.observe_tvl(&mut emit, t, state, first_sighting, out),
            RecordBody::TokenRemoval(r) => self.observe_removal(&mut emit, r, out),
            // Dimensions are parsed and counted; SPEC section 2 defines no event for them yet.
            RecordBody::Dimension(_) => {}
        }
        seen.window_gaps = emit.window_gaps;
        seen
    }

    /// Ids and strings are built only when a price record yields an event.
    fn observe_price(
        &self,
        emit: &mut Emit<'_>,
        p: &PriceRecord,
        state: &mut EntityState,
        out: &mut Vec<Event>,
    ) {
        let t = emit.record.time;
        emit.source_confidence = p.confidence;
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
                    change_percent: event::stated_percent(change),
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
                        reference_time: None,
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
                            peg_cfg.peg,
                            price_text(p.price),
                            f.threshold_percent
                        );
                    } else {
                        // Only an announced episode recovers (see rules::cooldown).
                        f.rule = AlertRule::PegRecovery;
                        f.severity = Severity::Info;
                        f.threshold_percent = peg_cfg.recovery_percent;
                        f.message = format!(
                            "{name} is back within {}% of its ${} peg at ${}",
                            peg_cfg.recovery_percent,
                            peg_cfg.peg,
                            price_text(p.price)
                        );
                    }
                    Some((f, token_id))
                }
                Decision::Quiet | Decision::Suppressed | Decision::Ended => None,
            }
        } else {
            let windows = &cfg.price_alerts.windows;
            let (extremes, gaps) = state.main.window_extremes(windows, &cfg.windows, t);
            emit.window_gaps += gaps;
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
            out.push(alert_event(emit, f, &who));
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
            severity: severity_of_window_level(hit.level),
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

    fn tvl_series(
        &self,
        emit: &mut Emit<'_>,
        state: &mut SeriesState,
        s: TvlSeries<'_>,
        out: &mut Vec<Event>,
    ) {
        let cfg = &self.config;
        let t = emit.record.time;
        let (protocol_id, value) = (s.protocol_id, s.value);
        match publish::decide(
            &cfg.publish.tvl,
            cfg.publish.heartbeat,
            state.published,
            value,
            t,
        ) {
            PublishDecision::Seed => state.published = Some(Published { value, time: t }),
            PublishDecision::Hold => {}
            PublishDecision::Publish { .. } if !s.events => {
                state.published = Some(Published { value, time: t });
            }
            PublishDecision::Publish {
                previous,
                heartbeat,
            } => {
                let change = publish::change_percent(previous.value, value);
                let mut tags = Vec::with_capacity(5);
                tags.extend([Cow::Borrowed("type:tvl"), tag("protocol:", protocol_id)]);
                if let Some(c) = s.chain {
                    tags.push(tag("chain:", c));
                }
                if heartbeat {
                    tags.push(Cow::Borrowed("heartbeat"));
                }
                push_magnitude(&mut tags, change);
                let data = TvlChange {
                    protocol_id: protocol_id.to_string(),
                    protocol_name: protocol_id.to_string(),
                    chain: s.chain.map(str::to_string),
                    previous_tvl: previous.value,
                    current_tvl: value,
                    change_percent: event::stated_percent(change),
                    change_absolute: value - previous.value,
                    breakdown: s.breakdown.map(|b| {
                        if b.windows(2).all(|w| w[0].0 < w[1].0) {
                            Breakdown(b.to_vec())
                        } else {
                            Breakdown::from_pairs(b.iter().cloned())
                        }
                    }),
                };
                let id = emit.id(&tvl_key_parts(protocol_id, s.part), "tvl_change");
                out.push(emit.event(id, change, tags, Payload::TvlChange(data)));
                state.published = Some(Published { value, time: t });
            }
        }
        if !s.alerts {
            return;
        }
        let windows = &cfg.tvl_alerts.windows;
        let (extremes, gaps) = state.window_extremes(windows, &cfg.windows, t);
        emit.window_gaps += gaps;
        let hit = window::tvl_drop(windows, &extremes, value, cfg.tvl_alerts.min_drop_usd);
        state.push_window_value(t, value);
        let describe = || {
            let name = match s.part {
                Some(c) => format!("{protocol_id} on {c}"),
                None => protocol_id.to_string(),
            };
            (tvl_key(protocol_id, s.part), name)
        };
        if let Some(f) =
            self.window_finding(AlertRule::TvlDrop, state, hit, windows, value, t, describe)
        {
            let chain = match s.part {
                Some(part) => match self.sections.section_of(part) {
                    // `ethereum-borrowed` is about ethereum; a bare `borrowed` about no chain.
                    Some(section) => part.strip_suffix(section).and_then(|c| c.strip_suffix('-')),
                    None => Some(part),
                },
                None => None,
            };
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
        emit: &mut Emit<'_>,
        t: &TvlRecord,
        state: &mut EntityState,
        first: bool,
        out: &mut Vec<Event>,
    ) {
        let pid = t.protocol_id.as_str();
        let parts = t.split(&self.sections);
        // A protocol whose one chain is its whole TVL gets one event, carrying the chain.
        let sole_chain = match parts.chains.as_slice() {
            [(chain, value)] if is_whole(*value, t.tvl) => Some(*chain),
            _ => None,
        };
        self.tvl_series(
            emit,
            &mut state.main,
            TvlSeries {
                protocol_id: pid,
                part: None,
                chain: sole_chain,
                value: t.tvl,
                breakdown: Some(&t.chains),
                events: true,
                alerts: true,
            },
            out,
        );

        for &(chain, value) in &parts.chains {
            let series = match state.chains.get_mut(chain) {
                Some(s) => s,
                None => state.chains.entry(chain.to_string()).or_default(),
            };
            // The sole chain's event is the total's; its own baseline still moves (silently),
            // so a second chain appearing later is not measured from a stale baseline. A chain
            // that is the whole protocol would only repeat the total's alerts.
            let whole = is_whole(value, t.tvl);
            self.tvl_series(
                emit,
                series,
                TvlSeries {
                    protocol_id: pid,
                    part: Some(chain),
                    chain: Some(chain),
                    value,
                    breakdown: None,
                    events: sole_chain.is_none(),
                    alerts: !whole,
                },
                out,
            );
        }

        // Sections: only in the breakdown, unless their drops are asked for.
        if !self.config.tvl.section_alerts.is_empty() {
            for &(key, value) in &parts.sections {
                let alerts = self
                    .sections
                    .section_of(key)
                    .is_some_and(|s| self.config.tvl.section_alerts.iter().any(|a| a == s));
                if !alerts {
                    continue;
                }
                let series = match state.sections.get_mut(key) {
                    Some(s) => s,
                    None => state.sections.entry(key.to_string()).or_default(),
                };
                self.tvl_series(
                    emit,
                    series,
                    TvlSeries {
                        protocol_id: pid,
                        part: Some(key),
                        chain: None,
                        value,
                        breakdown: None,
                        events: false,
                        alerts: true,
                    },
                    out,
                );
            }
        }

        let changed = parts
            .chains
            .iter()
            .map(|(c, _)| *c)
            .ne(state.present_chains.iter().map(String::as_str));
        if !changed {
            return;
        }
        let now_present: Vec<&str> = parts.chains.iter().map(|(c, _)| *c).collect();
        // A state written before sections were told apart lists them as chains: they were
        // never chains, so they are neither "removed" now nor kept as chain series.
        let legacy_sections = state
            .present_chains
            .iter()
            .any(|c| self.sections.section_of(c).is_some());
        if legacy_sections {
            let sections = &self.sections;
            state.chains.retain(|k, _| sections.section_of(k).is_none());
        }
        if !first {
            let before: Vec<&str> = state
                .present_chains
                .iter()
                .map(String::as_str)
                .filter(|c| !legacy_sections || self.sections.section_of(c).is_none())
                .collect();
            let (added, removed) = diff_sorted(&before, &now_present);
            let key = tvl_key_parts(pid, None);
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

    fn observe_removal(&self, emit: &mut Emit<'_>, r: &TokenRemovalRecord, out: &mut Vec<Event>) {
        let record = emit.record;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    /// A name whose comparisons are counted.
    #[derive(Clone, Copy, PartialEq, Eq)]
    struct Counted<'a>(u32, &'a Cell<u64>);

    impl PartialOrd for Counted<'_> {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }

    impl Ord for Counted<'_> {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.1.set(self.1.get() + 1);
            self.0.cmp(&other.0)
        }
    }

    #[test]
    fn chain_comparison_is_linear() {
        // Two rows of 60,000 distinct keys took 10.4 s when each key was looked up in the
        // other row's list.
        let count = Cell::new(0);
        let before: Vec<Counted> = (0..60_000).map(|i| Counted(2 * i, &count)).collect();
        let now: Vec<Counted> = (0..60_000).map(|i| Counted(2 * i + 1, &count)).collect();
        let (added, removed) = diff_sorted(&before, &now);
        assert_eq!((added.len(), removed.len()), (60_000, 60_000));
        assert!(count.get() <= 120_000, "{} comparisons", count.get());
    }

    proptest! {
        #[test]
        fn diff_matches_the_definition(
            before in proptest::collection::btree_set(0u8..40, 0..30),
            now in proptest::collection::btree_set(0u8..40, 0..30),
        ) {
            let b: Vec<u8> = before.iter().copied().collect();
            let n: Vec<u8> = now.iter().copied().collect();
            let (added, removed) = diff_sorted(&b, &n);
            prop_assert_eq!(added, now.difference(&before).copied().collect::<Vec<_>>());
            prop_assert_eq!(removed, before.difference(&now).copied().collect::<Vec<_>>());
        }
    }
}
