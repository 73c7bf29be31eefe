//! The operations, written against the [`Queue`] port.
//!
//! Every message an operation receives is either deleted (after the destination acknowledged
//! its copy) or held invisible until the end of the run and then made visible again, so an
//! inspect or a dry run leaves the queue as it found it, and a message is never received twice
//! in one run.

use crate::REDRIVE_COUNT_ATTRIBUTE;
use crate::filter::classify;
use crate::rate::fits;
use crate::report::{
    InspectReport, NativeReport, QueueStatus, Sample, StatusReport, StopReason, Tallies,
    redrive_count,
};
use crate::request::{InspectRequest, NativeOp, NativeRequest};
use pulse_core::ports::PortError;
use pulse_core::ports::queue::{AttrValue, EntryFailure, Handle, Message, Queue, StartOutcome};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod redrive;
pub use redrive::{redrive, redrive_with};

/// Visibility timeout while `inspect` looks at messages; they are released right after.
pub const INSPECT_VISIBILITY_SECS: i32 = 60;
/// Long-poll wait of each receive: long enough that an empty answer means an empty queue
/// (short polls may miss messages on a few servers), short enough not to stall a run.
pub const RECEIVE_WAIT_SECS: i32 = 1;
/// Time kept back at the end of a run to make held messages visible again and read the depth.
pub const RELEASE_RESERVE: Duration = Duration::from_millis(1_500);
/// A redrive stops after this many whole batches in a row were refused by the destination.
pub const MAX_FAILED_BATCHES_IN_A_ROW: u32 = 3;
/// How many ids of would-move messages a dry run lists.
pub const WOULD_MOVE_IDS: usize = 100;

/// A failed operation; [`Error::retryable`] says whether the same call may succeed later.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(
        "no destination: {dlq} is no queue's dead-letter queue (ListDeadLetterSourceQueues is empty) and no destination was given or configured"
    )]
    NoDestination { dlq: String },
    #[error("{dlq} is the dead-letter queue of several queues ({sources}); name the destination")]
    AmbiguousDestination { dlq: String, sources: String },
    #[error(
        "a message move task is already running on {source_arn}: {message} (see `pulse dlq native list`, stop it with `pulse dlq native cancel`)"
    )]
    TaskAlreadyRunning { source_arn: String, message: String },
    #[error("{action} stopped after {progress}: {source}")]
    Interrupted {
        action: &'static str,
        progress: String,
        #[source]
        source: PortError,
    },
    #[error(transparent)]
    Port(#[from] PortError),
}

impl Error {
    /// A short name of the kind of failure (the Lambda's `errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "BadRequest",
            Error::NoDestination { .. } => "NoDestination",
            Error::AmbiguousDestination { .. } => "AmbiguousDestination",
            Error::TaskAlreadyRunning { .. } => "TaskAlreadyRunning",
            Error::Interrupted { .. } => "Interrupted",
            Error::Port(_) => "QueueError",
        }
    }

    pub fn retryable(&self) -> bool {
        match self {
            Error::Interrupted { source, .. } | Error::Port(source) => source.retryable,
            _ => false,
        }
    }
}

/// When a run must stop: the Lambda's deadline less a safety margin, or a caller's budget.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    deadline: Option<Instant>,
}

impl Budget {
    pub fn unlimited() -> Self {
        Budget { deadline: None }
    }

    pub fn until(deadline: Instant) -> Self {
        Budget {
            deadline: Some(deadline),
        }
    }

    /// This budget, cut to `secs` from now when given.
    pub fn at_most(self, secs: Option<u64>) -> Self {
        let Some(secs) = secs else { return self };
        let limit = Instant::now() + Duration::from_secs(secs);
        Budget {
            deadline: Some(self.deadline.map_or(limit, |d| d.min(limit))),
        }
    }

    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    fn allows(&self, longest_step: Duration) -> bool {
        self.remaining()
            .is_none_or(|r| fits(r, longest_step, RELEASE_RESERVE))
    }
}

/// Where a run stands, after each step (for a progress bar).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Messages received and looked at.
    pub examined: u64,
    /// Moved (redrive) or matched (inspect, dry run).
    pub done: u64,
}

/// What a caller watching a run sees and can do: progress after each step, and a stop request
/// (Ctrl-C in `pulse dlq --direct`) honoured between steps. A stopped run releases what it
/// holds and reports [`StopReason::Cancelled`].
#[derive(Clone, Copy, Default)]
pub struct Control<'a> {
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    pub stop: Option<&'a AtomicBool>,
}

impl Control<'_> {
    pub(crate) fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::SeqCst))
    }

    pub(crate) fn report(&self, examined: u64, done: u64) {
        if let Some(f) = self.progress {
            f(Progress { examined, done });
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn elapsed_ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

/// Makes held messages visible again, ten at a time. Failures are returned, not hidden: such
/// messages come back by themselves when their visibility timeout ends.
pub(crate) async fn release<Q: Queue>(
    q: &Q,
    queue_url: &str,
    held: &[Handle],
) -> Vec<EntryFailure> {
    let mut failures = Vec::new();
    for chunk in held.chunks(10) {
        match q.set_visibility(queue_url, chunk, 0).await {
            Ok(f) => failures.extend(f),
            Err(e) => failures.extend(chunk.iter().map(|h| EntryFailure {
                id: h.id.clone(),
                error: e.to_string(),
                retryable: e.retryable,
            })),
        }
    }
    if !failures.is_empty() {
        tracing::warn!(
            count = failures.len(),
            "some messages could not be made visible again; they return when their visibility timeout ends"
        );
    }
    failures
}

/// Looks at up to `max_messages` messages and leaves them in the queue.
pub async fn inspect<Q: Queue>(
    q: &Q,
    dlq: &str,
    req: &InspectRequest,
    budget: Budget,
) -> Result<InspectReport, Error> {
    inspect_with(q, dlq, req, budget, Control::default()).await
}

/// [`inspect`], watched: progress after each batch, and a stop between batches.
pub async fn inspect_with<Q: Queue>(
    q: &Q,
    dlq: &str,
    req: &InspectRequest,
    budget: Budget,
    control: Control<'_>,
) -> Result<InspectReport, Error> {
    let start = Instant::now();
    let budget = budget.at_most(req.time_budget_secs);
    let max = u64::from(req.max_messages.unwrap_or(100).clamp(1, 1_000));
    let want_samples = req.samples.unwrap_or(5) as usize;
    let sample_bytes = req.sample_bytes.unwrap_or(512) as usize;
    let mut seen = HashSet::new();
    let mut held: Vec<Handle> = Vec::new();
    let (mut examined, mut matched) = (0u64, 0u64);
    let mut tallies = Tallies::default();
    let mut samples = Vec::new();
    let mut longest = Duration::ZERO;
    let stopped = loop {
        if control.stopped() {
            break StopReason::Cancelled;
        }
        if examined >= max {
            break StopReason::MaxMessages;
        }
        if !budget.allows(longest) {
            break StopReason::Deadline;
        }
        let step = Instant::now();
        let want = (max - examined).min(10) as i32;
        let batch = match q
            .receive(dlq, want, INSPECT_VISIBILITY_SECS, RECEIVE_WAIT_SECS)
            .await
        {
            Ok(b) => b,
            Err(source) => {
                release(q, dlq, &held).await;
                return Err(Error::Interrupted {
                    action: "inspect",
                    progress: format!("{examined} messages (all made visible again)"),
                    source,
                });
            }
        };
        longest = longest.max(step.elapsed());
        if batch.is_empty() {
            break StopReason::QueueEmpty;
        }
        let now = now_ms();
        for m in batch {
            held.push(m.handle());
            if !seen.insert(m.id.clone()) {
                continue;
            }
            examined += 1;
            let class = classify(&m.body);
            if req.filter.matches(&m, &class, now) {
                matched += 1;
                tallies.add(&m, &class, now);
                if samples.len() < want_samples {
                    samples.push(Sample::new(&m, &class, now, sample_bytes));
                }
            }
        }
        control.report(examined, matched);
    };
    let release_failures = release(q, dlq, &held).await;
    let queue = q.counts(dlq).await?;
    Ok(InspectReport {
        queue_url: dlq.to_string(),
        examined,
        matched,
        tallies,
        samples,
        queue,
        elapsed_ms: elapsed_ms(start),
        stopped,
        release_failures,
    })
}

/// The destination of a redrive and how it was chosen.
pub async fn resolve_destination<Q: Queue>(
    q: &Q,
    dlq: &str,
    requested: Option<&str>,
    configured: Option<&str>,
) -> Result<(String, &'static str), Error> {
    if let Some(d) = requested {
        return Ok((d.to_string(), "request"));
    }
    let sources = q.dead_letter_sources(dlq).await?;
    match sources.as_slice() {
        [one] => Ok((one.clone(), "redrive_relationship")),
        [] => configured
            .map(|c| (c.to_string(), "configured"))
            .ok_or_else(|| Error::NoDestination {
                dlq: dlq.to_string(),
            }),
        many => match configured {
            Some(c) if many.iter().any(|s| s == c) => Ok((c.to_string(), "configured")),
            _ => Err(Error::AmbiguousDestination {
                dlq: dlq.to_string(),
                sources: many.join(", "),
            }),
        },
    }
}

/// The attributes a redriven copy carries: the original ones, with `redriveCount` one higher.
pub fn redriven_attributes(m: &Message) -> std::collections::BTreeMap<String, AttrValue> {
    let mut attrs = m.attributes.clone();
    attrs.insert(
        REDRIVE_COUNT_ATTRIBUTE.to_string(),
        AttrValue::number(u64::from(redrive_count(m)) + 1),
    );
    attrs
}

/// Deletes acknowledged messages from the dead-letter queue, retrying once what failed.
/// Returns the handles that could not be deleted, with the error.
pub(crate) async fn delete_acked<Q: Queue>(
    q: &Q,
    dlq: &str,
    handles: &[Handle],
) -> Vec<(Handle, EntryFailure)> {
    let mut left: Vec<Handle> = handles.to_vec();
    let mut last: Vec<(Handle, EntryFailure)> = Vec::new();
    for _attempt in 0..2 {
        if left.is_empty() {
            break;
        }
        let failures = match q.delete_batch(dlq, &left).await {
            Ok(f) => f,
            Err(e) => left
                .iter()
                .map(|h| EntryFailure {
                    id: h.id.clone(),
                    error: e.to_string(),
                    retryable: e.retryable,
                })
                .collect(),
        };
        last = failures
            .into_iter()
            .filter_map(|f| left.iter().find(|h| h.id == f.id).map(|h| (h.clone(), f)))
            .collect();
        left = last.iter().map(|(h, _)| h.clone()).collect();
    }
    last
}

/// SQS's own move task: start, list or cancel.
pub async fn native<Q: Queue>(
    q: &Q,
    dlq: &str,
    req: &NativeRequest,
) -> Result<NativeReport, Error> {
    let source_arn = q.queue_arn(dlq).await?;
    let mut report = NativeReport {
        op: String::new(),
        source_arn: source_arn.clone(),
        task_handle: None,
        approximate_moved: None,
        tasks: Vec::new(),
    };
    match req.op {
        NativeOp::Start => {
            report.op = "start".into();
            if let Some(r) = req.rate_per_second
                && !(1..=500).contains(&r)
            {
                return Err(Error::BadRequest(format!(
                    "rate_per_second for a move task must be 1..=500, not {r}"
                )));
            }
            match q
                .start_move_task(
                    &source_arn,
                    req.destination_arn.as_deref(),
                    req.rate_per_second,
                )
                .await?
            {
                StartOutcome::Started { task_handle } => report.task_handle = Some(task_handle),
                StartOutcome::AlreadyRunning { message } => {
                    return Err(Error::TaskAlreadyRunning {
                        source_arn,
                        message,
                    });
                }
            }
        }
        NativeOp::List => {
            report.op = "list".into();
            report.tasks = q.list_move_tasks(&source_arn).await?;
        }
        NativeOp::Cancel => {
            report.op = "cancel".into();
            let handle = match &req.task_handle {
                Some(h) => h.clone(),
                None => q
                    .list_move_tasks(&source_arn)
                    .await?
                    .into_iter()
                    .find(|t| t.status.as_deref() == Some("RUNNING"))
                    .and_then(|t| t.task_handle)
                    .ok_or_else(|| {
                        Error::BadRequest(format!("no move task is running on {source_arn}"))
                    })?,
            };
            report.approximate_moved = Some(q.cancel_move_task(&handle).await?);
            report.task_handle = Some(handle);
        }
    }
    Ok(report)
}

/// Depths of the dead-letter queue and of the queues whose redrive policy points at it.
pub async fn status<Q: Queue>(q: &Q, dlq: &str) -> Result<StatusReport, Error> {
    let dead_letter = QueueStatus {
        queue_url: dlq.to_string(),
        counts: q.counts(dlq).await?,
    };
    let mut sources = Vec::new();
    for url in q.dead_letter_sources(dlq).await? {
        let counts = q.counts(&url).await?;
        sources.push(QueueStatus {
            queue_url: url,
            counts,
        });
    }
    Ok(StatusReport {
        dead_letter,
        sources,
    })
}
