//! `pulse replay`: reads record files in order, runs them through the engine with in-memory
//! state, writes every event as NDJSON and prints a summary.

use crate::report;
use crate::sharded;
use crate::single;
use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use pulse_core::Config;
use pulse_core::event::Event;
use pulse_core::parse::Format;
use pulse_core::record::UnixSecs;
use pulse_core::replay::{Replay, Summary};
use pulse_core::report::Gatherer;
use pulse_core::time::parse_time;
use pulse_core::{Record, Rejection};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Record files, read in the order given ("-" reads standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A TOML file overriding the built-in thresholds (see pulse.example.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Line format: plain, ddb-export or stream. When absent, detected per line until a line
    /// yields a record; that line's format then holds for the rest of the file.
    #[arg(long)]
    format: Option<Format>,
    /// The detection clock of the time guard (unix seconds or RFC 3339, e.g.
    /// 2023-03-11T14:00:00Z): records stamped more than `validation.max_future_skew` after it
    /// are rejected as `future_time`. Default: the wall clock.
    #[arg(long, value_parser = parse_time)]
    now: Option<UnixSecs>,
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
    /// Threads to parse and detect on (records are split by state key; the output is the
    /// same for any number). Default: the available cores, or one for inputs under 8 MiB
    /// (there the threads cost more than they save). With --report, detection runs on one
    /// thread.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Write a self-contained HTML report here (open it from disk): overview, one chart per
    /// series with its alerts, the alert table.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Series to chart: state keys, `*` matching anything (`tvl:chain-*`); repeat the flag or
    /// separate with commas. Default: the --top noisiest.
    #[arg(long, value_delimiter = ',', requires = "report")]
    series: Vec<String>,
    /// How many series to chart, noisiest first, when --series is not given.
    #[arg(long, default_value_t = 12, requires = "report")]
    top: usize,
    /// Replay the same input under this second config too, and show per series and overall
    /// the alerts that appear, disappear or change severity.
    #[arg(long, requires = "report")]
    compare: Option<PathBuf>,
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    Config::from_toml(&text).with_context(|| format!("in config file {}", path.display()))
}

/// Where events go.
enum EventsTo {
    Stdout,
    File(File, PathBuf),
}

impl EventsTo {
    fn name(&self) -> String {
        match self {
            EventsTo::Stdout => "standard output".to_string(),
            EventsTo::File(_, path) => path.display().to_string(),
        }
    }
}

fn events_to(out: Option<&PathBuf>) -> anyhow::Result<Option<EventsTo>> {
    Ok(match out {
        Some(p) if p.as_os_str() == "-" => Some(EventsTo::Stdout),
        Some(p) => Some(EventsTo::File(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
            p.clone(),
        )),
        None if !std::io::stdout().is_terminal() => Some(EventsTo::Stdout),
        None => None,
    })
}

/// The wall clock, in unix seconds.
fn wall_clock() -> anyhow::Result<UnixSecs> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970; pass --now")?;
    Ok(i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

/// Writes the summary JSON to `path`, flushing, so a full disk is an error, not a short file.
fn write_summary(path: &PathBuf, summary: &Summary) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut w, summary)
        .map_err(std::io::Error::from)
        .and_then(|()| w.flush())
        .and_then(|()| w.get_ref().sync_all().or_else(ignore_unsupported))
        .with_context(|| format!("cannot write the summary to {}", path.display()))
}

/// `sync_all` is not supported on every output (pipes, character devices).
fn ignore_unsupported(e: std::io::Error) -> std::io::Result<()> {
    match e.kind() {
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported => Ok(()),
        _ => Err(e),
    }
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

/// Events per chunk handed on to the writer: large enough that the channel costs nothing,
/// small enough to stay in cache.
const CHUNK: usize = 256;

pub(crate) type Parsed = Result<Record, Rejection>;

/// The writer thread: events as NDJSON, buffers handed back for reuse.
fn write_events(
    to: EventsTo,
    from_engine: Receiver<Vec<Event>>,
    back: Sender<Vec<Event>>,
) -> anyhow::Result<()> {
    let name = to.name();
    let mut w: Box<dyn Write> = match to {
        EventsTo::Stdout => Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
        EventsTo::File(f, _) => Box::new(BufWriter::with_capacity(1 << 16, f)),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    for mut events in from_engine {
        for event in &events {
            event.write_json(&mut buf);
            buf.push(b'\n');
        }
        match w.write_all(&buf) {
            // The reader went away (`pulse replay ... | head`): stop, as Unix tools do.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.with_context(|| format!("cannot write events to {name}"))?,
        }
        buf.clear();
        events.clear();
        let _ = back.send(events);
    }
    match w.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.with_context(|| format!("cannot write events to {name}")),
    }
}

/// Inputs smaller than this replay on one thread by default (measured: on 2-3 MB files two
/// threads cost 10-20 ms more than they save; BENCHMARKS.md, "Both cores").
const SMALL_INPUT_BYTES: u64 = 8 << 20;

/// The available cores, or one for a small input read from files (standard input's size is
/// unknown: it gets the cores).
fn default_threads(files: &[PathBuf], total_bytes: u64) -> usize {
    let stdin = files.iter().any(|f| f.as_os_str() == "-");
    if !stdin && total_bytes < SMALL_INPUT_BYTES {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Reading, parsing and detection on `--threads` threads, writing events alongside (see
/// [`crate::sharded`]); with `--report`, detection on one thread. The output is the same as
/// one thread's either way.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref())?;
    let to = events_to(args.out.as_ref())?;
    let total_bytes: u64 = args
        .files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = progress(total_bytes, args.quiet);
    let now = match args.now {
        Some(now) => now,
        None => wall_clock()?,
    };
    let report = match &args.report {
        Some(path) => Some(report_options(&args, path)?),
        None => None,
    };
    let started = Instant::now();
    let (replay, gatherer) = match &report {
        Some(_) => {
            let gatherer = Gatherer::new(&config, args.series.clone());
            let (replay, gatherer) = gathering(&args, config, now, bar.clone(), to, gatherer)?;
            (replay, Some(gatherer))
        }
        None => {
            let threads = args
                .threads
                .map_or_else(|| default_threads(&args.files, total_bytes), usize::from);
            let out = to.map(|to| {
                let name = to.name();
                let w: Box<dyn Write + Send> = match to {
                    EventsTo::Stdout => {
                        Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout()))
                    }
                    EventsTo::File(f, _) => Box::new(BufWriter::with_capacity(1 << 20, f)),
                };
                (w, name)
            });
            let plan = sharded::Plan {
                files: args.files.clone(),
                format: args.format,
                config,
                now,
                threads,
                bar: bar.clone(),
            };
            let replay = if threads == 1 {
                single::run(plan, out)?
            } else {
                sharded::run(plan, out)?
            };
            (replay, None)
        }
    };
    bar.finish_and_clear();
    let summary = replay.summary(started.elapsed().as_secs_f64());
    if let Some(path) = &args.summary_json {
        write_summary(path, &summary)?;
    }
    print_summary(&summary, args.show_alerts);
    if let (Some(opts), Some(g)) = (&report, gatherer) {
        let records = summary.records;
        let made = report::finish(g, summary, opts, &args.files, args.format, now)?;
        for line in report::describe(&made, &opts.path) {
            eprintln!("{line}");
        }
        if records == 0 {
            bail!("no records were read: check the file paths and format");
        }
        return Ok(());
    }
    if summary.records == 0 {
        bail!("no records were read: check the file paths and format");
    }
    Ok(())
}

/// `--report`: reading and parsing, detection (gathering the report), and writing events
/// run on three threads joined by bounded channels, in input order.
fn gathering(
    args: &Args,
    config: Config,
    now: UnixSecs,
    bar: ProgressBar,
    to: Option<EventsTo>,
    mut gatherer: Gatherer,
) -> anyhow::Result<(Replay, Gatherer)> {
    let mut replay = Replay::new(config);
    replay.set_clock(now);
    let (to_engine, parsed) = sync_channel::<Vec<Parsed>>(8);
    let (recycle, recycled) = channel::<Vec<Parsed>>();
    let reader = {
        let (files, format, limits) = (args.files.clone(), args.format, *replay.validation());
        std::thread::spawn(move || {
            single::read_and_parse(files, format, limits, bar, to_engine, recycled)
        })
    };
    let (to_writer, back, writer) = match to {
        Some(to) => {
            let (to_writer, from_engine) = sync_channel::<Vec<Event>>(8);
            let (back_tx, back) = channel::<Vec<Event>>();
            let writer = std::thread::spawn(move || write_events(to, from_engine, back_tx));
            (Some(to_writer), Some(back), Some(writer))
        }
        None => (None, None, None),
    };
    let mut events: Vec<Event> = Vec::with_capacity(CHUNK + 64);
    let mut writer_gone = false;
    'chunks: for mut chunk in parsed {
        for record in chunk.drain(..) {
            report::feed(&mut gatherer, &mut replay, record, &mut events);
            if events.len() >= CHUNK {
                match &to_writer {
                    Some(tx) => {
                        let fresh = back
                            .as_ref()
                            .and_then(|b| b.try_recv().ok())
                            .unwrap_or_else(|| Vec::with_capacity(CHUNK + 64));
                        if tx.send(std::mem::replace(&mut events, fresh)).is_err() {
                            writer_gone = true;
                            break 'chunks;
                        }
                    }
                    None => events.clear(),
                }
            }
        }
        let _ = recycle.send(chunk);
    }
    if let Some(tx) = to_writer
        && !writer_gone
        && !events.is_empty()
    {
        let _ = tx.send(events);
    }
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    if let Some(writer) = writer {
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    }
    read?;
    Ok((replay, gatherer))
}

/// What `--report` needs, checked before the replay starts (a bad compare config fails fast).
fn report_options(args: &Args, path: &std::path::Path) -> anyhow::Result<report::Options> {
    let compare = match &args.compare {
        Some(p) => Some((p.clone(), load_config(Some(p))?)),
        None => None,
    };
    Ok(report::Options {
        path: path.to_path_buf(),
        top: args.top,
        meta: report::html::Meta {
            inputs: args.files.iter().map(|f| f.display().to_string()).collect(),
            config: args.config.as_ref().map(|c| c.display().to_string()),
            compare: args.compare.as_ref().map(|c| c.display().to_string()),
        },
        compare,
    })
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
    if s.window_gaps > 0 {
        let _ = writeln!(
            e,
            "          window gaps: {} (window comparisons skipped: no value within the window's reach)",
            s.window_gaps
        );
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
        let when = pulse_core::time::format_utc(a.timestamp / 1000);
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
