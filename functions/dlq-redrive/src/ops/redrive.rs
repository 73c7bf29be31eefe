//! The redrive: move matching messages from the dead-letter queue to the destination, send
//! first, delete after the send is acknowledged; everything else is held and made visible
//! again at the end. One [`Run`] carries what a redrive was asked and what it has done; each
//! step of the loop (when to stop, receive, sort a batch, send it) is one method.

use super::{
    Budget, Control, Error, MAX_FAILED_BATCHES_IN_A_ROW, RECEIVE_WAIT_SECS, RELEASE_RESERVE,
    WOULD_MOVE_IDS, delete_acked, elapsed_ms, now_ms, redriven_attributes, release,
    resolve_destination,
};
use crate::filter::{Classified, classify};
use crate::rate::{Pacer, fits, hold_secs, per_second};
use crate::report::{Failure, RedriveReport, StopReason, Tallies, Tally, redrive_count, skip};
use crate::request::RedriveRequest;
use pulse_core::ports::queue::{Handle, Message, OutMessage, Queue};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Moves matching messages from the dead-letter queue to the destination: send first, delete
/// after the send is acknowledged; everything else is left in place and made visible again.
pub async fn redrive<Q: Queue>(
    q: &Q,
    dlq: &str,
    configured_destination: Option<&str>,
    default_max_redrive_count: u32,
    req: &RedriveRequest,
    budget: Budget,
) -> Result<RedriveReport, Error> {
    redrive_with(
        q,
        dlq,
        configured_destination,
        default_max_redrive_count,
        req,
        budget,
        Control::default(),
    )
    .await
}

/// [`redrive`], watched: progress after each batch, and a stop between batches that releases
/// every message the run holds.
pub async fn redrive_with<Q: Queue>(
    q: &Q,
    dlq: &str,
    configured_destination: Option<&str>,
    default_max_redrive_count: u32,
    req: &RedriveRequest,
    budget: Budget,
    control: Control<'_>,
) -> Result<RedriveReport, Error> {
    let start = Instant::now();
    let budget = budget.at_most(req.time_budget_secs);
    if req
        .rate_per_second
        .is_some_and(|r| !r.is_finite() || r <= 0.0)
    {
        return Err(Error::BadRequest(
            "rate_per_second must be a positive number".into(),
        ));
    }
    let (destination, destination_from) = resolve_destination(
        q,
        dlq,
        req.destination_queue_url.as_deref(),
        configured_destination,
    )
    .await?;
    if destination == dlq {
        return Err(Error::BadRequest(
            "the destination is the dead-letter queue itself".into(),
        ));
    }
    let mut run = Run::new(
        q,
        dlq,
        destination,
        req,
        budget,
        req.max_redrive_count.unwrap_or(default_max_redrive_count),
    );
    let stopped = loop {
        if control.stopped() {
            break StopReason::Cancelled;
        }
        if let Some(reason) = run.reason_to_stop() {
            break reason;
        }
        let step = Instant::now();
        let batch = run.receive().await?;
        if batch.is_empty() {
            break StopReason::QueueEmpty;
        }
        let now = now_ms();
        let to_send = run.sort(batch, now);
        let stop = run.send(to_send, now).await;
        control.report(
            run.examined,
            if req.dry_run {
                run.would_move
            } else {
                run.moved
            },
        );
        if let Some(reason) = stop {
            break reason;
        }
        run.longest = run.longest.max(step.elapsed());
    };
    let mut report = run.finish(stopped).await?;
    report.destination_from = destination_from.to_string();
    report.elapsed_ms = elapsed_ms(start);
    Ok(report)
}

/// One redrive in progress.
struct Run<'a, Q> {
    q: &'a Q,
    dlq: &'a str,
    destination: String,
    req: &'a RedriveRequest,
    budget: Budget,
    pacer: Pacer,
    max_move: u64,
    max_redrive: u32,
    /// Visibility timeout of each receive: until the run's end.
    hold: i32,
    /// Message ids received so far (a message received again is counted once).
    seen: HashSet<String>,
    /// Messages kept invisible, released at the end.
    held: Vec<Handle>,
    examined: u64,
    moved: u64,
    would_move: u64,
    moving: Tallies,
    would_move_ids: Vec<String>,
    skipped: Tally,
    failed: Vec<Failure>,
    sent_total: u64,
    first_send: Option<Instant>,
    last_ack: Option<Instant>,
    failed_batches_in_a_row: u32,
    /// The longest step so far: a step is started only when one more fits in the budget.
    longest: Duration,
}

impl<'a, Q: Queue> Run<'a, Q> {
    fn new(
        q: &'a Q,
        dlq: &'a str,
        destination: String,
        req: &'a RedriveRequest,
        budget: Budget,
        max_redrive: u32,
    ) -> Self {
        Run {
            q,
            dlq,
            destination,
            req,
            pacer: Pacer::new(req.rate_per_second),
            max_move: req.max_messages.unwrap_or(u64::MAX),
            max_redrive,
            hold: hold_secs(budget.remaining()),
            budget,
            seen: HashSet::new(),
            held: Vec::new(),
            examined: 0,
            moved: 0,
            would_move: 0,
            moving: Tallies::default(),
            would_move_ids: Vec::new(),
            skipped: Tally::new(),
            failed: Vec::new(),
            sent_total: 0,
            first_send: None,
            last_ack: None,
            failed_batches_in_a_row: 0,
            longest: Duration::ZERO,
        }
    }

    /// Messages selected so far: moved, would move (dry run), or failed.
    fn selected(&self) -> u64 {
        self.moved + self.would_move + self.failed.len() as u64
    }

    fn skip(&mut self, reason: &str, m: &Message) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
        self.held.push(m.handle());
    }

    /// Why the run stops before its next receive, if it does. At `max_messages` the run goes on
    /// receiving (and holding) only to learn whether anything else would move: it stops at the
    /// first such message, and reports complete when the queue runs out first (a confirmed
    /// redrive of exactly what its dry run found is complete, not "run again").
    fn reason_to_stop(&self) -> Option<StopReason> {
        if self.selected() >= self.max_move && self.skipped.contains_key(skip::MAX_MESSAGES) {
            Some(StopReason::MaxMessages)
        } else if !self.budget.allows(self.longest) {
            Some(StopReason::Deadline)
        } else if self.failed_batches_in_a_row >= MAX_FAILED_BATCHES_IN_A_ROW {
            Some(StopReason::DestinationError)
        } else {
            None
        }
    }

    /// The next batch; a failed receive releases what the run holds and ends it.
    async fn receive(&mut self) -> Result<Vec<Message>, Error> {
        let left = self.max_move.saturating_sub(self.selected());
        let batch = self.pacer.batch_size() as u64;
        // At the limit: a full batch, only looked at (see `reason_to_stop`).
        let want = if left == 0 { batch } else { left.min(batch) } as i32;
        match self
            .q
            .receive(self.dlq, want, self.hold, RECEIVE_WAIT_SECS)
            .await
        {
            Ok(batch) => Ok(batch),
            Err(source) => {
                release(self.q, self.dlq, &self.held).await;
                Err(Error::Interrupted {
                    action: "redrive",
                    progress: format!(
                        "moving {} messages (the others were made visible again)",
                        self.moved
                    ),
                    source,
                })
            }
        }
    }

    /// Skips, counts (dry run) or keeps for sending each message of a batch.
    fn sort(&mut self, batch: Vec<Message>, now: i64) -> Vec<(Message, Classified)> {
        let mut to_send: Vec<(Message, Classified)> = Vec::new();
        for m in batch {
            if !self.seen.insert(m.id.clone()) {
                // Received again because its hold ran out: keep holding it, count it once.
                self.held.push(m.handle());
                continue;
            }
            self.examined += 1;
            let class = classify(&m.body);
            if !self.req.filter.matches(&m, &class, now) {
                self.skip(skip::FILTER, &m);
            } else if redrive_count(&m) >= self.max_redrive {
                self.skip(skip::REDRIVE_LIMIT, &m);
            } else if self.selected() + to_send.len() as u64 >= self.max_move {
                self.skip(skip::MAX_MESSAGES, &m);
            } else if self.req.dry_run {
                self.would_move += 1;
                self.moving.add(&m, &class, now);
                if self.would_move_ids.len() < WOULD_MOVE_IDS {
                    self.would_move_ids.push(m.id.clone());
                }
                self.held.push(m.handle());
            } else {
                to_send.push((m, class));
            }
        }
        to_send
    }

    /// Sends a batch at the paced rate, then deletes what the destination acknowledged. Stops
    /// the run (holding the batch) when waiting for the pace would overrun the budget.
    async fn send(&mut self, to_send: Vec<(Message, Classified)>, now: i64) -> Option<StopReason> {
        if to_send.is_empty() {
            return None;
        }
        let delay = self.first_send.map_or(Duration::ZERO, |f| {
            self.pacer.delay(f.elapsed(), self.sent_total)
        });
        if self
            .budget
            .remaining()
            .is_some_and(|r| !fits(r, delay + self.longest, RELEASE_RESERVE))
        {
            for (m, _) in &to_send {
                self.skip(skip::DEADLINE, m);
            }
            return Some(StopReason::Deadline);
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.first_send.get_or_insert_with(Instant::now);
        let out: Vec<OutMessage> = to_send
            .iter()
            .enumerate()
            .map(|(i, (m, _))| OutMessage {
                entry_id: format!("m{i}"),
                body: m.body.clone(),
                attributes: redriven_attributes(m),
            })
            .collect();
        self.sent_total += out.len() as u64;
        match self.q.send_batch(&self.destination, &out).await {
            Err(e) => {
                self.failed_batches_in_a_row += 1;
                tracing::warn!(error = %e, count = out.len(), "destination refused a batch; the messages stay in the dead-letter queue");
                for (m, _) in &to_send {
                    self.fail(m, "send", e.to_string(), e.retryable);
                }
            }
            Ok(send_failures) => {
                self.failed_batches_in_a_row = 0;
                let mut acked = Vec::new();
                for (i, (m, class)) in to_send.iter().enumerate() {
                    let entry = format!("m{i}");
                    match send_failures.iter().find(|f| f.id == entry) {
                        Some(f) => self.fail(m, "send", f.error.clone(), f.retryable),
                        None => acked.push((m, class)),
                    }
                }
                self.last_ack = Some(Instant::now());
                self.delete(&acked, now).await;
            }
        }
        None
    }

    /// A message that stays in the dead-letter queue because a stage failed.
    fn fail(&mut self, m: &Message, stage: &str, error: String, retryable: bool) {
        self.failed.push(Failure {
            message_id: m.id.clone(),
            stage: stage.into(),
            error,
            retryable,
        });
        self.held.push(m.handle());
    }

    /// Deletes acknowledged messages; each one deleted counts as moved.
    async fn delete(&mut self, acked: &[(&Message, &Classified)], now: i64) {
        let handles: Vec<Handle> = acked.iter().map(|(m, _)| m.handle()).collect();
        let not_deleted = delete_acked(self.q, self.dlq, &handles).await;
        for (h, f) in &not_deleted {
            tracing::error!(message_id = %h.id, error = %f.error, "sent but not deleted: the message is now in both queues");
            self.failed.push(Failure {
                message_id: h.id.clone(),
                stage: "delete".into(),
                error: f.error.clone(),
                retryable: f.retryable,
            });
        }
        for (m, class) in acked {
            if !not_deleted.iter().any(|(h, _)| h.id == m.id) {
                self.moved += 1;
                self.moving.add(m, class, now);
            }
        }
    }

    /// Releases what the run holds and reports.
    async fn finish(self, stopped: StopReason) -> Result<RedriveReport, Error> {
        let release_failures = release(self.q, self.dlq, &self.held).await;
        let remaining = self
            .q
            .counts(self.dlq)
            .await
            .map_err(|source| Error::Interrupted {
                action: "redrive",
                progress: format!(
                    "moving {} messages (reading the queue depth failed)",
                    self.moved
                ),
                source,
            })?;
        let achieved_rate = match (self.first_send, self.last_ack) {
            (Some(f), Some(l)) => per_second(self.moved, l.saturating_duration_since(f)),
            _ => 0.0,
        };
        Ok(RedriveReport {
            source_queue_url: self.dlq.to_string(),
            destination_queue_url: self.destination,
            destination_from: String::new(),
            dry_run: self.req.dry_run,
            examined: self.examined,
            moved: self.moved,
            would_move: self.would_move,
            moving: self.moving,
            would_move_ids: self.would_move_ids,
            skipped: self.skipped,
            failed: self.failed,
            remaining,
            elapsed_ms: 0,
            rate_limit: self.pacer.rate(),
            achieved_rate,
            max_redrive_count: self.max_redrive,
            stopped,
            complete: stopped == StopReason::QueueEmpty,
            release_failures,
        })
    }
}
