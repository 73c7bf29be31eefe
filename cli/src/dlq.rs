//! `pulse dlq inspect | redrive | native | status`: the on-call tool for the alerts dead-letter
//! queue. Invokes the deployed `dlq-redrive` function (Lambda Invoke), or with `--direct` runs
//! the same code here against the queues. Destructive actions show a dry run and ask first.
//! A redrive that did not finish exits non-zero; errors are one line that names the fix.

use anyhow::{Context as _, anyhow, bail};
use dlq_redrive::filter::{Age, Filter, PointerMatch};
use dlq_redrive::ops::{Budget, Control, Progress};
use dlq_redrive::report::{
    InspectReport, NativeReport, RedriveReport, StatusReport, StopReason, Tally,
};
use dlq_redrive::request::{
    InspectRequest, NativeOp, NativeRequest, RedriveRequest, StatusRequest,
};
use dlq_redrive::{Config, DEFAULT_MAX_REDRIVE_COUNT, Report, Request};
use pulse_adapters::lambda::LambdaInvoker;
use pulse_adapters::sqs::SqsQueue;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Name of the message attribute the alert consumer sets on a final failed receive: why the
/// receiver refused the alert (its status and the start of its answer).
pub const FAILURE_REASON_ATTRIBUTE: &str = "failureReason";

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
    /// The deployed redrive function (name or ARN); default: from --env, else $PULSE_DLQ_FUNCTION.
    #[arg(long, global = true, conflicts_with = "environment")]
    function: Option<String>,
    /// The environment whose function to invoke: dev, staging or prod (pulse-<env>-dlq-redrive:live).
    #[arg(long = "env", global = true, value_parser = clap::builder::PossibleValuesParser::new(pulse_core::env::ENVIRONMENTS))]
    environment: Option<String>,
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
                function: function_name(
                    t.function.as_deref(),
                    t.environment.as_deref(),
                    std::env::var(pulse_core::env::DLQ_FUNCTION).ok().as_deref(),
                )?,
            })
        }
    }

    /// Runs a request. `total` (when known) sizes the progress bar; `stop` is set by Ctrl-C.
    async fn call_watched(
        &self,
        request: &Request,
        total: Option<u64>,
        stop: Option<&AtomicBool>,
    ) -> anyhow::Result<Report> {
        let bar = progress_bar(total);
        let result = match self {
            Runner::Direct { queue, config } => {
                let show = |p: Progress| {
                    bar.set_position(p.done);
                    bar.set_message(format!("examined {}", p.examined));
                };
                let control = Control {
                    progress: Some(&show),
                    stop,
                };
                dlq_redrive::handle_with(queue, config, request, Budget::unlimited(), control)
                    .await
                    .map_err(|e| one_line(&e.to_string(), None))
            }
            Runner::Lambda { invoker, function } => {
                bar.set_message(format!("waiting for {function}"));
                match invoker.invoke(function, serde_json::to_vec(request)?).await {
                    Ok(body) => serde_json::from_str(&body).with_context(|| {
                        format!("{function} returned an unreadable report: {body}")
                    }),
                    Err(e) => Err(one_line(&e.to_string(), Some(function))),
                }
            }
        };
        bar.finish_and_clear();
        result
    }

    async fn call(&self, request: &Request) -> anyhow::Result<Report> {
        self.call_watched(request, None, None).await
    }
}

/// The function to invoke: `--function`, else `--env`'s deployed name, else `$PULSE_DLQ_FUNCTION`.
fn function_name(
    function: Option<&str>,
    environment: Option<&str>,
    from_env: Option<&str>,
) -> anyhow::Result<String> {
    let from_env = from_env.map(str::trim).filter(|f| !f.is_empty());
    match (function, environment, from_env) {
        (Some(f), _, _) => Ok(f.to_string()),
        (None, Some(e), _) => Ok(pulse_core::env::deployed_function(e, "dlq-redrive")),
        (None, None, Some(f)) => Ok(f.to_string()),
        (None, None, None) => bail!(
            "which dlq-redrive function? pass --env dev|staging|prod, set {} (name or ARN), pass --function NAME, or use --direct --queue-url URL",
            pulse_core::env::DLQ_FUNCTION
        ),
    }
}

/// An error as one line (no chain of SDK debug text), followed by the fix when it is known.
fn one_line(message: &str, function: Option<&str>) -> anyhow::Error {
    let first = message.lines().next().unwrap_or(message).trim();
    let lower = message.to_ascii_lowercase();
    let fix = if lower.contains("resourcenotfound") || lower.contains("function not found") {
        Some(match function {
            Some(f) => format!(
                "no function {f} in this account and region: pass --env dev|staging|prod, or --function with the deployed name, and check --region/--profile"
            ),
            None => "check --region and --profile".to_string(),
        })
    } else if lower.contains("nonexistentqueue") || lower.contains("queuedoesnotexist") {
        Some("no such queue: check --queue-url (the dead-letter queue's URL) and --region".into())
    } else if lower.contains("accessdenied")
        || lower.contains("not authorized")
        || lower.contains("unauthorized")
    {
        Some("the credentials may not do this: use the environment's dlq role (terraform/bootstrap) or --profile".into())
    } else if lower.contains("expired") && lower.contains("token") {
        Some("the AWS session expired: log in again (aws sso login) or pass --profile".into())
    } else if lower.contains("credentials") {
        Some("no AWS credentials found: pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".into())
    } else if lower.contains("connection refused")
        || lower.contains("dns error")
        || lower.contains("failed to lookup")
        || lower.contains("dispatch failure")
        || lower.contains("timed out")
        || lower.contains("timeout")
    {
        Some("cannot reach AWS: check the network, --region and --endpoint-url (for the local stack: scripts/local-stack.sh up)".into())
    } else {
        None
    };
    match fix {
        Some(fix) => anyhow!("{first}\n  fix: {fix}"),
        None => anyhow!("{first}"),
    }
}

/// A bar on stderr while a request runs: moved of `total` when known, else a spinner with
/// counts. Hidden when stderr is not a terminal (CI logs, pipes).
fn progress_bar(total: Option<u64>) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressStyle};
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(n) => (
            ProgressBar::new(n),
            "{spinner} {wide_bar} {pos}/{len} moved  {msg}  {elapsed}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {pos} done  {msg}  {elapsed}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Ctrl-C during a `--direct` run: the first asks the run to stop after its current step and
/// make every message it holds visible again; a second quits at once.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
            eprintln!(
                "\nCtrl-C: stopping after this step and making the held messages visible again (Ctrl-C again to quit now; they then return after their visibility timeout)"
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    stop
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
    let stop = t.direct.then(stop_on_ctrl_c);
    let stop = stop.as_deref();
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
            let report = runner.call_watched(&request, None, stop).await?;
            output(t, &report)?;
            if let Report::Inspect(r) = &report
                && r.stopped == StopReason::Cancelled
            {
                bail!(
                    "interrupted after looking at {} message(s); all were made visible again",
                    r.examined
                );
            }
            Ok(())
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
            let mut expected = None;
            if !dry_run && !t.yes {
                let dry = RedriveRequest {
                    dry_run: true,
                    ..request.clone()
                };
                let report = runner
                    .call_watched(&Request::Redrive(dry), None, stop)
                    .await?;
                let Report::Redrive(r) = &report else {
                    bail!(
                        "the function answered a dry run with a {} report",
                        report.action()
                    );
                };
                eprintln!("Dry run first:");
                print_report_to(t, &report, &mut std::io::stderr())?;
                if r.stopped == StopReason::Cancelled {
                    bail!("interrupted during the dry run; nothing moved");
                }
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
                expected = Some(r.would_move);
            }
            let report = runner
                .call_watched(&Request::Redrive(request), expected, stop)
                .await?;
            output(t, &report)?;
            match &report {
                Report::Redrive(r) => verdict(r),
                other => bail!(
                    "the function answered a redrive with a {} report",
                    other.action()
                ),
            }
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

/// Whether a redrive did everything: an error (non-zero exit) naming what is left otherwise.
fn verdict(r: &RedriveReport) -> anyhow::Result<()> {
    let did = if r.dry_run {
        format!("would move {}", r.would_move)
    } else {
        format!("moved {}", r.moved)
    };
    if !r.failed.is_empty() {
        bail!(
            "{} message(s) failed to move (see the report; they stay in the dead-letter queue); {did}",
            r.failed.len()
        );
    }
    if r.complete {
        return Ok(());
    }
    match r.stopped {
        StopReason::Cancelled => bail!(
            "interrupted (Ctrl-C): {did}; every message held was made visible again{}",
            if r.release_failures.is_empty() {
                String::new()
            } else {
                format!(
                    " except {} (they return after their visibility timeout)",
                    r.release_failures.len()
                )
            }
        ),
        StopReason::MaxMessages => bail!(
            "not complete: {did}, and more messages match beyond --max-messages; run again (or raise --max-messages) to continue"
        ),
        StopReason::Deadline => bail!(
            "not complete: the time budget ran out ({did}); run the same command again to continue"
        ),
        StopReason::DestinationError => bail!(
            "not complete: the destination {} refused whole batches ({did}); check it exists and accepts messages, then run again",
            r.destination_queue_url
        ),
        StopReason::QueueEmpty => Ok(()),
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
    s.push_str(
        "note: SQS has no peek: inspect receives each message it looks at, which raises its receive count by one.\n      \"received Nx\" counts every receive (consumer attempts, inspects and dry runs), not delivery attempts.\n\n",
    );
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
            if let Some(reason) = x.attributes.get(FAILURE_REASON_ATTRIBUTE) {
                s.push_str(&format!(
                    "    failure reason: {}\n",
                    reason.replace('\n', " ")
                ));
            }
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
            " (complete)".to_string()
        } else {
            match r.stopped {
                StopReason::Cancelled => " (interrupted)".to_string(),
                StopReason::MaxMessages => {
                    " (not complete: more match beyond --max-messages)".to_string()
                }
                _ => " (not complete: run again to continue)".to_string(),
            }
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
