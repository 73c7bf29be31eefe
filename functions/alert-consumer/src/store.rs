//! The idempotency and repeat-interval port.
//!
//! Per event: an in-progress marker taken with SET NX and a short TTL before any delivery
//! ([`AlertStore::claim`]); the receivers that already got the event (so a retry skips them);
//! a completed marker with a long TTL once every receiver is done. Per (receiver, key, rule):
//! what was last sent, for the repeat interval. [`MemoryStore`] is the in-memory version;
//! `crate::redis_store` the Redis one.

use crate::alerting::LastSent;
use pulse_core::ports::PortError;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// A token unique to this process and call.
pub fn lease_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
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
}

/// Everything in memory; TTLs are not enforced.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    locks: BTreeMap<String, String>,
    done: BTreeSet<String>,
    delivered: BTreeMap<String, BTreeSet<String>>,
    last: BTreeMap<(String, String, String), LastSent>,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut MemoryState) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }
}

impl AlertStore for MemoryStore {
    async fn claim(&self, event_id: &str, _ttl: Duration) -> Result<Claim, PortError> {
        Ok(self.with(|s| {
            if s.done.contains(event_id) {
                return Claim::Completed;
            }
            if s.locks.contains_key(event_id) {
                return Claim::InProgress;
            }
            let token = lease_token();
            s.locks.insert(event_id.to_string(), token.clone());
            Claim::Acquired(Lease {
                event_id: event_id.to_string(),
                token,
                delivered: s.delivered.get(event_id).cloned().unwrap_or_default(),
            })
        }))
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
        });
        Ok(())
    }

    async fn complete(&self, lease: &Lease, _ttl: Duration) -> Result<(), PortError> {
        self.with(|s| {
            s.done.insert(lease.event_id.clone());
            if s.locks.get(&lease.event_id) == Some(&lease.token) {
                s.locks.remove(&lease.event_id);
            }
        });
        Ok(())
    }

    async fn release(&self, lease: &Lease) -> Result<(), PortError> {
        self.with(|s| {
            if s.locks.get(&lease.event_id) == Some(&lease.token) {
                s.locks.remove(&lease.event_id);
            }
        });
        Ok(())
    }

    async fn last_sent(
        &self,
        receiver: &str,
        key: &str,
        rule: &str,
    ) -> Result<Option<LastSent>, PortError> {
        Ok(self.with(|s| {
            s.last
                .get(&(receiver.to_string(), key.to_string(), rule.to_string()))
                .copied()
        }))
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
            )
        });
        Ok(())
    }
}
