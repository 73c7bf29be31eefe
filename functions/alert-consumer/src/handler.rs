//! The batch handler and the life of one message.
//!
//! A batch's messages are handled concurrently, each in a span with its message id and event
//! id; the response lists only the messages that failed (partial batch failures). One
//! message: parse the body (unparseable: permanent failure, reported so that the queue's
//! maxReceiveCount moves it to the DLQ) → route → claim the event (completed: acknowledge;
//! in progress elsewhere: fail, SQS retries later) → its episode (a trigger older than the
//! episode's resolve: drop; a resolve: add every receiver that got the trigger) → for each
//! receiver, concurrently: skip if it already got the event, drop if silenced, drop if within
//! the repeat interval (from the alert's own time) at no higher (severity, level), else
//! deliver (marked late past `max_age`; waiting once for a short `Retry-After`) and remember →
//! complete when every receiver is done, else release and fail.

use crate::alerting::noise::{self, Repeat};
use crate::alerting::{AlertView, LastSent, Target, silence};
use crate::clock::Clock;
use crate::config::RoutesFile;
use crate::http::HttpSender;
use crate::metrics::{Metrics, Suppression};
use crate::receivers::{Configured, Notification};
use crate::retry::Failure;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use pulse_core::event::SqsAlertBody;
use pulse_core::ports::PortError;
use pulse_core::ports::{AlertStore, Claim, Lease};
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
    /// Already delivered before: acknowledged, nothing sent.
    Duplicate,
    /// A trigger older than its episode's newest resolve: acknowledged, nothing sent.
    Stale,
}

enum TargetResult {
    Sent,
    Suppressed,
    Failed(Failure),
}

impl<S: AlertStore> App<S> {
    /// Handles a batch; `deadline` is when the Lambda invocation times out.
    pub async fn handle(&self, event: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
        let results = join_all(event.records.iter().map(|message| {
            let message_id = message.message_id.clone().unwrap_or_default();
            let span = tracing::info_span!(
                "message",
                message_id = %message_id,
                event_id = tracing::field::Empty
            );
            async move {
                let result = self.handle_message(message, deadline).await;
                match &result {
                    Ok(outcome) => tracing::info!(?outcome, "message done"),
                    Err(e) => {
                        tracing::warn!(error = %e, retryable = e.is_retryable(), "message failed")
                    }
                }
                (message_id, result)
            }
            .instrument(span)
        }))
        .await;
        let mut response = SqsBatchResponse::default();
        for (message_id, result) in results {
            if result.is_err() {
                // An empty id makes Lambda retry the whole batch, which is safe (idempotent).
                response.add_failure(message_id);
            }
        }
        self.metrics.flush(self.clock.now_ms());
        response
    }

    /// One message, start to end.
    pub async fn handle_message(
        &self,
        message: &SqsMessage,
        deadline: Option<Instant>,
    ) -> Result<Outcome, MessageError> {
        let body = parse(message).inspect_err(|e| self.metrics.invalid_message(&e.to_string()))?;
        let event_id = body.event.event_id.to_string();
        tracing::Span::current().record("event_id", event_id.as_str());
        let view = AlertView::from_body(&body);
        let defaults = &self.routes.defaults;
        let targets = self.routes.route.targets(&view, defaults.repeat_interval.0);

        let lease = match self
            .store
            .claim(&event_id, defaults.in_progress_ttl.0)
            .await?
        {
            Claim::Completed => {
                for t in &targets {
                    self.metrics.suppressed(
                        &t.receiver,
                        Suppression::Dedup,
                        "event already delivered",
                    );
                }
                return Ok(Outcome::Duplicate);
            }
            Claim::InProgress => return Err(MessageError::InProgress(event_id)),
            Claim::Acquired(lease) => lease,
        };
        match self.episode(&view, targets, &lease).await {
            Ok(Some((targets, notified))) => {
                self.deliver_all(&view, &body, &lease, &targets, &notified, deadline)
                    .await
            }
            Ok(None) => Ok(Outcome::Stale),
            Err(e) => {
                self.release(&lease).await;
                Err(e)
            }
        }
    }

    /// The episode's part: a trigger older than the episode's newest resolve is dropped
    /// (`None`, the event completed); a resolve is noted and also goes to every receiver that
    /// got a trigger of the episode up to it. Returns the targets and those receivers.
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
        self.store
            .note_resolve(key, rule, at, defaults.completed_ttl.0)
            .await?;
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

    /// Delivers to every target; completes the event when all are done, else releases it.
    async fn deliver_all(
        &self,
        view: &AlertView,
        body: &SqsAlertBody,
        lease: &Lease,
        targets: &[Target],
        notified: &BTreeSet<String>,
        deadline: Option<Instant>,
    ) -> Result<Outcome, MessageError> {
        let defaults = &self.routes.defaults;
        let now_ms = self.clock.now_ms();
        let results = join_all(targets.iter().map(|t| {
            let got_trigger = notified.contains(&t.receiver);
            self.deliver(t, view, body, lease, got_trigger, now_ms, deadline)
        }))
        .await;

        let mut failures = Vec::new();
        let (mut sent, mut suppressed) = (0, 0);
        for (t, r) in targets.iter().zip(results) {
            match r {
                TargetResult::Sent => sent += 1,
                TargetResult::Suppressed => suppressed += 1,
                TargetResult::Failed(f) => failures.push((t.receiver.as_str(), f)),
            }
        }
        if failures.is_empty() {
            if view.is_resolve() {
                self.store
                    .close_episode(&view.key, view.episode_rule(), view.timestamp_ms)
                    .await?;
            }
            self.store.complete(lease, defaults.completed_ttl.0).await?;
            return Ok(Outcome::Done { sent, suppressed });
        }
        self.release(lease).await;
        Err(MessageError::Delivery {
            failed: failures.len(),
            total: targets.len(),
            retryable: failures.iter().any(|(_, f)| f.is_retryable()),
            summary: failures
                .iter()
                .map(|(r, f)| format!("{r}: {f}"))
                .collect::<Vec<_>>()
                .join("; "),
        })
    }

    async fn release(&self, lease: &Lease) {
        if let Err(e) = self.store.release(lease).await {
            // The marker expires by itself after its TTL; the message fails either way.
            tracing::warn!(error = %e, "in-progress marker not released");
        }
    }

    /// One receiver. `got_trigger`: it got a trigger of the episode this resolve ends, so it
    /// gets the resolve whatever silences say (it closes what it opened).
    #[allow(clippy::too_many_arguments)]
    async fn deliver(
        &self,
        target: &Target,
        view: &AlertView,
        body: &SqsAlertBody,
        lease: &Lease,
        got_trigger: bool,
        now_ms: i64,
        deadline: Option<Instant>,
    ) -> TargetResult {
        let name = target.receiver.as_str();
        if lease.delivered.contains(name) {
            self.metrics
                .suppressed(name, Suppression::Dedup, "receiver already got this event");
            return TargetResult::Suppressed;
        }
        if !got_trigger && let Some(s) = silence::find(&self.routes.silences, view, name, now_ms) {
            self.metrics
                .suppressed(name, Suppression::Silence, &s.comment);
            return TargetResult::Suppressed;
        }
        if let Some(s) = self.silences.find(view, now_ms).await {
            let detail = format!("silence {} by {}: {}", s.id, s.author, s.comment);
            self.metrics.suppressed(name, Suppression::Silence, &detail);
            self.silences.count_hit(&s.id).await;
            return TargetResult::Suppressed;
        }
        let rule = view.rule_name();
        let mut last = None;
        let mut escalation = false;
        // A resolve is never held back by the repeat interval.
        if !view.is_resolve() {
            last = match self.store.last_sent(name, &view.key, rule).await {
                Ok(last) => last,
                Err(e) => return self.fail(name, Failure::retryable(e.to_string())),
            };
            let at = view.timestamp_ms;
            match noise::decide(
                last.as_ref(),
                view.severity,
                view.level,
                at,
                target.repeat_interval,
            ) {
                Repeat::Suppress { until_ms } => {
                    self.metrics.suppressed(
                        name,
                        Suppression::Cooldown,
                        &format!("repeat interval runs until {until_ms} ms"),
                    );
                    return TargetResult::Suppressed;
                }
                Repeat::Send { escalation: e } => escalation = e,
            }
        }
        let Some(receiver) = self.receivers.get(name) else {
            // Startup checks every routed receiver exists; this is a bug, not a retry.
            return self.fail(name, Failure::permanent("receiver not configured"));
        };
        let templates = receiver
            .templates
            .as_ref()
            .unwrap_or(&self.routes.templates);
        let text = templates.render(view, &self.routes.links);
        let age = Duration::from_millis(u64::try_from(now_ms - view.timestamp_ms).unwrap_or(0));
        let late = (age > self.routes.defaults.max_age.0).then_some(age);
        let notification = Notification {
            view,
            event: &body.event,
            text: &text,
            escalation,
            late,
            sent_at_ms: now_ms,
        };

        let started = Instant::now();
        let mut result = receiver.send(&notification, &self.http).await;
        if let Err(Failure::Retryable {
            retry_after: Some(wait),
            ..
        }) = &result
            && self.may_wait(*wait, receiver.timeout, deadline)
        {
            tracing::info!(
                receiver = name,
                wait_ms = wait.as_millis() as u64,
                "honouring Retry-After"
            );
            tokio::time::sleep(*wait).await;
            result = receiver.send(&notification, &self.http).await;
        }
        if let Err(f) = result {
            return self.fail(name, f);
        }
        let latency = started.elapsed();

        let ttl = self.routes.defaults.completed_ttl.0;
        if let Err(e) = self.store.mark_delivered(lease, name, ttl).await {
            // Delivered but not remembered: a retry may send it again (the Idempotency-Key
            // lets a webhook drop it). Failing is the honest answer.
            self.metrics.delivered(name, latency, escalation, late);
            return self.fail(name, Failure::retryable(e.to_string()));
        }
        if let Err(e) = self.remember(target, view, last).await {
            // The receiver has it and it is remembered, so the retry this failure causes will
            // skip it; reporting success would hide a broken store.
            self.metrics.delivered(name, latency, escalation, late);
            return self.fail(name, Failure::retryable(e.to_string()));
        }
        self.metrics.delivered(name, latency, escalation, late);
        TargetResult::Sent
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

    /// Whether waiting `wait` then sending again fits in the remaining time.
    fn may_wait(&self, wait: Duration, timeout: Duration, deadline: Option<Instant>) -> bool {
        if wait > self.routes.defaults.max_retry_after.0 {
            return false;
        }
        let margin = Duration::from_secs(1);
        deadline.is_none_or(|d| Instant::now() + wait + timeout + margin < d)
    }
}

/// The message body as the SPEC shapes it.
pub fn parse(message: &SqsMessage) -> Result<SqsAlertBody, MessageError> {
    let body = message
        .body
        .as_deref()
        .ok_or_else(|| MessageError::Invalid("no body".into()))?;
    serde_json::from_str(body).map_err(|e| MessageError::Invalid(e.to_string()))
}
