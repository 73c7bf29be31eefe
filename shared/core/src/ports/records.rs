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
}

pub trait RecordSource {
    /// Every record written at or after `since`, up to `now`.
    fn read_since(
        &self,
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
    async fn read_since(
        &self,
        since: UnixSecs,
        now: UnixSecs,
        _limits: &ValidationConfig,
    ) -> Result<Read, PortError> {
        let records = lock(&self.records, "record source")?;
        Ok(Read {
            items: records
                .iter()
                .filter(|r| match r {
                    Ok(r) => r.time >= since && r.time <= now,
                    Err(_) => true,
                })
                .cloned()
                .collect(),
            pages: 1,
            wait: Duration::ZERO,
        })
    }
}
