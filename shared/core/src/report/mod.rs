//! The backtest report's model, with no I/O. While a replay streams records through the
//! engine, a [`Gatherer`] keeps each series' values folded into a bounded number of
//! min/max buckets ([`downsample`]) and every alert; at the end it chooses the series to chart
//! and builds the [`Report`] that `pulse replay --report` renders. [`compare`] matches the
//! alerts of a second config's replay against the first.

pub mod compare;
pub mod downsample;

use crate::config::{Config, PegConfig};
use crate::engine::Engine;
use crate::event::{AlertRule, Event, Severity};
use crate::record::{Record, RecordBody, UnixSecs};
use crate::replay::Summary;
use downsample::{Point, Series};
use std::collections::BTreeMap;

/// Buckets kept per series: two per column of the widest chart, so a series is drawn at full
/// resolution whatever its length, and costs at most 80 KiB (40 bytes a bucket).
pub const BUCKETS_PER_SERIES: usize = 2048;

/// One alert, with what a chart and the table show of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertMark {
    pub event_id: String,
    /// The record's time, unix seconds.
    pub t: UnixSecs,
    pub key: String,
    pub rule: AlertRule,
    pub severity: Severity,
    pub value: f64,
    pub reference: f64,
    /// When the reference value was seen (window rules), unix seconds.
    pub reference_time: Option<UnixSecs>,
    pub window: Option<String>,
    pub level: u8,
    pub change_percent: f64,
    pub message: String,
}

impl AlertMark {
    /// The alert an event carries, if it is one.
    pub fn of(event: &Event) -> Option<AlertMark> {
        let a = event.alert()?;
        Some(AlertMark {
            event_id: event.event_id.to_string(),
            t: event.timestamp.div_euclid(1000),
            key: a.key.clone(),
            rule: a.rule,
            severity: a.severity,
            value: a.value,
            reference: a.reference,
            reference_time: a.reference_time.map(|ms| ms.div_euclid(1000)),
            window: a.window.clone(),
            level: a.level,
            change_percent: a.change_percent,
            message: a.message.clone(),
        })
    }

    /// Whether this marks the end of an episode (a recovery) rather than a problem.
    pub fn is_recovery(&self) -> bool {
        self.rule == AlertRule::PegRecovery
    }

    fn point(&self) -> Point {
        Point::new(self.t, self.value)
    }
}

/// What a series measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    Price,
    Tvl,
}

#[derive(Debug, Clone)]
struct SeriesData {
    kind: SeriesKind,
    pegged: bool,
    /// A chain series that was ever not the protocol's whole TVL (else it only repeats the
    /// total and is not charted).
    distinct: bool,
    values: Series,
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut text) = text.strip_prefix(head) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('*').collect();
    let Some((last, middle)) = parts.split_last() else {
        return true;
    };
    for part in middle {
        match text.find(part) {
            Some(i) => text = &text[i + part.len()..],
            None => return false,
        }
    }
    text.len() >= last.len() && text.ends_with(last)
}

/// Collects, while a replay runs, what the report needs: per-series folded values and every
/// alert. Call [`Gatherer::stage`] with each record before the engine sees it and
/// [`Gatherer::commit`] after, with whether the engine applied it and the events it made.
#[derive(Debug)]
pub struct Gatherer {
    engine: Engine,
    patterns: Vec<String>,
    series: BTreeMap<String, SeriesData>,
    staged: Vec<(String, SeriesKind, bool, bool, f64)>,
    staged_time: UnixSecs,
    alerts: Vec<AlertMark>,
}

impl Gatherer {
    /// `patterns` (keys, or with `*`) limit the series kept; empty keeps all.
    pub fn new(config: &Config, patterns: Vec<String>) -> Self {
        Gatherer {
            engine: Engine::new(config.clone()),
            patterns,
            series: BTreeMap::new(),
            staged: Vec::new(),
            staged_time: 0,
            alerts: Vec::new(),
        }
    }

    fn wanted(&self, key: &str) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| glob(p, key))
    }

    /// Notes the series values a record carries (kept only if the engine applies it).
    pub fn stage(&mut self, record: &Record) {
        self.staged.clear();
        self.staged_time = record.time;
        match &record.body {
            RecordBody::Price(p) => {
                let key = record.state_key();
                if self.wanted(&key) {
                    let pegged = self.engine.is_pegged(p);
                    self.staged
                        .push((key, SeriesKind::Price, pegged, true, p.price));
                }
            }
            RecordBody::Tvl(t) => {
                let total = format!("tvl:{}", t.protocol_id);
                if self.wanted(&total) {
                    self.staged
                        .push((total, SeriesKind::Tvl, false, true, t.tvl));
                }
                let parts = t.split(self.engine.sections());
                let whole = |v: f64| (v - t.tvl).abs() <= 1e-9 * t.tvl.abs().max(1.0);
                for (chain, value) in &parts.chains {
                    let key = format!("tvl:{}:{chain}", t.protocol_id);
                    if self.wanted(&key) {
                        self.staged
                            .push((key, SeriesKind::Tvl, false, !whole(*value), *value));
                    }
                }
                let sections = &self.engine.config().tvl.section_alerts;
                for (part, value) in &parts.sections {
                    let alerted = self
                        .engine
                        .sections()
                        .section_of(part)
                        .is_some_and(|s| sections.iter().any(|a| a == s));
                    let key = format!("tvl:{}:{part}", t.protocol_id);
                    if alerted && self.wanted(&key) {
                        self.staged
                            .push((key, SeriesKind::Tvl, false, true, *value));
                    }
                }
            }
            RecordBody::Dimension(_) | RecordBody::TokenRemoval(_) => {}
        }
    }

    /// Keeps the staged values if the engine applied the record, and the alerts among `events`.
    pub fn commit(&mut self, applied: bool, events: &[Event]) {
        if applied {
            let t = self.staged_time;
            for (key, kind, pegged, distinct, value) in self.staged.drain(..) {
                let s = self.series.entry(key).or_insert_with(|| SeriesData {
                    kind,
                    pegged,
                    distinct: false,
                    values: Series::new(BUCKETS_PER_SERIES),
                });
                s.distinct |= distinct;
                s.values.push(t, value);
            }
        }
        self.staged.clear();
        self.alerts.extend(events.iter().filter_map(AlertMark::of));
    }

    pub fn alerts(&self) -> &[AlertMark] {
        &self.alerts
    }

    /// Series kept so far.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The report: the overview from `summary`, charts of the series `patterns` named (all
    /// of them) or else of the `top` noisiest, every alert; and with `other` (the alerts of
    /// the same input under a second config) what that config changes.
    pub fn finish(self, summary: Summary, top: usize, other: Option<Other>) -> Report {
        let peg = self.engine.config().peg.clone();
        let alerts = sorted_alerts(self.alerts);
        let comparison = other.map(|o| {
            let other_alerts = sorted_alerts(o.alerts);
            let diff = compare::diff(&alerts, &other_alerts);
            let per_series = compare::per_series(&alerts, &other_alerts, &diff);
            Comparison {
                name: o.name,
                other_total: other_alerts.len(),
                diff,
                per_series,
            }
        });

        let per_series = series_counts(&alerts);
        let noise: BTreeMap<&str, usize> = per_series
            .iter()
            .map(|c| (c.key.as_str(), c.total))
            .collect();
        let added: BTreeMap<&str, usize> = comparison
            .as_ref()
            .map(|c| {
                c.per_series
                    .iter()
                    .map(|r| (r.key.as_str(), r.added))
                    .collect()
            })
            .unwrap_or_default();
        let score =
            |k: &str| noise.get(k).copied().unwrap_or(0) + added.get(k).copied().unwrap_or(0);
        let mut keys: Vec<&String> = self
            .series
            .iter()
            .filter(|(k, s)| s.distinct || score(k) > 0)
            .map(|(k, _)| k)
            .collect();
        let series_total = keys.len();
        if self.patterns.is_empty() {
            keys.sort_by(|a, b| score(b).cmp(&score(a)).then_with(|| a.cmp(b)));
            let noisy = keys.iter().filter(|k| score(k) > 0).count();
            keys.truncate(if noisy > 0 { noisy.min(top) } else { top });
        }
        let charts = keys
            .into_iter()
            .filter_map(|key| {
                let s = self.series.get(key)?;
                let marks: Vec<usize> = alerts
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| &a.key == key)
                    .map(|(i, _)| i)
                    .collect();
                let added: Vec<usize> = comparison
                    .as_ref()
                    .map(|c| {
                        c.diff
                            .added
                            .iter()
                            .enumerate()
                            .filter(|(_, a)| &a.key == key)
                            .map(|(i, _)| i)
                            .collect()
                    })
                    .unwrap_or_default();
                let mut pinned: Vec<Point> = marks.iter().map(|&i| alerts[i].point()).collect();
                if let Some(c) = &comparison {
                    pinned.extend(added.iter().map(|&i| c.diff.added[i].point()));
                }
                Some(Chart {
                    key: key.clone(),
                    kind: s.kind,
                    count: s.values.count(),
                    points: s.values.downsample(&pinned, CHART_COLUMNS),
                    alerts: marks,
                    added,
                    peg: s.pegged.then(|| PegBands::of(&peg)),
                })
            })
            .collect();
        Report {
            by_rule: rule_counts(&alerts),
            per_series,
            charts,
            series_total,
            alerts,
            summary,
            comparison,
        }
    }
}

/// Columns of a chart's plot area (its width in pixels as drawn).
pub const CHART_COLUMNS: usize = 920;

fn sorted_alerts(mut alerts: Vec<AlertMark>) -> Vec<AlertMark> {
    alerts.sort_by(|a, b| a.t.cmp(&b.t).then_with(|| a.event_id.cmp(&b.event_id)));
    alerts
}

/// The alerts of the same input under a second config.
#[derive(Debug, Clone)]
pub struct Other {
    /// How the report names the second config (its file name).
    pub name: String,
    pub alerts: Vec<AlertMark>,
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BySeverity {
    pub info: usize,
    pub warning: usize,
    pub critical: usize,
}

impl BySeverity {
    fn add(&mut self, s: Severity) {
        match s {
            Severity::Info => self.info += 1,
            Severity::Warning => self.warning += 1,
            Severity::Critical => self.critical += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleCount {
    pub rule: AlertRule,
    pub by: BySeverity,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeriesCount {
    pub key: String,
    pub total: usize,
    pub by: BySeverity,
}

fn rule_counts(alerts: &[AlertMark]) -> Vec<RuleCount> {
    let mut by: BTreeMap<AlertRule, BySeverity> = BTreeMap::new();
    for a in alerts {
        by.entry(a.rule).or_default().add(a.severity);
    }
    by.into_iter()
        .map(|(rule, by)| RuleCount { rule, by })
        .collect()
}

/// Alerts per series, noisiest first (then most critical, then by key).
fn series_counts(alerts: &[AlertMark]) -> Vec<SeriesCount> {
    let mut by: BTreeMap<&str, BySeverity> = BTreeMap::new();
    for a in alerts {
        by.entry(&a.key).or_default().add(a.severity);
    }
    let mut rows: Vec<SeriesCount> = by
        .into_iter()
        .map(|(key, by)| SeriesCount {
            key: key.to_string(),
            total: by.info + by.warning + by.critical,
            by,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| b.by.critical.cmp(&a.by.critical))
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}

/// The peg and its alert levels, drawn as bands on a pegged asset's chart.
#[derive(Debug, Clone, PartialEq)]
pub struct PegBands {
    pub peg: f64,
    pub recovery_percent: f64,
    pub levels_percent: Vec<f64>,
    /// 1-based level from which alerts are critical.
    pub critical_level: usize,
}

impl PegBands {
    fn of(peg: &PegConfig) -> Self {
        PegBands {
            peg: peg.peg,
            recovery_percent: peg.recovery_percent,
            levels_percent: peg.levels_percent.clone(),
            critical_level: peg.critical_level,
        }
    }
}

/// One series' chart.
#[derive(Debug, Clone)]
pub struct Chart {
    pub key: String,
    pub kind: SeriesKind,
    /// Points the series had.
    pub count: u64,
    /// The line to draw (downsampled; every alert point exact).
    pub points: Vec<Point>,
    /// Indices into [`Report::alerts`] of this series' alerts.
    pub alerts: Vec<usize>,
    /// Indices into the comparison's `diff.added` of alerts only the other config raises here.
    pub added: Vec<usize>,
    pub peg: Option<PegBands>,
}

/// What a second config changes.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub name: String,
    pub other_total: usize,
    pub diff: compare::Diff,
    pub per_series: Vec<compare::SeriesDiff>,
}

/// Everything the report page shows.
#[derive(Debug, Clone)]
pub struct Report {
    pub summary: Summary,
    pub by_rule: Vec<RuleCount>,
    /// Alerts per series, noisiest first.
    pub per_series: Vec<SeriesCount>,
    pub charts: Vec<Chart>,
    /// Series seen (kept by the `--series` patterns, if any; a chain that was always its
    /// protocol's whole TVL is not counted apart from the total).
    pub series_total: usize,
    /// Every alert, in time order.
    pub alerts: Vec<AlertMark>,
    pub comparison: Option<Comparison>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ValidationConfig;
    use crate::parse::{Format, parse_line};
    use crate::replay::Replay;

    #[test]
    fn globs() {
        assert!(glob("tvl:*", "tvl:uniswap"));
        assert!(glob("*usd-coin", "price:coingecko:usd-coin"));
        assert!(glob("tvl:*:bsc", "tvl:uniswap:bsc"));
        assert!(!glob("tvl:*:bsc", "tvl:uniswap"));
        assert!(glob("price:coingecko:dai", "price:coingecko:dai"));
        assert!(!glob("price:coingecko:dai", "price:coingecko:daix"));
        assert!(glob("*", ""));
        assert!(!glob("a*a", "a"));
    }

    fn run(lines: &[&str], config: Config, top: usize) -> Report {
        let limits = ValidationConfig::default();
        let mut replay = Replay::new(config.clone());
        let mut g = Gatherer::new(&config, Vec::new());
        let mut events = Vec::new();
        for line in lines {
            let mut parsed = Vec::new();
            parse_line(Format::Plain, line, &limits, |r| parsed.push(r));
            for r in parsed {
                if let Ok(record) = &r {
                    g.stage(record);
                }
                let before = replay.tally.applied;
                events.clear();
                replay.feed(&r, &mut events);
                g.commit(replay.tally.applied > before, &events);
            }
        }
        g.finish(replay.summary(0.0), top, None)
    }

    #[test]
    fn charts_the_noisiest_series_with_their_alerts_and_peg_bands() {
        let price = |id: &str, t: i64, p: f64| {
            format!(r#"{{"PK":"coingecko#{id}","SK":{t},"price":{p},"symbol":"X"}}"#)
        };
        let mut lines = Vec::new();
        for (i, p) in [1.0, 0.97, 0.9, 1.0, 0.9].iter().enumerate() {
            lines.push(price("usd-coin", 1_700_000_000 + i as i64 * 60, *p));
        }
        for (i, p) in [10.0, 10.1, 8.0].iter().enumerate() {
            lines.push(price("quiet", 1_700_000_000 + i as i64 * 60, *p));
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let report = run(&lines, Config::default(), 1);
        assert_eq!(report.series_total, 2);
        assert_eq!(report.charts.len(), 1, "top 1");
        let chart = &report.charts[0];
        assert_eq!(chart.key, "price:coingecko:usd-coin");
        assert!(chart.peg.is_some());
        assert_eq!(report.per_series[0].key, "price:coingecko:usd-coin");
        assert_eq!(chart.alerts.len(), report.per_series[0].total);
        assert!(
            report
                .alerts
                .iter()
                .any(|a| a.is_recovery() && a.key == chart.key)
        );
        for &i in &chart.alerts {
            assert!(chart.points.contains(&report.alerts[i].point()));
        }
    }
}
