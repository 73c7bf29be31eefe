//! The local replay job, without the I/O: lines of records go through the engine with
//! in-memory state; events come out, and a summary of what was read, rejected and raised.

use crate::config::{Config, ValidationConfig};
use crate::engine::{Context, Engine, Outcome};
use crate::event::{AlertStatus, Event, EventType, Severity};
use crate::parse::{self, Format};
use crate::record::{Record, RejectReason, Rejection, UnixSecs};
use crate::state::StateMap;
use crate::tally::Tally;
use serde::Serialize;
use std::collections::BTreeMap;

/// Parses one line (blank lines hold nothing) and hands each record or rejection to `sink`.
pub fn parse_line(
    format: Format,
    line: &str,
    limits: &ValidationConfig,
    sink: impl FnMut(Result<Record, Rejection>),
) {
    if !line.trim().is_empty() {
        parse::parse_line(format, line, limits, sink);
    }
}

/// Decodes the lines of one input file, as bytes, so that no line can stop the file:
/// a line that is not UTF-8 is `malformed` (counted), a UTF-8 byte order mark is ignored,
/// blank lines hold nothing. Unless the format is given, each line's format is detected from
/// the line itself until one line yields a record; that line's format then holds for the
/// rest of the file, so a junk first line cannot switch a whole file to the wrong format.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileDecoder {
    given: Option<Format>,
    found: Option<Format>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl FileDecoder {
    /// A decoder for a new file; `format` forces the format (`--format`).
    pub fn new(format: Option<Format>) -> Self {
        FileDecoder {
            given: format,
            found: None,
        }
    }

    /// The format in force: given, or found from the first line that yielded a record.
    pub fn format(&self) -> Option<Format> {
        self.given.or(self.found)
    }

    /// Decodes one line (with or without its line end).
    pub fn decode(
        &mut self,
        line: &[u8],
        limits: &ValidationConfig,
        mut sink: impl FnMut(Result<Record, Rejection>),
    ) {
        let line = line.strip_prefix(BOM).unwrap_or(line);
        let Ok(text) = std::str::from_utf8(line) else {
            return sink(Err(Rejection::new(RejectReason::Malformed)));
        };
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        match self.format() {
            Some(format) => parse::parse_line(format, text, limits, sink),
            None => {
                let format = Format::detect(text);
                let mut parsed = false;
                parse::parse_line(format, text, limits, |r| {
                    parsed |= r.is_ok();
                    sink(r)
                });
                if parsed {
                    self.found = Some(format);
                }
            }
        }
    }
}

/// One alert, as the summary lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertLine {
    pub event_id: String,
    /// Milliseconds, as on the event.
    pub timestamp: i64,
    pub key: String,
    pub rule: String,
    pub severity: Severity,
    pub status: AlertStatus,
    pub value: f64,
    /// The window whose thresholds applied (window rules only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// What `--summary-json` writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Records read (applied, stale and rejected).
    pub records: u64,
    pub applied: u64,
    pub stale: u64,
    pub rejected: BTreeMap<&'static str, u64>,
    /// Window comparisons skipped because no value's age fit the window.
    pub window_gaps: u64,
    pub events: BTreeMap<&'static str, u64>,
    pub alerts_by_severity: BTreeMap<&'static str, u64>,
    pub alerts: Vec<AlertLine>,
    pub seconds: f64,
    pub records_per_second: f64,
}

/// A replay in progress.
#[derive(Debug)]
pub struct Replay {
    engine: Engine,
    ctx: Context,
    states: StateMap,
    /// Scratch buffer for state keys.
    key: String,
    pub tally: Tally,
    alerts: Vec<AlertLine>,
    /// The sequence number of the record behind each alert (see [`Replay::feed_at`]).
    alert_seqs: Vec<u64>,
    /// The sequence number [`Replay::feed`] gives the next record.
    next_seq: u64,
}

impl Replay {
    pub fn new(config: Config) -> Self {
        Replay {
            engine: Engine::new(config),
            ctx: Context::replay(),
            states: StateMap::default(),
            key: String::new(),
            tally: Tally::default(),
            alerts: Vec::new(),
            alert_seqs: Vec::new(),
            next_seq: 0,
        }
    }

    /// Sets the detection clock of the time guard: records stamped more than
    /// `validation.max_future_skew` after `now` are rejected as `future_time`.
    pub fn set_clock(&mut self, now: UnixSecs) {
        self.ctx = Context::replay_at(now);
    }

    /// Parses one line and runs what it holds through the engine; events are appended to `out`.
    /// Blank lines are skipped.
    pub fn feed_line(&mut self, format: Format, line: &str, out: &mut Vec<Event>) {
        let limits = self.engine.config().validation;
        parse_line(format, line, &limits, |parsed| self.feed(&parsed, out));
    }

    /// Decodes one line of a file (see [`FileDecoder`]) and runs what it holds through the
    /// engine; events are appended to `out`.
    pub fn feed_bytes(&mut self, decoder: &mut FileDecoder, line: &[u8], out: &mut Vec<Event>) {
        let limits = self.engine.config().validation;
        decoder.decode(line, &limits, |parsed| self.feed(&parsed, out));
    }

    /// Runs one parsed record (or counts its rejection); events are appended to `out`.
    /// With [`parse_line`], this is [`Replay::feed_line`] split in two, so parsing can run on
    /// another thread. It takes the record by reference, so that the thread that parsed it
    /// can also free it (a free from another thread costs the allocator more).
    pub fn feed(&mut self, parsed: &Result<Record, Rejection>, out: &mut Vec<Event>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.feed_at(seq, parsed, out);
    }

    /// [`Replay::feed`] of the record numbered `seq` in the whole input, for a replay
    /// sharded by key ([`crate::shard`]): each shard's replay is fed its records with
    /// increasing numbers, and [`Replay::merge`] puts the alerts back in input order.
    pub fn feed_at(&mut self, seq: u64, parsed: &Result<Record, Rejection>, out: &mut Vec<Event>) {
        let record = match parsed {
            Ok(record) => record,
            Err(rejection) => return self.tally.reject(rejection.reason),
        };
        let start = out.len();
        let seen =
            self.engine
                .observe_keyed(record, &mut self.states, &mut self.key, &self.ctx, out);
        match seen.outcome {
            Outcome::Applied => self.tally.applied += 1,
            Outcome::Stale => self.tally.stale += 1,
            Outcome::Future => self.tally.reject(RejectReason::FutureTime),
        }
        self.tally.window_gaps += u64::from(seen.window_gaps);
        self.tally.healed += u64::from(seen.healed);
        for event in &out[start..] {
            self.tally.count_event(event);
            if let Some(a) = event.alert() {
                self.alerts.push(AlertLine {
                    event_id: event.event_id.to_string(),
                    timestamp: event.timestamp,
                    key: a.key.clone(),
                    rule: a.rule.as_str().to_string(),
                    severity: a.severity,
                    status: a.status,
                    value: a.value,
                    window: a.window.clone(),
                });
                self.alert_seqs.push(seq);
            }
        }
    }

    /// The limits records are validated against (for [`parse_line`] on another thread).
    pub fn validation(&self) -> &ValidationConfig {
        &self.engine.config().validation
    }

    pub fn alerts(&self) -> &[AlertLine] {
        &self.alerts
    }

    /// Takes in another shard's replay of the same input (disjoint keys, fed with
    /// [`Replay::feed_at`]): counts add up, states join, alerts interleave by record number,
    /// so the summary is the one a single replay of the whole input gives.
    pub fn merge(&mut self, other: Replay) {
        self.tally.merge(&other.tally);
        self.states.extend(other.states);
        self.next_seq = self.next_seq.max(other.next_seq);
        let mine = std::mem::take(&mut self.alerts).into_iter();
        let my_seqs = std::mem::take(&mut self.alert_seqs);
        let mut a = my_seqs.into_iter().zip(mine).peekable();
        let mut b = other.alert_seqs.into_iter().zip(other.alerts).peekable();
        loop {
            let take_a = match (a.peek(), b.peek()) {
                (Some((sa, _)), Some((sb, _))) => sa <= sb,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_a { a.next() } else { b.next() };
            if let Some((seq, alert)) = next {
                self.alert_seqs.push(seq);
                self.alerts.push(alert);
            }
        }
    }

    pub fn summary(&self, seconds: f64) -> Summary {
        let t = &self.tally;
        let records = t.records();
        Summary {
            records,
            applied: t.applied,
            stale: t.stale,
            rejected: RejectReason::ALL
                .iter()
                .filter_map(|r| t.rejected.get(r).map(|n| (r.as_str(), *n)))
                .collect(),
            window_gaps: t.window_gaps,
            events: EventType::ALL
                .iter()
                .map(|e| (e.as_str(), t.events.get(e).copied().unwrap_or(0)))
                .collect(),
            alerts_by_severity: [Severity::Info, Severity::Warning, Severity::Critical]
                .iter()
                .map(|s| (s.as_str(), t.alerts.get(s).copied().unwrap_or(0)))
                .collect(),
            alerts: self.alerts.clone(),
            seconds,
            records_per_second: if seconds > 0.0 {
                records as f64 / seconds
            } else {
                0.0
            },
        }
    }
}
