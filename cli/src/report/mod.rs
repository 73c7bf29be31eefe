//! `pulse replay --report`: gathers the report while the replay streams (per-series
//! downsampled values and the alerts, never every event), replays the input under a second
//! config for `--compare`, renders the page (`html.rs`, pure) and writes it.

pub mod html;

use crate::replay::Parsed;
use crate::single::read_and_parse;
use anyhow::{Context as _, bail};
use indicatif::ProgressBar;
use pulse_core::Config;
use pulse_core::event::Event;
use pulse_core::parse::Format;
use pulse_core::record::UnixSecs;
use pulse_core::replay::{Replay, Summary};
use pulse_core::report::{AlertMark, Gatherer, Other, Report};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel};

/// Runs one parsed record through the engine, and what the report needs through `g`.
pub fn feed(g: &mut Gatherer, replay: &mut Replay, parsed: Parsed, events: &mut Vec<Event>) {
    if let Ok(record) = &parsed {
        g.stage(record);
    }
    let applied = replay.tally.applied;
    let start = events.len();
    replay.feed(&parsed, events);
    g.commit(replay.tally.applied > applied, &events[start..]);
}

/// The alerts of the same input under `config` (the `--compare` pass: nothing else is kept).
pub fn alerts_under(
    config: Config,
    files: &[PathBuf],
    format: Option<Format>,
    now: UnixSecs,
) -> anyhow::Result<Vec<AlertMark>> {
    if files.iter().any(|f| f.as_os_str() == "-") {
        bail!(
            "--compare replays the input twice, and standard input can be read only once: save it to a file and pass that"
        );
    }
    let mut replay = Replay::new(config);
    replay.set_clock(now);
    let (to_engine, parsed) = sync_channel::<Vec<Parsed>>(8);
    let (recycle, recycled) = channel::<Vec<Parsed>>();
    let reader = {
        let (files, limits) = (files.to_vec(), *replay.validation());
        std::thread::spawn(move || {
            read_and_parse(
                files,
                format,
                limits,
                ProgressBar::hidden(),
                to_engine,
                recycled,
            )
        })
    };
    let mut events = Vec::new();
    let mut alerts = Vec::new();
    for chunk in parsed {
        for record in &chunk {
            replay.feed(record, &mut events);
            alerts.extend(events.drain(..).filter_map(|e| AlertMark::of(&e)));
        }
        let _ = recycle.send(chunk);
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    Ok(alerts)
}

/// What `--report` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub path: PathBuf,
    pub top: usize,
    pub compare: Option<(PathBuf, Config)>,
    pub meta: html::Meta,
}

/// Builds the report (replaying under the compared config first, if any) and writes it.
pub fn finish(
    g: Gatherer,
    summary: Summary,
    opts: &Options,
    files: &[PathBuf],
    format: Option<Format>,
    now: UnixSecs,
) -> anyhow::Result<Report> {
    let other = match &opts.compare {
        Some((path, config)) => Some(Other {
            name: file_name(path),
            alerts: alerts_under(config.clone(), files, format, now)
                .with_context(|| format!("replaying under {}", path.display()))?,
        }),
        None => None,
    };
    let report = g.finish(summary, opts.top, other);
    let page = html::render(&report, &opts.meta);
    std::fs::write(&opts.path, page)
        .with_context(|| format!("cannot write the report to {}", opts.path.display()))?;
    Ok(report)
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Lines for the printed summary.
pub fn describe(report: &Report, path: &Path) -> Vec<String> {
    let mut lines = vec![format!(
        "report    {} ({} charts of {} series, {} alerts)",
        path.display(),
        report.charts.len(),
        report.series_total,
        report.alerts.len()
    )];
    if let Some(c) = &report.comparison {
        lines.push(format!(
            "compare   under {}: {} alerts: +{} appear, -{} disappear, {} change, {} same",
            c.name,
            c.other_total,
            c.diff.added.len(),
            c.diff.removed.len(),
            c.diff.changed.len(),
            c.diff.kept
        ));
    }
    lines
}
