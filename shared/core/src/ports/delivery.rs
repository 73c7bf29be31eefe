//! The alert consumer's memory of deliveries. Per event: an in-progress marker taken before
//! any delivery and held by one invocation at a time ([`AlertStore::claim`]), the receivers
//! that already got the event (so a retry skips them), and a completed marker once every
//! receiver is done. Per (receiver, key, rule): what was last sent, for the repeat interval.

use super::{PortError, lock};
use crate::event::Severity;
use crate::rate::{RateLimit, Slot};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// The right to deliver one event, held until completed or released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub event_id: String,
    /// Identifies this holder, so only it can release the marker.
    pub token: String,
    /// Receivers that already got this event on an earlier attempt.
    pub delivered: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Acquired(Lease),
    /// Another invocation is delivering it now.
    InProgress,
    /// Delivered already.
    Completed,
}

/// What a receiver was last told about one (key, rule).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastSent {
    pub severity: Severity,
    pub level: u8,
    /// When, in milliseconds since the epoch.
    pub at_ms: i64,
}

/// What the store knows of one episode: an alert key and its trigger rule
/// (`AlertRule::trigger`). Times are the alerts' own, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Episode {
    /// The newest resolve seen.
    pub resolved_at: Option<i64>,
    /// Receivers that got a trigger not yet followed by a delivered resolve, with the newest
    /// such trigger's time.
    pub notified: BTreeMap<String, i64>,
}

pub trait AlertStore: Send + Sync {
    /// Takes the in-progress marker unless the event is completed or held by another.
    fn claim(
        &self,
        event_id: &str,
        in_progress_ttl: Duration,
    ) -> impl Future<Output = Result<Claim, PortError>> + Send;

    /// Remembers that `receiver` got the event.
    fn mark_delivered(
        &self,
        lease: &Lease,
        receiver: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Sets the completed marker and drops the in-progress one.
    fn complete(
        &self,
        lease: &Lease,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Drops the in-progress marker (if still ours), so a retry can proceed.
    fn release(&self, lease: &Lease) -> impl Future<Output = Result<(), PortError>> + Send;

    fn last_sent(
        &self,
        receiver: &str,
        key: &str,
        rule: &str,
    ) -> impl Future<Output = Result<Option<LastSent>, PortError>> + Send;

    fn record_sent(
        &self,
        receiver: &str,
        key: &str,
        rule: &str,
        sent: LastSent,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Forgets what `receiver` was last told about (key, rule): a resolve ends the episode, so
    /// the next trigger is news.
    fn forget_sent(
        &self,
        receiver: &str,
        key: &str,
        rule: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// The episode of (key, trigger rule).
    fn episode(
        &self,
        key: &str,
        rule: &str,
    ) -> impl Future<Output = Result<Episode, PortError>> + Send;

    /// Remembers that `receiver` got a trigger of the episode at `at_ms` (the newest time
    /// wins); the record lives `ttl`.
    fn note_trigger(
        &self,
        key: &str,
        rule: &str,
        receiver: &str,
        at_ms: i64,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Remembers a resolve of the episode at `at_ms` (the newest time wins).
    fn note_resolve(
        &self,
        key: &str,
        rule: &str,
        at_ms: i64,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// The resolve at `at_ms` reached everyone: forgets the receivers notified at or before it.
    fn close_episode(
        &self,
        key: &str,
        rule: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Reserves a send slot of `receiver` under `limit` at `now_ms`, shared by every consumer
    /// ([`crate::rate::reserve`]): reserved (send after the wait) when the slot is at most
    /// `max_wait` away, else full (nothing reserved).
    fn reserve_slot(
        &self,
        receiver: &str,
        limit: RateLimit,
        now_ms: i64,
        max_wait: Duration,
    ) -> impl Future<Output = Result<Slot, PortError>> + Send;
}

/// Everything in memory; TTLs are not enforced.
#[derive(Debug, Default)]
pub struct MemoryAlertStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    next_token: u64,
    locks: BTreeMap<String, String>,
    done: BTreeSet<String>,
    delivered: BTreeMap<String, BTreeSet<String>>,
    last: BTreeMap<(String, String, String), LastSent>,
    episodes: BTreeMap<(String, String), Episode>,
    slots: BTreeMap<String, i64>,
}

impl MemoryState {
    /// The episode of `rule` on `key`, created empty when new.
    fn episode_mut(&mut self, key: &str, rule: &str) -> &mut Episode {
        self.episodes
            .entry((key.to_string(), rule.to_string()))
            .or_default()
    }
}

impl MemoryAlertStore {
    fn with<T>(&self, f: impl FnOnce(&mut MemoryState) -> T) -> Result<T, PortError> {
        Ok(f(&mut *lock(&self.state, "alert store")?))
    }
}

impl AlertStore for MemoryAlertStore {
    async fn claim(&self, event_id: &str, _ttl: Duration) -> Result<Claim, PortError> {
        self.with(|s| {
            if s.done.contains(event_id) {
                return Claim::Completed;
            }
            if s.locks.contains_key(event_id) {
                return Claim::InProgress;
            }
            s.next_token += 1;
            let token = format!("memory-{}", s.next_token);
            s.locks.insert(event_id.to_string(), token.clone());
            Claim::Acquired(Lease {
                event_id: event_id.to_string(),
                token,
                delivered: s.delivered.get(event_id).cloned().unwrap_or_default(),
            })
        })
    }

    async fn mark_delivered(
        &self,
        lease: &Lease,
        receiver: &str,
        _ttl: Duration,
    ) -> Result<(), PortError> {
        self.with(|s| {
            s.delivered
                .entry(lease.event_id.clone())
                .or_default()
                .insert(receiver.to_string());
        })
    }

    async fn complete(&self, lease: &Lease, _ttl: Duration) -> Result<(), PortError> {
        self.with(|s| {
            s.done.insert(lease.event_id.clone());
            if s.locks.get(&lease.event_id) == Some(&lease.token) {
                s.locks.remove(&lease.event_id);
            }
        })
    }

    async fn release(&self, lease: &Lease) -> Result<(), PortError> {
        self.with(|s| {
            if s.locks.get(&lease.event_id) == Some(&lease.token) {
                s.locks.remove(&lease.event_id);
            }
        })
    }

    async fn last_sent(
        &self,
        receiver: &str,
        key: &str,
        rule: &str,
    ) -> Result<Option<LastSent>, PortError> {
        self.with(|s| {
            s.last
                .get(&(receiver.to_string(), key.to_string(), rule.to_string()))
                .copied()
        })
    }

    async fn record_sent(
        &self,
        receiver: &str,
        key: &str,
        rule: &str,
        sent: LastSent,
        _ttl: Duration,
    ) -> Result<(), PortError> {
        self.with(|s| {
            s.last.insert(
                (receiver.to_string(), key.to_string(), rule.to_string()),
                sent,
            );
        })
    }

    async fn forget_sent(&self, receiver: &str, key: &str, rule: &str) -> Result<(), PortError> {
        self.with(|s| {
            s.last
                .remove(&(receiver.to_string(), key.to_string(), rule.to_string()));
        })
    }

    async fn episode(&self, key: &str, rule: &str) -> Result<Episode, PortError> {
        self.with(|s| {
            s.episodes
                .get(&(key.to_string(), rule.to_string()))
                .cloned()
                .unwrap_or_default()
        })
    }

    async fn note_trigger(
        &self,
        key: &str,
        rule: &str,
        receiver: &str,
        at_ms: i64,
        _ttl: Duration,
    ) -> Result<(), PortError> {
        self.with(|s| {
            let e = s.episode_mut(key, rule);
            let t = e.notified.entry(receiver.to_string()).or_insert(at_ms);
            *t = (*t).max(at_ms);
        })
    }

    async fn note_resolve(
        &self,
        key: &str,
        rule: &str,
        at_ms: i64,
        _ttl: Duration,
    ) -> Result<(), PortError> {
        self.with(|s| {
            let e = s.episode_mut(key, rule);
            e.resolved_at = Some(e.resolved_at.map_or(at_ms, |r| r.max(at_ms)));
        })
    }

    async fn close_episode(&self, key: &str, rule: &str, at_ms: i64) -> Result<(), PortError> {
        self.with(|s| {
            if let Some(e) = s.episodes.get_mut(&(key.to_string(), rule.to_string())) {
                e.notified.retain(|_, t| *t > at_ms);
            }
        })
    }

    async fn reserve_slot(
        &self,
        receiver: &str,
        limit: RateLimit,
        now_ms: i64,
        max_wait: Duration,
    ) -> Result<Slot, PortError> {
        self.with(|s| {
            let (slot, next) =
                crate::rate::reserve(s.slots.get(receiver).copied(), now_ms, limit, max_wait);
            if let Some(next) = next {
                s.slots.insert(receiver.to_string(), next);
            }
            slot
        })
    }
}
