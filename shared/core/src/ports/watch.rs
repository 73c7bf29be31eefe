//! The scheduled tick's memory of which partition keys to Query and how far its rolling
//! discovery Scan has come, per table. Membership is only ever a hint (a key watched once too
//! often costs one Query of half a read unit); records themselves are read from DynamoDB.

use super::{PortError, lock};
use crate::record::UnixSecs;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;

/// Where the rolling discovery Scan of one table stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryCursor {
    /// The Scan's `LastEvaluatedKey` (PK, SK as written), or `None` at the start of a pass.
    pub after: Option<(String, String)>,
    /// When the current pass started (unix seconds).
    pub pass_started: UnixSecs,
    /// Passes completed over the whole table; 0 while the first full discovery runs.
    pub passes: u64,
    /// When the last slice was read, to size the next one.
    pub last_tick: UnixSecs,
    /// The table's item count (DescribeTable, refreshed at each pass start).
    pub item_count: u64,
}

/// Watched partition keys (with the newest SK seen, for forgetting idle keys) and the
/// discovery cursor of each table.
pub trait WatchRegistry {
    /// Every watched partition key of `table`.
    fn watched(&self, table: &str) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;
    /// Watches these keys, remembering the newest SK seen for each (never lowered).
    fn watch(
        &self,
        table: &str,
        keys: &[(String, UnixSecs)],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Stops watching keys whose newest SK is older than `before`; how many.
    fn forget_idle(
        &self,
        table: &str,
        before: UnixSecs,
    ) -> impl Future<Output = Result<u64, PortError>> + Send;
    fn cursor(
        &self,
        table: &str,
    ) -> impl Future<Output = Result<Option<DiscoveryCursor>, PortError>> + Send;
    fn save_cursor(
        &self,
        table: &str,
        cursor: &DiscoveryCursor,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Watched keys and cursors in memory.
#[derive(Debug, Default)]
pub struct MemoryWatchRegistry {
    pub keys: Mutex<HashMap<String, BTreeMap<String, UnixSecs>>>,
    pub cursors: Mutex<HashMap<String, DiscoveryCursor>>,
}

impl WatchRegistry for MemoryWatchRegistry {
    async fn watched(&self, table: &str) -> Result<Vec<String>, PortError> {
        Ok(lock(&self.keys, "watched keys")?
            .get(table)
            .map(|k| k.keys().cloned().collect())
            .unwrap_or_default())
    }

    async fn watch(&self, table: &str, keys: &[(String, UnixSecs)]) -> Result<(), PortError> {
        let mut all = lock(&self.keys, "watched keys")?;
        let table = all.entry(table.to_string()).or_default();
        for (key, sk) in keys {
            let newest = table.entry(key.clone()).or_insert(*sk);
            *newest = (*newest).max(*sk);
        }
        Ok(())
    }

    async fn forget_idle(&self, table: &str, before: UnixSecs) -> Result<u64, PortError> {
        let mut all = lock(&self.keys, "watched keys")?;
        let Some(keys) = all.get_mut(table) else {
            return Ok(0);
        };
        let n = keys.len();
        keys.retain(|_, newest| *newest >= before);
        Ok((n - keys.len()) as u64)
    }

    async fn cursor(&self, table: &str) -> Result<Option<DiscoveryCursor>, PortError> {
        Ok(lock(&self.cursors, "discovery cursors")?
            .get(table)
            .cloned())
    }

    async fn save_cursor(&self, table: &str, cursor: &DiscoveryCursor) -> Result<(), PortError> {
        lock(&self.cursors, "discovery cursors")?.insert(table.to_string(), cursor.clone());
        Ok(())
    }
}
