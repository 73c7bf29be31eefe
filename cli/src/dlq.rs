//! `pulse dlq inspect | redrive | native | status`: the on-call tool for the alerts dead-letter
//! queue. Invokes the deployed `dlq-redrive` function (Lambda Invoke), or with `--direct` runs
//! the same code here against the queues. Destructive actions show a dry run and ask first.

use anyhow::{Context as _, bail};
use dlq_redrive::filter::{Age, Filter, PointerMatch};
use dlq_redrive::ops::Budget;
use dlq_redrive::report::{InspectReport, NativeReport, RedriveReport, StatusReport, Tally};
use dlq_redrive::request::{
    InspectRequest, NativeOp, NativeRequest, RedriveRequest, StatusRequest,
};
use dlq_redrive::{Config, DEFAULT_MAX_REDRIVE_COUNT, Report, Request};
use pulse_adapters::lambda::LambdaInvoker;
use pulse_adapters::sqs::SqsQueue;
use std::io::{BufRead, IsTerminal, Write};

#[derive(clap::Args)]
pub struct Args {
    // Boxed: the arguments are large, and `pulse`'s command enum holds them by value.
    #[command(subcommand)]
    command: Box<Cmd>,
    #[command(flatten)]
    target: Box<Target>,
}

#[derive(clap::Args)]
struct Target {
    /// The deployed redrive function (name or ARN).
    #[arg(long, global = true, default_value = "pulse-dlq-redrive")]
    function: String,
    /// AWS profile.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// AWS region.
    #[arg(long, global = true)]
    region: Option<String>,
    /// Run the redrive code here, against the queues, instead of invoking the function.
    #[arg(long, global = true)]
    direct: bool,
    /// The dead-letter queue (required with --direct; overrides the function's own otherwise).
    #[arg(long, global = true, env = pulse_core::env::DEAD_LETTER_QUEUE_URL)]
    queue_url: Option<String>,
    /// With --direct: the destination used when the dead-letter queue feeds no queue.
    #[arg(long, global = true, env = pulse_core::env::ALERTS_QUEUE_URL)]
    alerts_queue_url: Option<String>,
    /// AWS endpoint, e.g. the local stack (http://127.0.0.1:5000).
    #[arg(long, global = true)]
    endpoint_url: Option<String>,
    /// Print the report as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Do not ask before moving or cancelling.
    #[arg(long, short = 'y', global = true)]
    yes: bool,
    /// Why (recorded in the function's logs).
    #[arg(long, global = true)]
    reason: Option<String>,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Count and show what is in the dead-letter queue, leaving it there.
    Inspect {
        /// How many messages to look at (at most 1,000).
        #[arg(long, default_value_t = 100)]
        max_messages: u32,
        /// How many sample messages to show.
        #[arg(long, default_value_t = 5)]
        samples: u32,
        /// Sample bodies are cut to this many bytes.
        #[arg(long, default_value_t = 512)]
        sample_bytes: u32,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Move matching messages back to their queue (a dry run is shown first).
    Redrive {
        /// Only report what would move.
        #[arg(long)]
        dry_run: bool,
        /// Move at most this many.
        #[arg(long)]
        max_messages: Option<u64>,
        /// Messages per second (default: as fast as SQS answers).
        #[arg(long)]
        rate: Option<f64>,
        /// Destination queue URL (default: the queue whose redrive policy names the DLQ).
        #[arg(long)]
        destination_url: Option<String>,
        /// Leave messages redriven this often already (default: the function's, 3).
        #[arg(long)]
        max_redrive_count: Option<u32>,
        /// Stop after this many seconds (a second call continues).
        #[arg(long)]
        time_budget: Option<u64>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// SQS's own move task: everything, no filter.
    Native {
        #[command(subcommand)]
        op: NativeCmd,
    },
    /// Depth of the dead-letter queue and of the queues feeding it.
    Status,
}

#[derive(clap::Subcommand)]
enum NativeCmd {
    /// Start moving every message back (StartMessageMoveTask).
    Start {
        /// Messages per second (1..=500).
        #[arg(long)]
        rate: Option<i32>,
        /// Destination queue ARN (default: the queues the messages came from).
        #[arg(long)]
        destination_arn: Option<String>,
    },
    /// List recent move tasks.
    List,
    /// Cancel the running move task.
    Cancel {
        /// The task (default: the running one).
        #[arg(long)]
        task_handle: Option<String>,
    },
}

#[derive(clap::Args, Default)]
struct FilterArgs {
    /// eventType: alert, price_update, tvl_change, protocol_update, unknown, unparsed (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    event_type: Vec<String>,
    /// Alert severity: info, warning, critical.
    #[arg(long, value_delimiter = ',')]
    severity: Vec<String>,
    /// protocolId.
    #[arg(long = "protocol", value_delimiter = ',')]
    protocol_id: Vec<String>,
    /// tokenId.
    #[arg(long = "token", value_delimiter = ',')]
    token_id: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    chain: Vec<String>,
    /// Sent longer ago than this (90s, 15m, 2h, 3d).
    #[arg(long)]
    older_than: Option<Age>,
    /// Sent more recently than this.
    #[arg(long)]
    newer_than: Option<Age>,
    /// The body contains this text.
    #[arg(long)]
    body_contains: Option<String>,
    /// POINTER=VALUE: the body's JSON at this pointer equals VALUE (JSON, or else text),
    /// e.g. /event/data/protocolId=111.
    #[arg(long, value_parser = parse_pointer)]
    json_pointer: Option<PointerMatch>,
}

fn parse_pointer(s: &str) -> Result<PointerMatch, String> {
    let (pointer, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not POINTER=VALUE"))?;
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!("JSON pointer {pointer:?} must start with /"));
    }
    let equals = serde_json::from_str(value).unwrap_or_else(|_| value.into());
    Ok(PointerMatch {
        pointer: pointer.to_string(),
        equals,
    })
}

impl FilterArgs {
    fn into_filter(self) -> Filter {
        Filter {
            event_type: self.event_type,
            severity: self.severity,
            protocol_id: self.protocol_id,
            token_id: self.token_id,
            chain: self.chain,
            older_than: self.older_than,
            newer_than: self.newer_than,
            body_contains: self.body_contains,
            json_pointer: self.json_pointer,
        }
    }
}

/// Where requests go.
enum Runner {
    Lambda {
        invoker: LambdaInvoker,
        function: String,
    },
    Direct {
        queue: SqsQueue,
        config: Config,
    },
}

impl Runner {
    async fn new(t: &Target) -> anyhow::Result<Self> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(p) = &t.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &t.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(e) = &t.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let sdk = loader.load().await;
        if t.direct {
            let dlq = t
                .queue_url
                .clone()
                .context("--direct needs --queue-url (the dead-letter queue)")?;
            Ok(Runner::Direct {
                queue: SqsQueue::from_config(&sdk),
                config: Config {
                    dead_letter_queue_url: dlq,
                    alerts_queue_url: t.alerts_queue_url.clone(),
                    max_redrive_count: DEFAULT_MAX_REDRIVE_COUNT,
                    metrics_namespace: pulse_core::env::DEFAULT_METRICS_NAMESPACE.into(),
                },
            })
        } else {
            Ok(Runner::Lambda {
                invoker: LambdaInvoker::new(&sdk),
                function: t.function.clone(),
            })
        }
    }

    async fn call(&self, request: &Request) -> anyhow::Result<Report> {
        match self {
            Runner::Direct { queue, config } => {
                Ok(dlq_redrive::handle(queue, config, request, Budget::unlimited()).await?)
            }
            Runner::Lambda { invoker, function } => {
                let body = invoker
                    .invoke(function, serde_json::to_vec(request)?)
                    .await?;
                serde_json::from_str(&body)
                    .with_context(|| format!("{function} returned an unreadable report: {body}"))
            }
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

fn init_logs() {
    // With --direct the operator's reason and each run's outcome are logged here, on stderr.
    pulse_adapters::telemetry::init_cli("warn,dlq_redrive=info");
}

async fn run_async(args: Args) -> anyhow::Result<()> {
    let t = &args.target;
    if t.direct {
        init_logs();
    }
    let runner = Runner::new(t).await?;
    let reason = t.reason.clone();
    let queue_url = t.queue_url.clone();
    match *args.command {
        Cmd::Inspect {
            max_messages,
            samples,
            sample_bytes,
            filter,
        } => {
            let request = Request::Inspect(InspectRequest {
                queue_url,
                max_messages: Some(max_messages),
                samples: Some(samples),
                sample_bytes: Some(sample_bytes),
                filter: filter.into_filter(),
                time_budget_secs: None,
                reason,
            });
            let report = runner.call(&request).await?;
            output(t, &report)
        }
        Cmd::Status => {
            let request = Request::Status(StatusRequest { queue_url, reason });
            let report = runner.call(&request).await?;
            output(t, &report)
        }
        Cmd::Redrive {
            dry_run,
            max_messages,
            rate,
            destination_url,
            max_redrive_count,
            time_budget,
            filter,
        } => {
            let mut request = RedriveRequest {
                queue_url,
                destination_queue_url: destination_url,
                dry_run,
                max_messages,
                rate_per_second: rate,
                filter: filter.into_filter(),
                max_redrive_count,
                time_budget_secs: time_budget,
                reason,
            };
            if !dry_run && !t.yes {
                let dry = RedriveRequest {
                    dry_run: true,
                    ..request.clone()
                };
                let report = runner.call(&Request::Redrive(dry)).await?;
                let Report::Redrive(r) = &report else {
                    bail!(
                        "the function answered a dry run with a {} report",
                        report.action()
                    );
                };
                eprintln!("Dry run first:");
                print_report_to(t, &report, &mut std::io::stderr())?;
                if r.would_move == 0 {
                    eprintln!("Nothing to move.");
                    return Ok(());
                }
                let question = format!(
                    "Move {} message(s) from {} to {}?",
                    r.would_move, r.source_queue_url, r.destination_queue_url
                );
                if !confirm(&question)? {
                    eprintln!("Nothing moved.");
                    return Ok(());
                }
                // Move no more than the operator agreed to.
                request.max_messages =
                    Some(request.max_messages.unwrap_or(u64::MAX).min(r.would_move));
            }
            let report = runner.call(&Request::Redrive(request)).await?;
            output(t, &report)?;
            if let Report::Redrive(r) = &report
                && !r.failed.is_empty()
            {
                bail!(
                    "{} message(s) failed to move (see the report); {} moved",
                    r.failed.len(),
                    r.moved
                );
            }
            Ok(())
        }
        Cmd::Native { op } => {
            let (op, rate, destination_arn, task_handle) = match op {
                NativeCmd::Start {
                    rate,
                    destination_arn,
                } => (NativeOp::Start, rate, destination_arn, None),
                NativeCmd::List => (NativeOp::List, None, None, None),
                NativeCmd::Cancel { task_handle } => (NativeOp::Cancel, None, None, task_handle),
            };
            if op != NativeOp::List && !t.yes {
                let status = runner
                    .call(&Request::Status(StatusRequest {
                        queue_url: queue_url.clone(),
                        reason: reason.clone(),
                    }))
                    .await?;
                print_report_to(t, &status, &mut std::io::stderr())?;
                let question = match op {
                    NativeOp::Start => {
                        "Start an SQS move task for EVERY message in the dead-letter queue (no filter, no loop guard)?"
                    }
                    _ => "Cancel the running move task?",
                };
                if !confirm(question)? {
                    eprintln!("Nothing done.");
                    return Ok(());
                }
            }
            let request = Request::Native(NativeRequest {
                op,
                queue_url,
                destination_arn,
                rate_per_second: rate,
                task_handle,
                reason,
            });
            let report = runner.call(&request).await?;
            output(t, &report)
        }
    }
}

/// Asks on the terminal; refuses when there is none (use --yes in scripts).
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("{question} Refusing without a terminal to ask on: pass --yes to go ahead");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn output(t: &Target, report: &Report) -> anyhow::Result<()> {
    print_report_to(t, report, &mut std::io::stdout().lock())
}

fn print_report_to(t: &Target, report: &Report, out: &mut dyn Write) -> anyhow::Result<()> {
    if t.json {
        writeln!(out, "{}", serde_json::to_string_pretty(report)?)?;
        return Ok(());
    }
    let text = match report {
        Report::Inspect(r) => inspect_table(r),
        Report::Redrive(r) => redrive_table(r),
        Report::Native(r) => native_table(r),
        Report::Status(r) => status_table(r),
    };
    write!(out, "{text}")?;
    Ok(())
}

fn tally_table(out: &mut String, title: &str, tally: &Tally) {
    if tally.is_empty() {
        return;
    }
    let width = tally
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(title.len());
    out.push_str(&format!("  {title:<width$}  {:>6}\n", "count"));
    let mut rows: Vec<_> = tally.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, v) in rows {
        out.push_str(&format!("  {k:<width$}  {v:>6}\n"));
    }
    out.push('\n');
}

fn tallies(out: &mut String, t: &dlq_redrive::report::Tallies) {
    tally_table(out, "event type", &t.by_event_type);
    tally_table(out, "severity", &t.by_severity);
    tally_table(out, "protocol", &t.by_protocol);
    tally_table(out, "token", &t.by_token);
    tally_table(out, "chain", &t.by_chain);
    tally_table(out, "receive count", &t.by_receive_count);
    tally_table(out, "redrive count", &t.by_redrive_count);
    tally_table(out, "age", &t.by_age);
}

fn inspect_table(r: &InspectReport) -> String {
    let mut s = format!(
        "Dead-letter queue {}\nexamined {}  matched {}  stopped: {:?}  elapsed {} ms\nqueue now: {} visible, {} in flight, {} delayed\n\n",
        r.queue_url,
        r.examined,
        r.matched,
        r.stopped,
        r.elapsed_ms,
        r.queue.visible,
        r.queue.in_flight,
        r.queue.delayed
    );
    tallies(&mut s, &r.tallies);
    if !r.samples.is_empty() {
        s.push_str("samples:\n");
        for x in &r.samples {
            s.push_str(&format!(
                "  {}  {} {}  received {}x  redriven {}x  age {}\n    {}{}\n",
                x.message_id,
                x.event_type,
                x.severity.as_deref().unwrap_or("-"),
                x.receive_count,
                x.redrive_count,
                x.age_secs.map_or("?".into(), |a| format!("{a}s")),
                x.body.replace('\n', " "),
                if x.body_truncated {
                    format!(" … ({} bytes)", x.body_bytes)
                } else {
                    String::new()
                },
            ));
        }
    }
    for f in &r.release_failures {
        s.push_str(&format!(
            "not made visible again (returns by itself): {} {}\n",
            f.id, f.error
        ));
    }
    s
}

fn redrive_table(r: &RedriveReport) -> String {
    let skipped: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut s = format!(
        "{}{} -> {} (destination from {})\nexamined {}  moved {}  would move {}  skipped {}{}  failed {}\nremaining in the dead-letter queue: {} visible, {} in flight\nstopped: {:?}{}  elapsed {} ms  rate {:.1}/s{}\n\n",
        if r.dry_run { "DRY RUN  " } else { "" },
        r.source_queue_url,
        r.destination_queue_url,
        r.destination_from,
        r.examined,
        r.moved,
        r.would_move,
        r.skipped_total(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join(", "))
        },
        r.failed.len(),
        r.remaining.visible,
        r.remaining.in_flight,
        r.stopped,
        if r.complete {
            " (complete)"
        } else {
            " (not complete: run again to continue)"
        },
        r.elapsed_ms,
        r.achieved_rate,
        r.rate_limit
            .map_or(String::new(), |l| format!(" (limit {l}/s)")),
    );
    s.push_str(if r.dry_run {
        "would move:\n"
    } else {
        "moved:\n"
    });
    tallies(&mut s, &r.moving);
    for f in &r.failed {
        s.push_str(&format!(
            "failed  {}  {}  {}{}\n",
            f.message_id,
            f.stage,
            f.error,
            if f.retryable { " (retryable)" } else { "" }
        ));
    }
    s
}

fn native_table(r: &NativeReport) -> String {
    let mut s = format!("move task {} on {}\n", r.op, r.source_arn);
    if let Some(h) = &r.task_handle {
        s.push_str(&format!("task handle: {h}\n"));
    }
    if let Some(n) = r.approximate_moved {
        s.push_str(&format!("moved before cancelling: ~{n}\n"));
    }
    for t in &r.tasks {
        s.push_str(&format!(
            "  {:<10} moved ~{}/{}  rate {}  started {}  {}{}\n",
            t.status.as_deref().unwrap_or("?"),
            t.approximate_moved,
            t.approximate_to_move.map_or("?".into(), |n| n.to_string()),
            t.max_messages_per_second
                .map_or("default".into(), |n| format!("{n}/s")),
            t.started_at_ms,
            t.task_handle.as_deref().unwrap_or(""),
            t.failure_reason
                .as_deref()
                .map_or(String::new(), |f| format!("  failed: {f}")),
        ));
    }
    s
}

fn status_table(r: &StatusReport) -> String {
    let mut s = format!(
        "{:<10} {:>8} {:>9} {:>7}  queue\n",
        "", "visible", "in flight", "delayed"
    );
    let mut row = |kind: &str, q: &dlq_redrive::report::QueueStatus| {
        s.push_str(&format!(
            "{kind:<10} {:>8} {:>9} {:>7}  {}\n",
            q.counts.visible, q.counts.in_flight, q.counts.delayed, q.queue_url
        ));
    };
    row("dlq", &r.dead_letter);
    for q in &r.sources {
        row("source", q);
    }
    s
}
