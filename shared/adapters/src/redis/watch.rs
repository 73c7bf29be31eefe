//! The scheduled tick's watched keys and discovery cursors over Redis
//! ([`pulse_core::ports::WatchRegistry`]): one sorted set of partition keys per table (score =
//! newest SK seen, raised with `ZADD GT`) and one JSON cursor per table, on the detector's
//! connection.

use super::RedisPorts;
use pulse_core::keys;
use pulse_core::ports::{DiscoveryCursor, PortError, WatchRegistry};
use pulse_core::record::UnixSecs;

/// Members added per `ZADD` (a discovery slice may find thousands of keys).
const ZADD_CHUNK: usize = 1000;

impl WatchRegistry for RedisPorts {
    async fn watched(&self, table: &str) -> Result<Vec<String>, PortError> {
        self.query_cmd(
            "watched keys",
            ::redis::cmd("ZRANGE")
                .arg(keys::watched_keys(table))
                .arg(0)
                .arg(-1),
        )
        .await
    }

    async fn watch(&self, table: &str, keys: &[(String, UnixSecs)]) -> Result<(), PortError> {
        if keys.is_empty() {
            return Ok(());
        }
        let key = keys::watched_keys(table);
        let mut pipe = ::redis::pipe();
        for chunk in keys.chunks(ZADD_CHUNK) {
            let cmd = pipe.cmd("ZADD").arg(&key).arg("GT");
            for (member, sk) in chunk {
                cmd.arg(*sk).arg(member);
            }
            cmd.ignore();
        }
        let () = self.query_pipe("watch keys", &pipe).await?;
        Ok(())
    }

    async fn forget_idle(&self, table: &str, before: UnixSecs) -> Result<u64, PortError> {
        self.query_cmd(
            "forget idle keys",
            ::redis::cmd("ZREMRANGEBYSCORE")
                .arg(keys::watched_keys(table))
                .arg("-inf")
                .arg(format!("({before}")),
        )
        .await
    }

    async fn cursor(&self, table: &str) -> Result<Option<DiscoveryCursor>, PortError> {
        let key = keys::discovery_cursor(table);
        let text: Option<String> = self
            .query_cmd("discovery cursor", ::redis::cmd("GET").arg(&key))
            .await?;
        match text {
            None => Ok(None),
            Some(text) => match serde_json::from_str(&text) {
                Ok(cursor) => Ok(Some(cursor)),
                // An unreadable cursor restarts the pass: discovery only adds watched keys.
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "unreadable discovery cursor dropped");
                    Ok(None)
                }
            },
        }
    }

    async fn save_cursor(&self, table: &str, cursor: &DiscoveryCursor) -> Result<(), PortError> {
        let text = serde_json::to_string(cursor)
            .map_err(|e| PortError::permanent("serialise discovery cursor").with_source(e))?;
        let () = self
            .query_cmd(
                "save discovery cursor",
                ::redis::cmd("SET")
                    .arg(keys::discovery_cursor(table))
                    .arg(text),
            )
            .await?;
        Ok(())
    }
}
