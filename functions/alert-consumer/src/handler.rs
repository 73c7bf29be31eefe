//! The batch handler and the life of a message.
//!
//! A batch goes in three steps (twice when it holds both triggers and resolves: triggers
//! first, so that a resolve follows the triggers beside it). **Open** each message
//! concurrently (in a span with its message id and event id): parse the body (unparseable:
//! permanent failure, reported so that the queue's maxReceiveCount moves it to the DLQ) → route → claim the event (completed:
//! acknowledge; in progress elsewhere: fail, SQS retries later) → its episode (a trigger older
//! than the episode's resolve: drop; a resolve: add every receiver that got the trigger) → for
//! each receiver: skip if it already got the event, drop if silenced, drop if within the repeat
//! interval (from the alert's own time) at no higher (severity, level), else plan a send.
//! **Send** the planned sends grouped per receiver by its `group_by` (one notification listing
//! a group's alerts), each paced by the receiver's rate limit shared through Redis (waiting
//! for a slot or a short `Retry-After` within the invocation), and remember each member's
//! delivery once its group went out. **Finish** each message: complete when every receiver is
//! done; else release it and fail, or, when every receiver that failed asked to wait, defer it
//! (back to the alerts queue with a delay, [`crate::forward`]). A message failing on its final
//! receive goes to the DLQ with its `failureReason`.

use crate::alerting::noise::{self, Repeat};
use crate::alerting::{AlertView, LastSent, Target, Text, group, silence};
use crate::clock::{Clock, SystemClock};
use crate::config::RoutesFile;
use crate::forward::{self, Queues};
use crate::http::HttpSender;
use crate::metrics::{Metrics, Suppression};
use crate::receivers::{Configured, Message, Notification};
use crate::retry::Failure;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use pulse_core::event::SqsAlertBody;
use pulse_core::ports::PortError;
use pulse_core::ports::{AlertStore, Claim, Lease};
use pulse_core::rate::Slot;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Everything a message needs, built once per container by [`crate::startup`].
#[derive(Debug)]
pub struct App<S> {
    pub routes: RoutesFile,
    pub receivers: BTreeMap<String, Configured>,
    pub store: S,
    pub http: HttpSender,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// Silences added with `pulse silence` (besides the routes file's).
    pub silences: crate::silences::SilenceCache,
    /// The alerts queue (deferrals) and the DLQ (final failures with their reason).
    pub queues: Queues,
}

/// Why a message is reported failed.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("unparseable body: {0}")]
    Invalid(String),
    #[error("event {0} is being delivered by another invocation")]
    InProgress(String),
    #[error("store: {0}")]
    Store(#[from] PortError),
    #[error("delivery failed for {failed} of {total} receivers: {summary}")]
    Delivery {
        failed: usize,
        total: usize,
        /// Whether any failure may pass on a retry (else all were permanent, e.g. HTTP 400).
        retryable: bool,
        summary: String,
    },
}

impl MessageError {
    pub fn is_retryable(&self) -> bool {
        match self {
            MessageError::Invalid(_) => false,
            MessageError::InProgress(_) => true,
            MessageError::Store(e) => e.retryable,
            MessageError::Delivery { retryable, .. } => *retryable,
        }
    }
}

/// What became of a message that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered to `sent` receivers; the others were suppressed.
    Done { sent: usize, suppressed: usize },
    /// Receivers asked to wait: sent back to the alerts queue, delivered after `delay_secs`.
    Deferred { delay_secs: u32 },
    /// Failed on its final receive: sent to the DLQ with its reason.
    DeadLettered,
    /// Already delivered before: acknowledged, nothing sent.
    Duplicate,
    /// A trigger older than its episode's newest resolve: acknowledged, nothing sent.
    Stale,
}

enum TargetResult {
    Sent,
    Suppressed,
    Failed(Failure),
    /// The receiver's rate limit has no slot within the wait the invocation can afford.
    Paced(Duration),
}

/// A send decided for one receiver of one message, waiting for its group.
struct Plan {
    escalation: bool,
    last: Option<LastSent>,
    late: Option<Duration>,
    text: Text,
}

/// A message past its claim: what each of its targets became, or is planned to become.
struct Open<'m> {
    message: &'m SqsMessage,
    span: tracing::Span,
    body: SqsAlertBody,
    view: AlertView,
    lease: Lease,
    targets: Vec<Target>,
    results: Vec<Option<TargetResult>>,
    plans: Vec<Option<Plan>>,
}

enum Opened<'m> {
    Finished(Result<Outcome, MessageError>),
    Open(Box<Open<'m>>),
}

/// One planned send: (message, target) indexes into the opened messages.
type Member = (usize, usize);

impl<S: AlertStore> App<S> {
    /// Handles a batch; `deadline` is when the Lambda invocation times out.
    pub async fn handle(&self, event: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
        let results = self.handle_messages(&event.records, deadline).await;
        let mut response = SqsBatchResponse::default();
        for (message, result) in event.records.iter().zip(results) {
            let message_id = message.message_id.clone().unwrap_or_default();
            let result = match result {
                Err(e) => self.dead_letter(message, e).await,
                ok => ok,
            };
            let span = tracing::info_span!("message", message_id = %message_id);
            let _entered = span.enter();
            match &result {
                Ok(outcome) => tracing::info!(?outcome, "message done"),
                Err(e) => {
                    tracing::warn!(error = %e, retryable = e.is_retryable(), "message failed")
                }
            }
            if result.is_err() {
                // An empty id makes Lambda retry the whole batch, which is safe (idempotent).
                response.add_failure(message_id);
            }
        }
        self.metrics.flush(self.clock.now_ms());
        response
    }

    /// One message, start to end, as a batch of one (no dead-lettering: the error as is).
    pub async fn handle_message(
        &self,
        message: &SqsMessage,
        deadline: Option<Instant>,
    ) -> Result<Outcome, MessageError> {
        self.handle_messages(std::slice::from_ref(message), deadline)
            .await
            .pop()
            .unwrap_or(Ok(Outcome::Duplicate))
    }

    /// One result per message, in order. A batch holding both triggers and resolves goes in
    /// two rounds, triggers first: a resolve then finds every receiver its episode's triggers
    /// in the same batch reached, and a trigger is never dropped as stale because a resolve
    /// beside it happened to be opened first.
    pub async fn handle_messages(
        &self,
        messages: &[SqsMessage],
        deadline: Option<Instant>,
    ) -> Vec<Result<Outcome, MessageError>> {
        let (resolves, triggers): (Vec<usize>, Vec<usize>) = (0..messages.len()).partition(|&i| {
            parse(&messages[i]).is_ok_and(|b| AlertView::from_body(&b).is_resolve())
        });
        let mut results = Vec::with_capacity(messages.len());
        for round in [triggers, resolves] {
            if round.is_empty() {
                continue;
            }
            let batch: Vec<&SqsMessage> = round.iter().map(|&i| &messages[i]).collect();
            let done = self.handle_round(&batch, deadline).await;
            results.extend(round.into_iter().zip(done));
        }
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    /// Open, send (grouped, paced), finish: one result per message, in order.
    async fn handle_round(
        &self,
        messages: &[&SqsMessage],
        deadline: Option<Instant>,
    ) -> Vec<Result<Outcome, MessageError>> {
        let now_ms = self.clock.now_ms();
        let opened = join_all(messages.iter().map(|&message| {
            let span = tracing::info_span!(
                "message",
                message_id = %message.message_id.as_deref().unwrap_or_default(),
                event_id = tracing::field::Empty
            );
            self.open(message, now_ms, span.clone()).instrument(span)
        }))
        .await;
        let mut finished: Vec<Option<Result<Outcome, MessageError>>> = Vec::new();
        let mut open: Vec<Option<Box<Open<'_>>>> = Vec::new();
        for o in opened {
            match o {
                Opened::Finished(r) => {
                    finished.push(Some(r));
                    open.push(None);
                }
                Opened::Open(o) => {
                    finished.push(None);
                    open.push(Some(o));
                }
            }
        }

        // Group the planned sends per (receiver, group key), in batch order.
        let mut members: Vec<Member> = Vec::new();
        let mut keys: Vec<(String, String)> = Vec::new();
        for (mi, o) in open.iter().enumerate() {
            let Some(o) = o else { continue };
            for (ti, plan) in o.plans.iter().enumerate() {
                if plan.is_none() {
                    continue;
                }
                let name = o.targets[ti].receiver.clone();
                let fields = self
                    .receivers
                    .get(&name)
                    .and_then(|r| r.group_by.as_deref());
                keys.push((name, group::key(&o.view, fields)));
                members.push((mi, ti));
            }
        }
        let groups: Vec<Vec<Member>> = group::groups(&keys)
            .into_iter()
            .map(|g| g.into_iter().map(|i| members[i]).collect())
            .collect();
        let sent = join_all(
            groups
                .iter()
                .map(|g| self.send_group(&open, g, now_ms, deadline)),
        )
        .await;
        for ((mi, ti), result) in sent.into_iter().flatten() {
            if let Some(o) = open[mi].as_mut() {
                o.results[ti] = Some(result);
            }
        }

        let done = join_all(open.into_iter().map(|o| async move {
            match o {
                Some(o) => {
                    let span = o.span.clone();
                    Some(self.finish(*o).instrument(span).await)
                }
                None => None,
            }
        }))
        .await;
        finished
            .into_iter()
            .zip(done)
            .map(|(f, d)| f.or(d).unwrap_or(Ok(Outcome::Duplicate)))
            .collect()
    }

    /// Parse, route, claim, episode, and each target's decision.
    async fn open<'m>(
        &self,
        message: &'m SqsMessage,
        now_ms: i64,
        span: tracing::Span,
    ) -> Opened<'m> {
        let body = match parse(message) {
            Ok(b) => b,
            Err(e) => {
                self.metrics.invalid_message(&e.to_string());
                return Opened::Finished(Err(e));
            }
        };
        let event_id = body.event.event_id.to_string();
        tracing::Span::current().record("event_id", event_id.as_str());
        let view = AlertView::from_body(&body);
        let defaults = &self.routes.defaults;
        let targets = self.routes.route.targets(&view, defaults.repeat_interval.0);

        let lease = match self
            .store
            .claim(&event_id, defaults.in_progress_ttl.0)
            .await
        {
            Err(e) => return Opened::Finished(Err(e.into())),
            Ok(Claim::Completed) => {
                for t in &targets {
                    self.metrics.suppressed(
                        &t.receiver,
                        Suppression::Dedup,
                        "event already delivered",
                    );
                }
                return Opened::Finished(Ok(Outcome::Duplicate));
            }
            Ok(Claim::InProgress) => {
                return Opened::Finished(Err(MessageError::InProgress(event_id)));
            }
            Ok(Claim::Acquired(lease)) => lease,
        };
        let (targets, notified) = match self.episode(&view, targets, &lease).await {
            Ok(Some(t)) => t,
            Ok(None) => return Opened::Finished(Ok(Outcome::Stale)),
            Err(e) => {
                self.release(&lease).await;
                return Opened::Finished(Err(e));
            }
        };
        let decisions = join_all(targets.iter().map(|t| {
            let got_trigger = notified.contains(&t.receiver);
            self.decide(t, &view, &lease, got_trigger, now_ms)
        }))
        .await;
        let mut results = Vec::new();
        let mut plans = Vec::new();
        for d in decisions {
            match d {
                Ok(plan) => {
                    results.push(None);
                    plans.push(Some(plan));
                }
                Err(r) => {
                    results.push(Some(r));
                    plans.push(None);
                }
            }
        }
        Opened::Open(Box::new(Open {
            message,
            span,
            body,
            view,
            lease,
            targets,
            results,
            plans,
        }))
    }

    /// The episode's part: a trigger older than the episode's newest resolve is dropped
    /// (`None`, the event completed); a resolve also goes to every receiver that got a trigger
    /// of the episode up to it (it is noted once delivered, in [`Self::finish`]). Returns the
    /// targets and those receivers.
    async fn episode(
        &self,
        view: &AlertView,
        mut targets: Vec<Target>,
        lease: &Lease,
    ) -> Result<Option<(Vec<Target>, BTreeSet<String>)>, MessageError> {
        if view.rule.is_none() {
            return Ok(Some((targets, BTreeSet::new())));
        }
        let (key, rule) = (view.key.as_str(), view.episode_rule());
        let episode = self.store.episode(key, rule).await?;
        let at = view.timestamp_ms;
        let defaults = &self.routes.defaults;
        if !view.is_resolve() {
            if let Some(resolved_at) = episode.resolved_at.filter(|r| at < *r) {
                for t in &targets {
                    self.metrics.suppressed(
                        &t.receiver,
                        Suppression::Stale,
                        &format!("trigger at {at} ms is older than its episode's resolve at {resolved_at} ms"),
                    );
                }
                self.store.complete(lease, defaults.completed_ttl.0).await?;
                return Ok(None);
            }
            return Ok(Some((targets, BTreeSet::new())));
        }
        let notified: BTreeSet<String> = episode
            .notified
            .into_iter()
            .filter(|(_, t)| *t <= at)
            .map(|(r, _)| r)
            // A receiver no longer configured cannot be told.
            .filter(|r| self.receivers.contains_key(r))
            .collect();
        for r in &notified {
            if !targets.iter().any(|t| &t.receiver == r) {
                targets.push(Target {
                    receiver: r.clone(),
                    repeat_interval: defaults.repeat_interval.0,
                });
            }
        }
        Ok(Some((targets, notified)))
    }

    /// Completes the event when every target is done; else releases it and fails, or defers
    /// it when every receiver that failed asked to wait.
    async fn finish(&self, o: Open<'_>) -> Result<Outcome, MessageError> {
        let defaults = &self.routes.defaults;
        let mut failures: Vec<(&str, Failure)> = Vec::new();
        let mut waits: Vec<(&str, Option<Duration>)> = Vec::new();
        let (mut sent, mut suppressed) = (0, 0);
        for (t, r) in o.targets.iter().zip(o.results) {
            let name = t.receiver.as_str();
            match r {
                Some(TargetResult::Sent) => sent += 1,
                Some(TargetResult::Suppressed) => suppressed += 1,
                Some(TargetResult::Paced(wait)) => {
                    waits.push((name, Some(wait)));
                    failures.push((
                        name,
                        Failure::Retryable {
                            reason: format!(
                                "rate limit reached, next slot in {} ms",
                                wait.as_millis()
                            ),
                            retry_after: Some(wait),
                        },
                    ));
                }
                Some(TargetResult::Failed(f)) => {
                    let wait = match &f {
                        Failure::Retryable { retry_after, .. } => *retry_after,
                        Failure::Permanent { .. } => None,
                    };
                    waits.push((name, wait));
                    failures.push((name, f));
                }
                None => failures.push((name, Failure::retryable("not sent (internal)"))),
            }
        }
        // A resolve some receiver saw makes older triggers of its episode stale; one nobody
        // saw yet does not, so a trigger retried meanwhile still goes out before it.
        if o.view.is_resolve() && o.view.rule.is_some() && (sent > 0 || failures.is_empty()) {
            self.store
                .note_resolve(
                    &o.view.key,
                    o.view.episode_rule(),
                    o.view.timestamp_ms,
                    defaults.completed_ttl.0,
                )
                .await?;
        }
        if failures.is_empty() {
            if o.view.is_resolve() {
                self.store
                    .close_episode(&o.view.key, o.view.episode_rule(), o.view.timestamp_ms)
                    .await?;
            }
            self.store
                .complete(&o.lease, defaults.completed_ttl.0)
                .await?;
            return Ok(Outcome::Done { sent, suppressed });
        }
        self.release(&o.lease).await;
        let error = MessageError::Delivery {
            failed: failures.len(),
            total: o.targets.len(),
            retryable: failures.iter().any(|(_, f)| f.is_retryable()),
            summary: failures
                .iter()
                .map(|(r, f)| format!("{r}: {f}"))
                .collect::<Vec<_>>()
                .join("; "),
        };
        // Deferred only when every failed receiver asked to wait, and not too often.
        let wait = waits
            .iter()
            .map(|(_, w)| *w)
            .collect::<Option<Vec<_>>>()
            .and_then(|w| w.into_iter().max());
        let (Some(wait), Some((sqs, url))) = (wait, self.queues.deferral()) else {
            return Err(error);
        };
        let deferrals = forward::deferrals(o.message);
        if deferrals >= defaults.max_deferrals {
            tracing::warn!(
                deferrals,
                "deferred {deferrals} times already (max_deferrals): failing the message instead"
            );
            return Err(error);
        }
        let delay_secs = forward::delay_secs(wait);
        let attributes = forward::deferred_attributes(o.message);
        let body = o.message.body.as_deref().unwrap_or_default();
        if let Err(e) = sqs.send(url, body, &attributes, delay_secs).await {
            tracing::warn!(error = %e, "deferral not sent: the message fails instead");
            return Err(error);
        }
        for (name, _) in &waits {
            self.metrics.deferred(
                name,
                Duration::from_secs(u64::from(delay_secs)),
                &error.to_string(),
            );
        }
        Ok(Outcome::Deferred { delay_secs })
    }

    /// A failed message on its final receive goes to the DLQ with its reason and counts as
    /// done; else (or if that send fails) it stays failed.
    async fn dead_letter(
        &self,
        message: &SqsMessage,
        error: MessageError,
    ) -> Result<Outcome, MessageError> {
        let Some((sqs, url)) = self.queues.dead_letter() else {
            return Err(error);
        };
        let count = forward::receive_count(message);
        if count < self.queues.max_receive_count {
            return Err(error);
        }
        let reason = error.to_string();
        let attributes = forward::dead_letter_attributes(message, &reason);
        let body = message.body.as_deref().unwrap_or_default();
        match sqs.send(url, body, &attributes, 0).await {
            Ok(()) => {
                tracing::error!(
                    message_id = message.message_id.as_deref().unwrap_or_default(),
                    receive_count = count,
                    reason,
                    "final receive failed: sent to the dead-letter queue with its failureReason"
                );
                Ok(Outcome::DeadLettered)
            }
            Err(e) => {
                tracing::warn!(error = %e, "dead letter not sent: SQS's redrive policy moves it, without a reason");
                Err(error)
            }
        }
    }

    async fn release(&self, lease: &Lease) {
        if let Err(e) = self.store.release(lease).await {
            // The marker expires by itself after its TTL; the message fails either way.
            tracing::warn!(error = %e, "in-progress marker not released");
        }
    }

    /// One receiver's decision: skip, silence, repeat interval, or a plan to send.
    /// `got_trigger`: it got a trigger of the episode this resolve ends, so it gets the
    /// resolve whatever silences say (it closes what it opened).
    async fn decide(
        &self,
        target: &Target,
        view: &AlertView,
        lease: &Lease,
        got_trigger: bool,
        now_ms: i64,
    ) -> Result<Plan, TargetResult> {
        let name = target.receiver.as_str();
        if lease.delivered.contains(name) {
            self.metrics
                .suppressed(name, Suppression::Dedup, "receiver already got this event");
            return Err(TargetResult::Suppressed);
        }
        if !got_trigger && let Some(s) = silence::find(&self.routes.silences, view, name, now_ms) {
            self.metrics
                .suppressed(name, Suppression::Silence, &s.comment);
            return Err(TargetResult::Suppressed);
        }
        if let Some(s) = self.silences.find(view, now_ms).await {
            let detail = format!("silence {} by {}: {}", s.id, s.author, s.comment);
            self.metrics.suppressed(name, Suppression::Silence, &detail);
            self.silences.count_hit(&s.id).await;
            return Err(TargetResult::Suppressed);
        }
        let rule = view.rule_name();
        let mut last = None;
        let mut escalation = false;
        // A resolve is never held back by the repeat interval.
        if !view.is_resolve() {
            last = match self.store.last_sent(name, &view.key, rule).await {
                Ok(last) => last,
                Err(e) => return Err(self.fail(name, Failure::retryable(e.to_string()))),
            };
            match noise::decide(
                last.as_ref(),
                view.severity,
                view.level,
                view.timestamp_ms,
                target.repeat_interval,
            ) {
                Repeat::Suppress { until_ms } => {
                    self.metrics.suppressed(
                        name,
                        Suppression::Cooldown,
                        &format!("repeat interval runs until {until_ms} ms"),
                    );
                    return Err(TargetResult::Suppressed);
                }
                Repeat::Send { escalation: e } => escalation = e,
            }
        }
        let Some(receiver) = self.receivers.get(name) else {
            // Startup checks every routed receiver exists; this is a bug, not a retry.
            return Err(self.fail(name, Failure::permanent("receiver not configured")));
        };
        let templates = receiver
            .templates
            .as_ref()
            .unwrap_or(&self.routes.templates);
        let text = templates.render(view, &self.routes.links);
        let age = Duration::from_millis(u64::try_from(now_ms - view.timestamp_ms).unwrap_or(0));
        let late = (age > self.routes.defaults.max_age.0).then_some(age);
        Ok(Plan {
            escalation,
            last,
            late,
            text,
        })
    }

    /// Sends one group (one notification listing its members, or one per member for a
    /// channel that does not group), then remembers each member's delivery.
    async fn send_group(
        &self,
        open: &[Option<Box<Open<'_>>>],
        members: &[Member],
        now_ms: i64,
        deadline: Option<Instant>,
    ) -> Vec<(Member, TargetResult)> {
        let mut items = Vec::new();
        for &(mi, ti) in members {
            if let Some(o) = open[mi].as_deref()
                && let Some(plan) = &o.plans[ti]
            {
                items.push(((mi, ti), o, plan));
            }
        }
        let Some(&(_, first, _)) = items.first() else {
            return Vec::new();
        };
        let name = first.targets[members[0].1].receiver.as_str();
        let Some(receiver) = self.receivers.get(name) else {
            let f = Failure::permanent("receiver not configured");
            return items
                .iter()
                .map(|(m, ..)| (*m, self.fail(name, f.clone())))
                .collect();
        };
        let notifications: Vec<Notification<'_>> = items
            .iter()
            .map(|(_, o, plan)| Notification {
                view: &o.view,
                event: &o.body.event,
                text: &plan.text,
                escalation: plan.escalation,
                late: plan.late,
                sent_at_ms: now_ms,
            })
            .collect();
        let grouped = if notifications.len() > 1 {
            receiver.group_message(&notifications)
        } else {
            None
        };
        let event_ids: Vec<String> = items
            .iter()
            .map(|(_, o, _)| o.view.event_id.to_string())
            .collect();
        let mut out = Vec::new();
        match grouped {
            Some(request) => {
                let span = tracing::info_span!("group", receiver = name, alerts = items.len(), event_ids = %event_ids.join(","));
                let result = self
                    .send_paced(receiver, &request, deadline)
                    .instrument(span)
                    .await;
                for (member, o, plan) in &items {
                    let r = self.record(receiver, o, plan, member.1, &result).await;
                    out.push((*member, r));
                }
            }
            None => {
                // One request each (a group of one, or a channel that does not group).
                let results = join_all(items.iter().zip(&notifications).map(
                    |((member, o, plan), n)| {
                        let request = receiver.message(n);
                        let span = o.span.clone();
                        async move {
                            let result = self.send_paced(receiver, &request, deadline).await;
                            (
                                *member,
                                self.record(receiver, o, plan, member.1, &result).await,
                            )
                        }
                        .instrument(span)
                    },
                ))
                .await;
                out.extend(results);
            }
        }
        out
    }

    /// After a send: remembers a delivered member (the delivered receivers of its event, the
    /// repeat interval, its episode), or says why it was not delivered.
    async fn record(
        &self,
        receiver: &Configured,
        o: &Open<'_>,
        plan: &Plan,
        ti: usize,
        result: &Result<Duration, SendError>,
    ) -> TargetResult {
        let name = receiver.name.as_str();
        let latency = match result {
            Ok(latency) => *latency,
            Err(SendError::Paced(wait)) => return TargetResult::Paced(*wait),
            Err(SendError::Failed(f)) => return self.fail(name, f.clone()),
        };
        let (escalation, late) = (plan.escalation, plan.late);
        let ttl = self.routes.defaults.completed_ttl.0;
        if let Err(e) = self.store.mark_delivered(&o.lease, name, ttl).await {
            // Delivered but not remembered: a retry may send it again (the Idempotency-Key
            // lets a webhook drop it). Failing is the honest answer.
            self.metrics.delivered(name, latency, escalation, late);
            return self.fail(name, Failure::retryable(e.to_string()));
        }
        if let Err(e) = self.remember(&o.targets[ti], &o.view, plan.last).await {
            // The receiver has it and it is remembered, so the retry this failure causes will
            // skip it; reporting success would hide a broken store.
            self.metrics.delivered(name, latency, escalation, late);
            return self.fail(name, Failure::retryable(e.to_string()));
        }
        self.metrics.delivered(name, latency, escalation, late);
        TargetResult::Sent
    }

    /// Sends `request` within the receiver's rate limit: waits for a slot (shared through
    /// Redis, on the wall clock) when it comes within the time the invocation can afford,
    /// and waits once for a short `Retry-After`. The time spent sending on success.
    async fn send_paced(
        &self,
        receiver: &Configured,
        request: &Message<'_>,
        deadline: Option<Instant>,
    ) -> Result<Duration, SendError> {
        let mut retried = false;
        loop {
            let max_wait = self.max_wait(receiver.timeout, deadline);
            let now_ms = SystemClock.now_ms();
            match self
                .store
                .reserve_slot(&receiver.name, receiver.rate, now_ms, max_wait)
                .await
            {
                Ok(Slot::Reserved(wait)) => {
                    if !wait.is_zero() {
                        tracing::debug!(
                            wait_ms = wait.as_millis() as u64,
                            "waiting for a rate-limit slot"
                        );
                        tokio::time::sleep(wait).await;
                    }
                }
                Ok(Slot::Full(wait)) => return Err(SendError::Paced(wait)),
                Err(e) => return Err(SendError::Failed(Failure::retryable(e.to_string()))),
            }
            let started = Instant::now();
            match receiver.deliver(request, &self.http).await {
                Ok(()) => return Ok(started.elapsed()),
                Err(Failure::Retryable {
                    retry_after: Some(wait),
                    ..
                }) if !retried && self.may_wait(wait, receiver.timeout, deadline) => {
                    tracing::info!(
                        receiver = receiver.name,
                        wait_ms = wait.as_millis() as u64,
                        "honouring Retry-After"
                    );
                    tokio::time::sleep(wait).await;
                    retried = true;
                }
                Err(f) => return Err(SendError::Failed(f)),
            }
        }
    }

    /// After a delivery: a trigger starts the repeat interval and joins the receiver to its
    /// episode; a resolve ends the receiver's repeat interval for the episode (the next
    /// trigger is news).
    async fn remember(
        &self,
        target: &Target,
        view: &AlertView,
        last: Option<LastSent>,
    ) -> Result<(), PortError> {
        let name = target.receiver.as_str();
        if view.is_resolve() {
            return self
                .store
                .forget_sent(name, &view.key, view.episode_rule())
                .await;
        }
        // The repeat interval runs from the alert's own time; an alert older than what the
        // receiver last got (a redrive) does not move it back.
        if last.is_none_or(|l| view.timestamp_ms >= l.at_ms) {
            let sent = LastSent {
                severity: view.severity,
                level: view.level,
                at_ms: view.timestamp_ms,
            };
            let keep = target.repeat_interval + Duration::from_secs(60);
            self.store
                .record_sent(name, &view.key, view.rule_name(), sent, keep)
                .await?;
        }
        if view.rule.is_some() {
            let ttl = self.routes.defaults.completed_ttl.0;
            self.store
                .note_trigger(&view.key, view.episode_rule(), name, view.timestamp_ms, ttl)
                .await?;
        }
        Ok(())
    }

    fn fail(&self, receiver: &str, failure: Failure) -> TargetResult {
        self.metrics.failed(receiver, &failure);
        TargetResult::Failed(failure)
    }

    /// The longest wait (for a rate-limit slot) the invocation can afford before a send:
    /// `max_retry_after`, less when the deadline is nearer.
    fn max_wait(&self, timeout: Duration, deadline: Option<Instant>) -> Duration {
        let limit = self.routes.defaults.max_retry_after.0;
        let margin = Duration::from_secs(1);
        match deadline {
            None => limit,
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .saturating_sub(timeout + margin)
                .min(limit),
        }
    }

    /// Whether waiting `wait` then sending again fits in the remaining time.
    fn may_wait(&self, wait: Duration, timeout: Duration, deadline: Option<Instant>) -> bool {
        if wait > self.routes.defaults.max_retry_after.0 {
            return false;
        }
        let margin = Duration::from_secs(1);
        deadline.is_none_or(|d| Instant::now() + wait + timeout + margin < d)
    }
}

/// Why a send did not go out.
#[derive(Debug, Clone)]
enum SendError {
    /// No rate-limit slot within the affordable wait; the next one frees after this.
    Paced(Duration),
    Failed(Failure),
}

/// The message body as the SPEC shapes it.
pub fn parse(message: &SqsMessage) -> Result<SqsAlertBody, MessageError> {
    let body = message
        .body
        .as_deref()
        .ok_or_else(|| MessageError::Invalid("no body".into()))?;
    serde_json::from_str(body).map_err(|e| MessageError::Invalid(e.to_string()))
}
