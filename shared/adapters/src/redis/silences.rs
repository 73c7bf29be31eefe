//! Silences in Redis (`pulse_core::silence`): `pulse silence add|list|expire` write them, the
//! alert consumer reads them. One hash `consumer:silences` (id → silence JSON) and one counter
//! hash `consumer:silences:hits` (id → deliveries suppressed); see docs/redis-keys.md.

use super::{connection_info, port_error};
use ::redis::AsyncCommands;
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use pulse_core::keys;
use pulse_core::ports::PortError;
use pulse_core::silence::StoredSilence;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone)]
pub struct RedisSilences {
    conn: ConnectionManager,
}

impl std::fmt::Debug for RedisSilences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisSilences")
    }
}

impl RedisSilences {
    /// On an existing connection (the consumer shares its delivery store's).
    pub fn new(conn: ConnectionManager) -> Self {
        RedisSilences { conn }
    }

    /// A lazy connection with two-second timeouts (`pulse silence`).
    pub fn connect(url: &str) -> Result<Self, PortError> {
        let client = ::redis::Client::open(connection_info(url, None)?)
            .map_err(|e| port_error("client", e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| port_error("connect", e))?;
        Ok(RedisSilences { conn })
    }

    pub async fn add(&self, silence: &StoredSilence) -> Result<(), PortError> {
        let json = serde_json::to_string(silence)
            .map_err(|e| PortError::permanent(format!("silence as JSON: {e}")))?;
        let mut conn = self.conn.clone();
        conn.hset::<_, _, _, ()>(keys::SILENCES, &silence.id, json)
            .await
            .map_err(|e| port_error("silence add", e))
    }

    /// Every stored silence, oldest first. An entry that does not parse is skipped with a
    /// warning (one bad entry must not unsilence the others).
    pub async fn all(&self) -> Result<Vec<StoredSilence>, PortError> {
        let mut conn = self.conn.clone();
        let raw: BTreeMap<String, String> = conn
            .hgetall(keys::SILENCES)
            .await
            .map_err(|e| port_error("silences", e))?;
        let mut out: Vec<StoredSilence> = raw
            .into_iter()
            .filter_map(|(id, json)| match serde_json::from_str(&json) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(silence = %id, error = %e, "unreadable silence skipped");
                    None
                }
            })
            .collect();
        out.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(out)
    }

    /// Ends a silence now (kept for `list --expired`). Returns it, or `None` for an unknown id.
    pub async fn expire(&self, id: &str, now_ms: i64) -> Result<Option<StoredSilence>, PortError> {
        let Some(mut s) = self.all().await?.into_iter().find(|s| s.id == id) else {
            return Ok(None);
        };
        s.ends_at_ms = s.ends_at_ms.min(now_ms);
        s.starts_at_ms = s.starts_at_ms.min(s.ends_at_ms);
        self.add(&s).await?;
        Ok(Some(s))
    }

    /// Drops silences that ended more than [`keys::SILENCE_RETENTION_MS`] ago, with their counts.
    pub async fn purge(&self, now_ms: i64) -> Result<usize, PortError> {
        let old: Vec<String> = self
            .all()
            .await?
            .into_iter()
            .filter(|s| s.ends_at_ms + keys::SILENCE_RETENTION_MS < now_ms)
            .map(|s| s.id)
            .collect();
        if !old.is_empty() {
            let mut conn = self.conn.clone();
            ::redis::pipe()
                .hdel(keys::SILENCES, &old)
                .hdel(keys::SILENCE_HITS, &old)
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| port_error("silence purge", e))?;
        }
        Ok(old.len())
    }

    /// Counts one delivery suppressed by silence `id`.
    pub async fn count_hit(&self, id: &str) -> Result<(), PortError> {
        let mut conn = self.conn.clone();
        conn.hincr::<_, _, _, ()>(keys::SILENCE_HITS, id, 1)
            .await
            .map_err(|e| port_error("silence hit", e))
    }

    /// Deliveries suppressed, by silence id.
    pub async fn hits(&self) -> Result<BTreeMap<String, u64>, PortError> {
        let mut conn = self.conn.clone();
        conn.hgetall(keys::SILENCE_HITS)
            .await
            .map_err(|e| port_error("silence hits", e))
    }
}
