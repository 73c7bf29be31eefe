//! The report as one self-contained HTML page (a `String`; no I/O): inline styles, inline
//! SVG charts drawn here, a little inline script for sorting and jumping between the table
//! and the charts. A Content-Security-Policy forbids every request, so the page works from
//! disk with no network, and anything that would reach out shows as an error.

use pulse_core::event::Severity;
use pulse_core::report::downsample::Point;
use pulse_core::report::{AlertMark, CHART_COLUMNS, Chart, PegBands, Report, SeriesKind};
use pulse_core::time::format_utc;
use std::fmt::Write as _;

/// What the page says about how it was made.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub inputs: Vec<String>,
    pub config: Option<String>,
    pub compare: Option<String>,
}

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 250.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
const PLOT_W: f64 = CHART_COLUMNS as f64;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value in few characters: `28.6B`, `350.2M`, `12.5k`, `0.9121`.
fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

fn sev_class(s: Severity) -> &'static str {
    s.as_str()
}

/// Maps time and value to the chart's pixels.
struct Scale {
    t0: i64,
    t1: i64,
    lo: f64,
    hi: f64,
}

impl Scale {
    fn of(chart: &Chart, alerts: &[&AlertMark]) -> Scale {
        let mut t0 = i64::MAX;
        let mut t1 = i64::MIN;
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for p in &chart.points {
            t0 = t0.min(p.t);
            t1 = t1.max(p.t);
            lo = lo.min(p.v);
            hi = hi.max(p.v);
        }
        for a in alerts {
            t0 = t0.min(a.t);
            t1 = t1.max(a.t);
            lo = lo.min(a.value);
            hi = hi.max(a.value);
        }
        if let Some(peg) = &chart.peg {
            let first = peg.levels_percent.first().copied().unwrap_or(2.0) / 100.0;
            lo = lo.min(peg.peg * (1.0 - first));
            hi = hi.max(peg.peg * (1.0 + first));
        }
        if t0 > t1 {
            (t0, t1) = (0, 1);
        }
        if t0 == t1 {
            t1 = t0 + 1;
        }
        if !lo.is_finite() || !hi.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        let pad = if hi > lo {
            (hi - lo) * 0.05
        } else {
            lo.abs().max(1.0) * 0.05
        };
        Scale {
            t0,
            t1,
            lo: lo - pad,
            hi: hi + pad,
        }
    }

    fn x(&self, t: i64) -> f64 {
        LEFT + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * PLOT_W
    }

    fn y(&self, v: f64) -> f64 {
        TOP + (self.hi - v) / (self.hi - self.lo) * PLOT_H
    }
}

/// Round tick values covering `lo..hi`.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut v = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while v <= hi && out.len() < 20 {
        // No `-0.0000` from a sum that missed zero by a rounding error.
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

fn date_label(t: i64, span: i64) -> String {
    let full = format_utc(t);
    if span < 3 * 86_400 {
        full
    } else {
        full[..10].to_string()
    }
}

fn alert_title(a: &AlertMark, prefix: &str) -> String {
    let window = a
        .window
        .as_deref()
        .map(|w| format!(" {w}"))
        .unwrap_or_default();
    esc(&format!(
        "{prefix}{} UTC · {} {}{window} (level {}): {}",
        format_utc(a.t),
        a.severity.as_str(),
        a.rule.as_str(),
        a.level,
        a.message
    ))
}

fn svg(out: &mut String, i: usize, chart: &Chart, report: &Report) {
    let alerts: Vec<&AlertMark> = chart.alerts.iter().map(|&i| &report.alerts[i]).collect();
    let added: Vec<&AlertMark> = match &report.comparison {
        Some(c) => chart.added.iter().map(|&i| &c.diff.added[i]).collect(),
        None => Vec::new(),
    };
    let all: Vec<&AlertMark> = alerts.iter().chain(&added).copied().collect();
    let s = Scale::of(chart, &all);
    let clip = format!("clip-{i}");
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{key}"><defs><clipPath id="{clip}"><rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}"/></clipPath></defs>"#,
        key = esc(&chart.key),
    );
    // Axes and grid.
    for v in ticks(s.lo, s.hi, 5) {
        let y = s.y(v);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 4.0,
            num(v)
        );
    }
    let span = s.t1 - s.t0;
    for i in 0..=5 {
        let t = s.t0 + span * i / 5;
        let x = s.x(t);
        let anchor = match i {
            0 => "start",
            5 => "end",
            _ => "middle",
        };
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{}"/><text class="tick" x="{x:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
            TOP + PLOT_H,
            HEIGHT - 8.0,
            date_label(t, span)
        );
    }
    let _ = write!(out, r#"<g clip-path="url(#{clip})">"#);
    if let Some(peg) = &chart.peg {
        peg_bands(out, &s, peg);
    }
    // Spans of window alerts: from the value compared with to the value that fired.
    for a in &alerts {
        if let Some(rt) = a.reference_time {
            let _ = write!(
                out,
                r#"<line class="span {}" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
                sev_class(a.severity),
                s.x(rt.max(s.t0)),
                s.y(a.reference),
                s.x(a.t),
                s.y(a.value)
            );
        }
    }
    line(out, &s, &chart.points);
    out.push_str("</g>");
    let changed: std::collections::HashMap<&str, Severity> = report
        .comparison
        .iter()
        .flat_map(|c| &c.diff.changed)
        .map(|c| (c.before.event_id.as_str(), c.after.severity))
        .collect();
    let removed: std::collections::HashSet<&str> = report
        .comparison
        .iter()
        .flat_map(|c| &c.diff.removed)
        .map(|a| a.event_id.as_str())
        .collect();
    let other = report
        .comparison
        .as_ref()
        .map(|c| c.name.as_str())
        .unwrap_or("");
    for a in &alerts {
        let (x, y) = (s.x(a.t), s.y(a.value));
        let mut class = format!("alert {} {}", sev_class(a.severity), a.rule.as_str());
        let mut note = String::new();
        if a.is_recovery() {
            class.push_str(" recovery");
        }
        if removed.contains(a.event_id.as_str()) {
            class.push_str(" gone");
            note = format!(" — not raised under {other}");
        }
        if let Some(sev) = changed.get(a.event_id.as_str()) {
            class.push_str(" changed");
            note = format!(" — {} under {other}", sev.as_str());
        }
        let _ = write!(
            out,
            r##"<a href="#row-{id}"><circle id="a-{id}" class="{class}" data-id="{id}" cx="{x:.1}" cy="{y:.1}" r="5"><title>{title}{note}</title></circle></a>"##,
            id = esc(&a.event_id),
            title = alert_title(a, ""),
            note = esc(&note),
        );
    }
    for a in &added {
        let (x, y) = (s.x(a.t), s.y(a.value));
        let _ = write!(
            out,
            r#"<path class="added {sev}" data-id="{id}" d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z"><title>{title}</title></path>"#,
            y - 6.5,
            x + 6.5,
            y + 6.5,
            x - 6.5,
            sev = sev_class(a.severity),
            id = esc(&a.event_id),
            title = alert_title(a, &format!("only under {other}: ")),
        );
    }
    out.push_str("</svg>");
}

fn peg_bands(out: &mut String, s: &Scale, peg: &PegBands) {
    let band = |out: &mut String, pct: f64, class: &str| {
        let (top, bottom) = (
            s.y(peg.peg * (1.0 + pct / 100.0)),
            s.y(peg.peg * (1.0 - pct / 100.0)),
        );
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{LEFT}" y="{top:.1}" width="{PLOT_W}" height="{:.1}"><title>peg ${} ±{pct}%</title></rect>"#,
            (bottom - top).max(0.5),
            peg.peg
        );
    };
    band(out, peg.recovery_percent, "peg-recovery");
    for (i, pct) in peg.levels_percent.iter().enumerate() {
        let critical = i + 1 >= peg.critical_level;
        for sign in [1.0, -1.0] {
            let y = s.y(peg.peg * (1.0 + sign * pct / 100.0));
            let _ = write!(
                out,
                r#"<line class="peg-level {}" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/>"#,
                if critical { "critical" } else { "warning" },
                LEFT + PLOT_W
            );
        }
    }
    let y = s.y(peg.peg);
    let _ = write!(
        out,
        r#"<line class="peg" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/>"#,
        LEFT + PLOT_W
    );
}

fn line(out: &mut String, s: &Scale, points: &[Point]) {
    if points.is_empty() {
        return;
    }
    out.push_str(r#"<path class="line" d=""#);
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            out,
            "{}{:.1} {:.1}",
            if i == 0 { "M" } else { "L" },
            s.x(p.t),
            s.y(p.v)
        );
    }
    out.push_str(r#""/>"#);
}

const STYLE: &str = r#"
:root{--info:#2e7d32;--warning:#e6a100;--critical:#c62828;--line:#1f4e99;--muted:#666}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:16px 20px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:var(--muted);margin:0 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:20px}
.grids{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f6f6f6}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[data-dir=asc]::after{content:" ▲"} table.sortable th[data-dir=desc]::after{content:" ▼"}
.scroll{max-height:420px;overflow:auto;border:1px solid #eee}
.sev{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px}
.sev.info{background:var(--info)}.sev.warning{background:var(--warning);color:#222}.sev.critical{background:var(--critical)}
figure.chart{margin:14px 0 22px}
figcaption{font-weight:600;margin-bottom:2px} figcaption small{font-weight:400;color:var(--muted)}
svg{width:100%;height:auto;display:block;background:#fcfcfc;border:1px solid #eee}
.grid{stroke:#e8e8e8;stroke-width:1} .tick{font-size:11px;fill:#555}
.line{fill:none;stroke:var(--line);stroke-width:1.3;stroke-linejoin:round}
circle.alert{stroke:#fff;stroke-width:1.5;cursor:pointer}
circle.alert.info{fill:var(--info)} circle.alert.warning{fill:var(--warning)} circle.alert.critical{fill:var(--critical)}
circle.alert.recovery{fill:#fff;stroke:var(--info);stroke-width:2.5}
circle.alert.gone{fill-opacity:.15;stroke:#555;stroke-dasharray:2 2}
circle.alert.changed{stroke:#000;stroke-width:2}
circle.alert.hit{stroke:#000;stroke-width:3;r:8}
path.added{stroke:#000;stroke-width:1} path.added.info{fill:var(--info)} path.added.warning{fill:var(--warning)} path.added.critical{fill:var(--critical)}
.span{stroke-width:1;stroke-dasharray:3 3;opacity:.55} .span.warning{stroke:var(--warning)} .span.critical{stroke:var(--critical)} .span.info{stroke:var(--info)}
.peg{stroke:var(--info);stroke-width:1}
.peg-recovery{fill:var(--info);opacity:.10}
.peg-level{stroke-width:1;stroke-dasharray:6 4} .peg-level.warning{stroke:var(--warning)} .peg-level.critical{stroke:var(--critical)}
.legend span{margin-right:14px;color:#333;font-size:12px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;vertical-align:middle;margin-right:4px}
tr.hit td{background:#fff5c0}
.plus{color:var(--critical)} .minus{color:var(--info)}
code{font-size:12px}
"#;

const SCRIPT: &str = r#"
(function () {
  function val(cell) { return cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent; }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th) {
      th.addEventListener('click', function () {
        var col = th.cellIndex, numeric = th.classList.contains('n');
        var dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
        table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
        th.dataset.dir = dir;
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = val(a.cells[col]), y = val(b.cells[col]);
          var c = numeric ? (parseFloat(x) - parseFloat(y)) : x.localeCompare(y);
          return dir === 'asc' ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  function show(hash) {
    document.querySelectorAll('.hit').forEach(function (e) { e.classList.remove('hit'); });
    if (!hash || hash.length < 2) return;
    var el = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!el) return;
    el.classList.add('hit');
    if (el.scrollIntoView) el.scrollIntoView({ block: 'center' });
  }
  window.addEventListener('hashchange', function () { show(location.hash); });
  show(location.hash);
})();
"#;

fn severity_cells(out: &mut String, info: usize, warning: usize, critical: usize) {
    let _ = write!(
        out,
        r#"<td class="n">{critical}</td><td class="n">{warning}</td><td class="n">{info}</td>"#
    );
}

/// The whole page.
pub fn render(report: &Report, meta: &Meta) -> String {
    let mut out = String::with_capacity(64 * 1024 + report.charts.len() * 40 * 1024);
    let s = &report.summary;
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"><title>pulse replay report</title><style>{STYLE}</style></head><body>"#
    );
    let _ = write!(
        out,
        r#"<h1>pulse replay report</h1><p class="meta">Input: {}. Config: {}.{} Made by <code>pulse replay --report</code>.</p>"#,
        esc(&meta.inputs.join(", ")),
        esc(meta.config.as_deref().unwrap_or("built-in defaults")),
        meta.compare
            .as_deref()
            .map(|c| format!(" Compared with: {}.", esc(c)))
            .unwrap_or_default()
    );

    // Overview.
    let rejected: u64 = s.rejected.values().sum();
    out.push_str(r#"<section id="overview"><h2>Overview</h2><div class="cards">"#);
    for (label, v) in [
        ("records", s.records),
        ("applied", s.applied),
        ("stale", s.stale),
        ("rejected", rejected),
        ("window gaps", s.window_gaps),
        ("alerts", report.alerts.len() as u64),
    ] {
        let _ = write!(out, r#"<div class="card"><b>{v}</b>{label}</div>"#);
    }
    out.push_str(r#"</div><div class="grids">"#);
    out.push_str(r#"<table id="rejections"><thead><tr><th>rejected because</th><th class="n">records</th></tr></thead><tbody>"#);
    if s.rejected.is_empty() {
        out.push_str(r#"<tr><td colspan="2">none</td></tr>"#);
    }
    for (reason, n) in &s.rejected {
        let _ = write!(out, r#"<tr><td>{reason}</td><td class="n">{n}</td></tr>"#);
    }
    out.push_str(r#"</tbody></table><table id="events"><thead><tr><th>event type</th><th class="n">events</th></tr></thead><tbody>"#);
    for (kind, n) in &s.events {
        let _ = write!(out, r#"<tr><td>{kind}</td><td class="n">{n}</td></tr>"#);
    }
    out.push_str(r#"</tbody></table><table id="rules"><thead><tr><th>rule</th><th class="n">critical</th><th class="n">warning</th><th class="n">info</th></tr></thead><tbody>"#);
    if report.by_rule.is_empty() {
        out.push_str(r#"<tr><td colspan="4">no alerts</td></tr>"#);
    }
    for r in &report.by_rule {
        let _ = write!(out, "<tr><td>{}</td>", r.rule.as_str());
        severity_cells(&mut out, r.by.info, r.by.warning, r.by.critical);
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");

    let charted: std::collections::HashMap<&str, usize> = report
        .charts
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key.as_str(), i))
        .collect();
    let _ = write!(
        out,
        r#"<h2>Alerts per series <small>({} series with alerts of {} seen, noisiest first; {} charted)</small></h2><div class="scroll"><table id="series-counts" class="sortable"><thead><tr><th>series</th><th class="n">alerts</th><th class="n">critical</th><th class="n">warning</th><th class="n">info</th></tr></thead><tbody>"#,
        report.per_series.len(),
        report.series_total,
        report.charts.len()
    );
    for row in &report.per_series {
        let name = match charted.get(row.key.as_str()) {
            Some(i) => format!(r##"<a href="#chart-{i}">{}</a>"##, esc(&row.key)),
            None => esc(&row.key),
        };
        let _ = write!(
            out,
            r#"<tr data-series="{}"><td>{name}</td><td class="n total">{}</td>"#,
            esc(&row.key),
            row.total
        );
        severity_cells(&mut out, row.by.info, row.by.warning, row.by.critical);
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>");

    if let Some(c) = &report.comparison {
        comparison(&mut out, report, c, &charted);
    }

    // Charts.
    let _ = write!(
        out,
        r#"<section id="charts"><h2>Charts</h2><p class="legend"><span><i class="dot" style="background:var(--critical)"></i>critical</span><span><i class="dot" style="background:var(--warning)"></i>warning</span><span><i class="dot" style="background:#fff;border:2px solid var(--info);width:7px;height:7px"></i>recovery</span><span>dashed: the move an alert measured (from the value compared with); pegged assets: the peg, the recovery band and each alert level</span>{}</p>"#,
        if report.comparison.is_some() {
            "<span>◆ only under the compared config; faded: not raised under it; black ring: other severity under it</span>"
        } else {
            ""
        }
    );
    if report.charts.is_empty() {
        out.push_str("<p>No series to chart.</p>");
    }
    for (i, chart) in report.charts.iter().enumerate() {
        let unit = match chart.kind {
            SeriesKind::Price => "price, USD",
            SeriesKind::Tvl => "TVL, USD",
        };
        let _ = write!(
            out,
            r#"<figure class="chart" id="chart-{i}" data-series="{key}" data-alerts="{n}"><figcaption>{key} <small>{unit} · {points} points, {drawn} drawn · {n} alerts{peg}</small></figcaption>"#,
            key = esc(&chart.key),
            n = chart.alerts.len(),
            points = chart.count,
            drawn = chart.points.len(),
            peg = if chart.peg.is_some() {
                " · pegged"
            } else {
                ""
            },
        );
        svg(&mut out, i, chart, report);
        out.push_str("</figure>");
    }
    out.push_str("</section>");

    // The alert table.
    let _ = write!(
        out,
        r#"<section id="alerts"><h2>Alerts <small>({}; click a heading to sort, a row to see it on its chart)</small></h2><div class="scroll"><table id="alert-table" class="sortable"><thead><tr><th>time (UTC)</th><th>series</th><th>rule</th><th>severity</th><th>window</th><th class="n">value</th><th class="n">change %</th><th>message</th></tr></thead><tbody>"#,
        report.alerts.len()
    );
    for a in &report.alerts {
        let id = esc(&a.event_id);
        let when = format_utc(a.t);
        let when = match charted.get(a.key.as_str()) {
            Some(_) => format!(r##"<a href="#a-{id}">{when}</a>"##),
            None => when,
        };
        let rank = match a.severity {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        };
        let _ = write!(
            out,
            r#"<tr id="row-{id}" data-id="{id}"><td data-v="{t}">{when}</td><td>{key}</td><td>{rule}</td><td data-v="{rank}"><span class="sev {sev}">{sev}</span></td><td>{window}</td><td class="n" data-v="{v}">{vs}</td><td class="n" data-v="{c}">{c:.2}</td><td>{msg}</td></tr>"#,
            t = a.t,
            key = esc(&a.key),
            rule = a.rule.as_str(),
            sev = a.severity.as_str(),
            window = esc(a.window.as_deref().unwrap_or("")),
            v = a.value,
            vs = num(a.value),
            c = a.change_percent,
            msg = esc(&a.message),
        );
    }
    out.push_str("</tbody></table></div></section>");
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}

fn alert_rows(out: &mut String, class: &str, list: &[(&AlertMark, String)]) {
    for (a, note) in list {
        let _ = write!(
            out,
            r#"<tr class="{class}" data-id="{id}"><td>{class}</td><td data-v="{t}">{when}</td><td>{key}</td><td>{rule}</td><td>{note}</td><td><code>{id}</code></td><td>{msg}</td></tr>"#,
            id = esc(&a.event_id),
            t = a.t,
            when = format_utc(a.t),
            key = esc(&a.key),
            rule = a.rule.as_str(),
            note = esc(note),
            msg = esc(&a.message),
        );
    }
}

fn comparison(
    out: &mut String,
    report: &Report,
    c: &pulse_core::report::Comparison,
    charted: &std::collections::HashMap<&str, usize>,
) {
    let d = &c.diff;
    let _ = write!(
        out,
        r#"<section id="compare"><h2>Compared with {name}</h2><p id="compare-summary">{base} alerts here, {other} under {name}: <b class="plus">+{added}</b> appear, <b class="minus">−{removed}</b> disappear, {changed} change severity or level, {kept} stay the same.</p>"#,
        name = esc(&c.name),
        base = report.alerts.len(),
        other = c.other_total,
        added = d.added.len(),
        removed = d.removed.len(),
        changed = d.changed.len(),
        kept = d.kept,
    );
    out.push_str(r#"<div class="scroll"><table id="compare-series" class="sortable"><thead><tr><th>series</th><th class="n">here</th><th class="n">under it</th><th class="n">appear</th><th class="n">disappear</th><th class="n">change</th></tr></thead><tbody>"#);
    for r in &c.per_series {
        let name = match charted.get(r.key.as_str()) {
            Some(i) => format!(r##"<a href="#chart-{i}">{}</a>"##, esc(&r.key)),
            None => esc(&r.key),
        };
        let _ = write!(
            out,
            r#"<tr data-series="{}"><td>{name}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&r.key),
            r.base,
            r.other,
            r.added,
            r.removed,
            r.changed
        );
    }
    out.push_str("</tbody></table></div>");
    out.push_str(r#"<h3>Alerts that differ</h3><div class="scroll"><table id="compare-alerts" class="sortable"><thead><tr><th>what</th><th>time (UTC)</th><th>series</th><th>rule</th><th>severity</th><th>event id</th><th>message</th></tr></thead><tbody>"#);
    let added: Vec<(&AlertMark, String)> = d
        .added
        .iter()
        .map(|a| (a, a.severity.as_str().to_string()))
        .collect();
    let removed: Vec<(&AlertMark, String)> = d
        .removed
        .iter()
        .map(|a| (a, a.severity.as_str().to_string()))
        .collect();
    let changed: Vec<(&AlertMark, String)> = d
        .changed
        .iter()
        .map(|ch| {
            (
                &ch.after,
                format!(
                    "{} (level {}) → {} (level {})",
                    ch.before.severity.as_str(),
                    ch.before.level,
                    ch.after.severity.as_str(),
                    ch.after.level
                ),
            )
        })
        .collect();
    alert_rows(out, "added", &added);
    alert_rows(out, "removed", &removed);
    alert_rows(out, "changed", &changed);
    out.push_str("</tbody></table></div></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_numbers() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(num(28.6e9), "28.60B");
        assert_eq!(num(0.9121), "0.9121");
        assert_eq!(num(12_500.0), "12.5k");
    }

    #[test]
    fn ticks_are_round_and_inside() {
        let t = ticks(0.87, 1.03, 5);
        assert!(t.len() >= 3, "{t:?}");
        assert!(t.iter().all(|v| (0.87..=1.03).contains(v)));
    }
}
