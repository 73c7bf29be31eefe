//! `pulse replay`: reads record files in order, runs them through the engine with in-memory
//! state, writes every event as NDJSON and prints a summary.

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use pulse::Config;
use pulse::event::Event;
use pulse::parse::Format;
use pulse::replay::{Replay, Summary};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Record files, read in the order given ("-" reads standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A TOML file overriding the built-in thresholds (see pulse.example.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Line format: plain, ddb-export or stream. Detected from each file's first line when absent.
    #[arg(long)]
    format: Option<Format>,
    /// Write events as NDJSON here ("-" for standard output). Default: standard output when it
    /// is not a terminal, otherwise no event output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the summary as JSON here.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// How many alerts the printed summary lists.
    #[arg(long, default_value_t = 10)]
    show_alerts: usize,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    Config::from_toml(&text).with_context(|| format!("in config file {}", path.display()))
}

fn event_writer(out: Option<&PathBuf>) -> anyhow::Result<Option<Box<dyn Write>>> {
    let stdout_ok = !std::io::stdout().is_terminal();
    Ok(match out {
        Some(p) if p.as_os_str() == "-" => Some(Box::new(BufWriter::with_capacity(
            1 << 16,
            std::io::stdout().lock(),
        ))),
        Some(p) => {
            let file = File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            Some(Box::new(BufWriter::with_capacity(1 << 16, file)))
        }
        None if stdout_ok => Some(Box::new(BufWriter::with_capacity(
            1 << 16,
            std::io::stdout().lock(),
        ))),
        None => None,
    })
}

fn progress(bytes: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() || bytes < 1 << 20 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(bytes);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref())?;
    let mut writer = event_writer(args.out.as_ref())?;
    let total_bytes: u64 = args
        .files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = progress(total_bytes, args.quiet);
    let mut replay = Replay::new(config);
    let mut events: Vec<Event> = Vec::with_capacity(64);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let started = Instant::now();

    for path in &args.files {
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(BufReader::new(std::io::stdin().lock()))
        } else {
            let file = File::open(path)
                .with_context(|| format!("cannot open {} (is the path right?)", path.display()))?;
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        let mut format = args.format;
        let mut line = String::new();
        let mut reader = reader;
        let mut line_no = 0u64;
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .with_context(|| format!("reading {} line {}", path.display(), line_no + 1))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            bar.inc(n as u64);
            let text = line.trim_end();
            if text.is_empty() {
                continue;
            }
            let f = *format.get_or_insert_with(|| Format::detect(text));
            replay.feed_line(f, text, &mut events);
            if let Some(w) = writer.as_mut() {
                for event in &events {
                    event.write_json(&mut buf);
                    buf.push(b'\n');
                }
                if buf.len() >= 1 << 15 {
                    w.write_all(&buf)?;
                    buf.clear();
                }
            }
            events.clear();
        }
        if line_no == 0 {
            eprintln!("warning: {} is empty", path.display());
        }
    }
    if let Some(mut w) = writer {
        w.write_all(&buf)?;
        w.flush().context("writing events")?;
    }
    bar.finish_and_clear();
    let summary = replay.summary(started.elapsed().as_secs_f64());
    if let Some(path) = &args.summary_json {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(file), &summary)?;
    }
    print_summary(&summary, args.show_alerts);
    if summary.records == 0 {
        bail!("no records were read: check the file paths and format");
    }
    Ok(())
}

fn print_summary(s: &Summary, show: usize) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "records   {} read, {} applied, {} stale, {} rejected",
        s.records,
        s.applied,
        s.stale,
        s.rejected.values().sum::<u64>()
    );
    for (reason, n) in &s.rejected {
        let _ = writeln!(e, "          rejected {reason}: {n}");
    }
    let events: Vec<String> = s.events.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(e, "events    {}", events.join(", "));
    let sev: Vec<String> = s
        .alerts_by_severity
        .iter()
        .rev()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(e, "alerts    {}", sev.join(", "));
    for a in s.alerts.iter().take(show) {
        let when = pulse::record::format_utc(a.timestamp / 1000);
        let _ = writeln!(
            e,
            "  {when}  {:<8}  {:<14} {:<40} {}",
            a.severity.as_str(),
            a.rule,
            a.key,
            a.value
        );
    }
    if s.alerts.len() > show {
        let _ = writeln!(
            e,
            "  ... {} more (--summary-json lists them all)",
            s.alerts.len() - show
        );
    }
    let _ = writeln!(
        e,
        "speed     {:.0} records/s ({:.3} s)",
        s.records_per_second, s.seconds
    );
}
