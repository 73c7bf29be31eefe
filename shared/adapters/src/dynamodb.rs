//! The scheduled trigger's record source: items written since the watermark, from the
//! events table and the coins table (which may be one table).
//!
//! Two ways to find them:
//! - a segmented parallel Scan filtered on `SK >= since` (works on any existing table; the
//!   filter saves transfer, not read capacity);
//! - a Query per hourly time bucket on a GSI whose partition key is the number attribute
//!   [`TIME_BUCKET_ATTRIBUTE`] (`SK / 3600`) and whose sort key is `SK`, when one is
//!   configured: it reads only the new items.
//!
//! Both paginate to the end. Items become records at this edge: a bad item is a counted
//! rejection, never an error.

use crate::aws::sdk_error;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{self, StreamExt, TryStreamExt};
use pulse_core::config::ValidationConfig;
use pulse_core::item::{Attr, Item};
use pulse_core::ports::{PortError, Read, RecordSource};
use pulse_core::record::{Record, RejectReason, Rejection, UnixSecs};
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The GSI partition key attribute: the write hour, `SK / 3600` (a number).
pub const TIME_BUCKET_ATTRIBUTE: &str = "timeBucket";
/// Width of a time bucket.
pub const TIME_BUCKET_SECS: i64 = 3600;
/// Bucket queries run at most this many at once.
const QUERY_CONCURRENCY: usize = 8;

/// How new items are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadMode {
    /// Parallel Scan with this many segments.
    Scan { segments: i32 },
    /// Query on this GSI, one bucket at a time.
    TimeBucketIndex { index: String },
}

#[derive(Debug, Clone)]
pub struct DynamoSource {
    pub client: aws_sdk_dynamodb::Client,
    /// Table names, without duplicates (events and coins may be one table).
    pub tables: Vec<String>,
    pub mode: ReadMode,
}

type RawItem = HashMap<String, AttributeValue>;

impl DynamoSource {
    pub fn new(
        aws: &aws_config::SdkConfig,
        events_table: &str,
        coins_table: &str,
        mode: ReadMode,
    ) -> Self {
        let mut tables = vec![events_table.to_string()];
        if coins_table != events_table {
            tables.push(coins_table.to_string());
        }
        DynamoSource {
            client: aws_sdk_dynamodb::Client::new(aws),
            tables,
            mode,
        }
    }

    /// The smoke test's read: one item of each table (a Scan of Limit 1, half a read unit),
    /// the same action the scheduled read uses, so a missing table or permission shows.
    pub async fn probe(&self) -> Vec<(String, Result<(), PortError>)> {
        let mut out = Vec::new();
        for table in &self.tables {
            let result = self
                .client
                .scan()
                .table_name(table)
                .limit(1)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(&format!("dynamodb Scan {table}"), e));
            out.push((table.clone(), result));
        }
        out
    }

    async fn run(&self, job: Job, since: UnixSecs) -> Result<(Vec<RawItem>, u64), PortError> {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut start: Option<RawItem> = None;
        loop {
            let (page, next) = match &job {
                Job::Scan {
                    table,
                    segment,
                    segments,
                } => {
                    let out = self
                        .client
                        .scan()
                        .table_name(table)
                        .segment(*segment)
                        .total_segments(*segments)
                        .filter_expression("#sk >= :since")
                        .expression_attribute_names("#sk", "SK")
                        .expression_attribute_values(":since", AttributeValue::N(since.to_string()))
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(|e| sdk_error(&format!("dynamodb Scan {table}"), e))?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
                Job::Query {
                    table,
                    index,
                    bucket,
                } => {
                    let out = self
                        .client
                        .query()
                        .table_name(table)
                        .index_name(index)
                        .key_condition_expression("#b = :b AND #sk >= :since")
                        .expression_attribute_names("#b", TIME_BUCKET_ATTRIBUTE)
                        .expression_attribute_names("#sk", "SK")
                        .expression_attribute_values(":b", AttributeValue::N(bucket.to_string()))
                        .expression_attribute_values(":since", AttributeValue::N(since.to_string()))
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(|e| sdk_error(&format!("dynamodb Query {table}/{index}"), e))?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
            };
            pages += 1;
            items.extend(page);
            match next {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok((items, pages))
    }
}

impl RecordSource for DynamoSource {
    /// Every item with `SK >= since` (written at or after `since`), up to `now`.
    async fn read_since(
        &self,
        since: UnixSecs,
        now: UnixSecs,
        limits: &ValidationConfig,
    ) -> Result<Read, PortError> {
        let started = Instant::now();
        let mut jobs = Vec::new();
        for table in &self.tables {
            match &self.mode {
                ReadMode::Scan { segments } => {
                    let segments = (*segments).max(1);
                    for segment in 0..segments {
                        jobs.push(Job::Scan {
                            table: table.clone(),
                            segment,
                            segments,
                        });
                    }
                }
                ReadMode::TimeBucketIndex { index } => {
                    let first = since.max(0) / TIME_BUCKET_SECS;
                    let last = now.max(since) / TIME_BUCKET_SECS;
                    for bucket in first..=last {
                        jobs.push(Job::Query {
                            table: table.clone(),
                            index: index.clone(),
                            bucket,
                        });
                    }
                }
            }
        }
        let pages: Vec<(Vec<RawItem>, u64)> = stream::iter(jobs)
            .map(|job| self.run(job, since))
            .buffer_unordered(QUERY_CONCURRENCY.max(segments_of(&self.mode)))
            .try_collect()
            .await?;
        let wait = started.elapsed();
        let mut read = Read {
            wait,
            ..Read::default()
        };
        for (items, n) in pages {
            read.pages += n;
            read.items
                .extend(items.iter().map(|raw| record_of(raw, limits)));
        }
        Ok(read)
    }
}

fn segments_of(mode: &ReadMode) -> usize {
    match mode {
        ReadMode::Scan { segments } => usize::try_from(*segments).unwrap_or(1).max(1),
        ReadMode::TimeBucketIndex { .. } => 1,
    }
}

enum Job {
    Scan {
        table: String,
        segment: i32,
        segments: i32,
    },
    Query {
        table: String,
        index: String,
        bucket: i64,
    },
}

/// One SDK attribute value as a parsed attribute (the same decoding as DynamoDB JSON).
pub fn attr_of(value: &AttributeValue) -> Attr<'static> {
    let number = |n: &str| {
        n.trim()
            .parse::<f64>()
            .map(Attr::Num)
            .unwrap_or(Attr::BadNumber)
    };
    match value {
        AttributeValue::S(s) => Attr::Str(Cow::Owned(s.clone())),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Attr::Bool(*b),
        AttributeValue::Null(_) => Attr::Null,
        AttributeValue::M(m) => Attr::Map(item_of(m)),
        AttributeValue::L(l) => Attr::List(l.iter().map(attr_of).collect()),
        AttributeValue::Ss(ss) => Attr::List(
            ss.iter()
                .map(|s| Attr::Str(Cow::Owned(s.clone())))
                .collect(),
        ),
        AttributeValue::Ns(ns) => Attr::List(ns.iter().map(|n| number(n)).collect()),
        _ => Attr::Invalid,
    }
}

/// One SDK item as a parsed item.
pub fn item_of(raw: &HashMap<String, AttributeValue>) -> Item<'static> {
    Item(
        raw.iter()
            .map(|(k, v)| (Cow::Owned(k.clone()), attr_of(v)))
            .collect(),
    )
}

/// One SDK item validated into a record.
pub fn record_of(
    raw: &HashMap<String, AttributeValue>,
    limits: &ValidationConfig,
) -> Result<Record, Rejection> {
    let mut item = item_of(raw);
    // The index attribute is ours, not the writer's: a TVL row must not read it as a chain.
    item.0.retain(|(k, _)| k != TIME_BUCKET_ATTRIBUTE);
    if item.fields().any(|(_, v)| matches!(v, Attr::Invalid)) {
        return Err(Rejection::new(RejectReason::BadAttribute));
    }
    Record::from_item(&item, limits)
}

/// Writes items to a table (the local stack's `pulse local load`): each given as a plain
/// JSON object (numbers become N, strings S, objects M, arrays L) or as DynamoDB JSON
/// (`{"Item": {...}}`, an export line). Items get [`TIME_BUCKET_ATTRIBUTE`] from their SK so
/// a time-bucket index can find them.
#[derive(Debug, Clone)]
pub struct TableWriter {
    pub client: aws_sdk_dynamodb::Client,
}

/// One item to write, as JSON.
#[derive(Debug, Clone)]
pub enum JsonItem {
    Plain(serde_json::Value),
    /// The DynamoDB-JSON map of attributes (the value of an export line's `Item`).
    Ddb(serde_json::Value),
}

fn from_plain(v: &serde_json::Value) -> AttributeValue {
    use serde_json::Value;
    match v {
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::Array(a) => AttributeValue::L(a.iter().map(from_plain).collect()),
        Value::Object(o) => {
            AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), from_plain(v))).collect())
        }
    }
}

fn from_ddb(v: &serde_json::Value) -> Option<AttributeValue> {
    use serde_json::Value;
    let (kind, inner) = v.as_object()?.iter().next()?;
    let strings = |x: &Value| -> Option<Vec<String>> {
        x.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    Some(match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_string()),
        "N" => AttributeValue::N(match inner {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "M" => AttributeValue::M(
            inner
                .as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), from_ddb(v)?)))
                .collect::<Option<_>>()?,
        ),
        "L" => AttributeValue::L(
            inner
                .as_array()?
                .iter()
                .map(from_ddb)
                .collect::<Option<_>>()?,
        ),
        "SS" => AttributeValue::Ss(strings(inner)?),
        "NS" => AttributeValue::Ns(strings(inner)?),
        _ => return None,
    })
}

impl JsonItem {
    /// The item as SDK attributes, or why it cannot be written.
    pub fn attributes(&self) -> Result<HashMap<String, AttributeValue>, String> {
        let (map, ddb) = match self {
            JsonItem::Plain(v) => (v.as_object(), false),
            JsonItem::Ddb(v) => (v.as_object(), true),
        };
        let map = map.ok_or("not a JSON object")?;
        let mut out = HashMap::with_capacity(map.len() + 1);
        for (k, v) in map {
            let value = if ddb {
                from_ddb(v).ok_or_else(|| format!("attribute {k} is not DynamoDB JSON"))?
            } else {
                from_plain(v)
            };
            out.insert(k.clone(), value);
        }
        match (out.get("PK"), out.get("SK")) {
            (Some(AttributeValue::S(_)), Some(AttributeValue::N(sk))) => {
                if let Ok(sk) = sk.trim().parse::<f64>() {
                    let bucket = (sk as i64).div_euclid(TIME_BUCKET_SECS);
                    out.entry(TIME_BUCKET_ATTRIBUTE.to_string())
                        .or_insert_with(|| AttributeValue::N(bucket.to_string()));
                }
                Ok(out)
            }
            _ => Err("PK (string) and SK (number) are required to write an item".into()),
        }
    }
}

impl TableWriter {
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        TableWriter {
            client: aws_sdk_dynamodb::Client::new(aws),
        }
    }

    /// Writes the items in BatchWriteItem calls of 25, resending unprocessed items.
    pub async fn put(
        &self,
        table: &str,
        items: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<usize, PortError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let total = items.len();
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let mut requests = Vec::with_capacity(25);
            for item in items.by_ref().take(25) {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| PortError::permanent("put request").with_source(e))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            let mut pending = Some(HashMap::from([(table.to_string(), requests)]));
            let mut attempt = 0u32;
            while let Some(batch) = pending.take().filter(|b| !b.is_empty()) {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
                }
                attempt += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(batch))
                    .send()
                    .await
                    .map_err(|e| sdk_error(&format!("dynamodb BatchWriteItem {table}"), e))?;
                pending = out.unprocessed_items.filter(|u| !u.is_empty());
                if attempt > 10 && pending.is_some() {
                    return Err(PortError::retryable(format!(
                        "dynamodb BatchWriteItem {table}: items still unprocessed after {attempt} attempts"
                    )));
                }
            }
        }
        Ok(total)
    }
}
