//! What a scheduled tick reads: the records written since a time, each already parsed (a bad
//! item is a counted rejection, never an error), with what the reading cost.

use super::{PortError, lock};
use crate::config::ValidationConfig;
use crate::record::{Record, Rejection, UnixSecs};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// Items read: each as a record or a rejection, with what the reading cost.
#[derive(Debug, Default)]
pub struct Read {
    pub items: Vec<Result<Record, Rejection>>,
    /// Pages (requests) it took.
    pub pages: u64,
    /// Wall time spent waiting on the source.
    pub wait: Duration,
    pub cost: ReadCost,
}

/// What a read cost the source, as the source reports it. DynamoDB bills every item a Scan or
/// Query *examines* (before any filter), so `examined` is the sum of `ScannedCount` and
/// `read_units` the sum of `ConsumedCapacity`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadCost {
    /// Items examined (billed), all requests together.
    pub examined: u64,
    /// Read units charged, all requests together.
    pub read_units: f64,
    /// Items the discovery Scan examined (part of `examined`).
    pub discovery_examined: u64,
    /// Keys queried (watched keys, all tables).
    pub keys_queried: u64,
    /// Keys the discovery found that were not watched yet.
    pub keys_discovered: u64,
}

/// The one table of [`MemoryRecordSource`].
pub const MEMORY_TABLE: &str = "memory";

pub trait RecordSource {
    /// The tables read, each with its own watermark.
    fn tables(&self) -> Vec<String>;

    /// Every record of `table` written at or after `since`, up to `now`.
    fn read_since(
        &self,
        table: &str,
        since: UnixSecs,
        now: UnixSecs,
        limits: &ValidationConfig,
    ) -> impl Future<Output = Result<Read, PortError>> + Send;
}

/// Records in memory, read by their time (a record's SK is its write time here).
#[derive(Debug, Default)]
pub struct MemoryRecordSource {
    pub records: Mutex<Vec<Result<Record, Rejection>>>,
}

impl MemoryRecordSource {
    pub fn new(records: impl IntoIterator<Item = Result<Record, Rejection>>) -> Self {
        MemoryRecordSource {
            records: Mutex::new(records.into_iter().collect()),
        }
    }
}

impl RecordSource for MemoryRecordSource {
    fn tables(&self) -> Vec<String> {
        vec![MEMORY_TABLE.to_string()]
    }

    async fn read_since(
        &self,
        _table: &str,
        since: UnixSecs,
        now: UnixSecs,
        _limits: &ValidationConfig,
    ) -> Result<Read, PortError> {
        let records = lock(&self.records, "record source")?;
        let items: Vec<_> = records
            .iter()
            .filter(|r| match r {
                Ok(r) => r.time >= since && r.time <= now,
                Err(_) => true,
            })
            .cloned()
            .collect();
        Ok(Read {
            cost: ReadCost {
                examined: items.len() as u64,
                ..ReadCost::default()
            },
            items,
            pages: 1,
            wait: Duration::ZERO,
        })
    }
}
