//! Silences added at run time with `pulse silence add` (stored in Redis, modelled in
//! `pulse_core::silence`), beside the routes file's own (`alerting::silence`, which keep
//! working). Read at most every [`REFRESH`] per container, so a new or expired silence takes
//! effect within that time; each delivery a silence suppresses is logged with its id, author and
//! comment, counted in the receiver's `SuppressedSilence` metric and in Redis per silence
//! (`consumer:silences:hits`, shown by `pulse silence list`).

use crate::alerting::AlertView;
use pulse_adapters::redis::RedisSilences;
use pulse_core::silence::{self, StoredSilence};
use std::sync::Arc;
use std::time::Duration;

/// How long a container uses the silences it read before reading them again.
pub const REFRESH: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Cached {
    read_at_ms: Option<i64>,
    silences: Arc<Vec<StoredSilence>>,
}

/// The silences of the store, cached for [`REFRESH`] (by the consumer's clock).
#[derive(Debug, Default)]
pub struct SilenceCache {
    store: Option<RedisSilences>,
    cached: tokio::sync::Mutex<Cached>,
}

/// An alert's values for each field a silence matcher may name.
pub fn values(view: &AlertView) -> impl Fn(&str) -> Vec<String> + '_ {
    move |field| {
        let one = |v: Option<&str>| v.map(|s| vec![s.to_string()]).unwrap_or_default();
        match field {
            "eventType" => one(Some(view.event_type.as_str())),
            "severity" => one(Some(view.severity.as_str())),
            "rule" => one(view.rule.map(|r| r.as_str())),
            "chain" => one(view.chain.as_deref()),
            "protocolId" => one(view.protocol_id.as_deref()),
            "tokenId" => one(view.token_id.as_deref()),
            "key" => one(Some(&view.key)),
            "tag" => view.tags.clone(),
            _ => Vec::new(),
        }
    }
}

impl SilenceCache {
    /// No stored silences (unit tests, and apps built without Redis).
    pub fn disabled() -> Self {
        SilenceCache::default()
    }

    pub fn new(store: RedisSilences) -> Self {
        SilenceCache {
            store: Some(store),
            cached: Default::default(),
        }
    }

    /// The silences, read again when the copy is older than [`REFRESH`]. A failed read keeps
    /// the last copy (logged): the delivery goes on, as with no silence store at all.
    pub async fn current(&self, now_ms: i64) -> Arc<Vec<StoredSilence>> {
        let Some(store) = &self.store else {
            return Arc::default();
        };
        let mut cached = self.cached.lock().await;
        let fresh = cached
            .read_at_ms
            .is_some_and(|t| now_ms >= t && now_ms - t < REFRESH.as_millis() as i64);
        if !fresh {
            match store.all().await {
                Ok(all) => {
                    cached.silences = Arc::new(all);
                    cached.read_at_ms = Some(now_ms);
                }
                Err(e) => tracing::warn!(error = %e, "silences not read; using the last copy"),
            }
        }
        cached.silences.clone()
    }

    /// The stored silence muting this alert at `now_ms`, if any.
    pub async fn find(&self, view: &AlertView, now_ms: i64) -> Option<StoredSilence> {
        let all = self.current(now_ms).await;
        silence::find(&all, &values(view), now_ms).cloned()
    }

    /// Counts one suppressed delivery for the silence (a failed count is only logged).
    pub async fn count_hit(&self, id: &str) {
        if let Some(store) = &self.store
            && let Err(e) = store.count_hit(id).await
        {
            tracing::warn!(silence = id, error = %e, "silence hit not counted");
        }
    }
}
