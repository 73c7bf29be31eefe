//! The scheduled trigger's record source: items written since the watermark, from the
//! events table and the coins table (which may be one table). Every request asks for its
//! consumed capacity; the read reports items examined (`ScannedCount`, what DynamoDB bills,
//! before any filter) and read units ([`ReadCost`]).
//!
//! Three ways to find them:
//! - [`ReadMode::Keys`] (the default): a Query per watched partition key,
//!   `PK = :pk AND SK >= :since`, which examines only that key's new items. The watched keys
//!   are those the tick has seen (a [`WatchRegistry`]) plus a configured list; new keys are
//!   found by a *rolling* discovery Scan that reads a bounded slice per tick and keeps its
//!   cursor between ticks, covering the table once per period (24 h by default), with a first
//!   full pass on an empty registry that continues across ticks. No writer changes needed.
//! - [`ReadMode::Scan`]: a segmented parallel Scan filtered on `SK >= since`. It examines
//!   (and bills) the whole table on every tick: for small tables and comparisons only.
//! - [`ReadMode::TimeBucketIndex`]: a Query per hourly time bucket on a GSI whose partition
//!   key is [`TIME_BUCKET_ATTRIBUTE`]. Only for tables whose writers add that attribute
//!   (`pulse local load` does; DefiLlama's writers do not, and on their tables this mode
//!   finds nothing).
//!
//! Every read paginates to the end (`LastEvaluatedKey`). Items become records at this edge:
//! a bad item is a counted rejection, never an error.

use crate::aws::sdk_error;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use futures::stream::{self, StreamExt, TryStreamExt};
use pulse_core::config::ValidationConfig;
use pulse_core::item::{Attr, Item};
use pulse_core::keys::STATE_TTL_SECS;
use pulse_core::ports::{DiscoveryCursor, PortError, Read, ReadCost, RecordSource, WatchRegistry};
use pulse_core::record::{Record, RejectReason, Rejection, UnixSecs};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// The GSI partition key attribute: the write hour, `SK / 3600` (a number).
pub const TIME_BUCKET_ATTRIBUTE: &str = "timeBucket";
/// Width of a time bucket.
pub const TIME_BUCKET_SECS: i64 = 3600;
/// Bucket queries run at most this many at once.
const QUERY_CONCURRENCY: usize = 8;
/// Items per discovery Scan request (a page also stops at 1 MB).
const DISCOVERY_PAGE: i32 = 1000;

/// How new items are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadMode {
    /// Query each watched key; discover new keys with a rolling Scan.
    Keys(KeysMode),
    /// Parallel Scan with this many segments (examines the whole table every tick).
    Scan { segments: i32 },
    /// Query on this GSI, one bucket at a time (needs writers that set the bucket).
    TimeBucketIndex { index: String },
}

/// The settings of [`ReadMode::Keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysMode {
    /// Partition keys queried on every tick, discovered or not.
    pub watch_keys: Vec<String>,
    /// Discovery watches the keys starting with one of these; when empty, every key with the
    /// shape of a record ([`pulse_core::record::PK_PREFIXES`]).
    pub watch_prefixes: Vec<String>,
    /// The rolling discovery covers each table once per this many seconds.
    pub discovery_period_secs: i64,
    /// Items examined per tick by the first full discovery (empty registry), and the most a
    /// rolling slice examines.
    pub first_pass_items: i64,
    /// The least a rolling slice examines.
    pub min_slice_items: i64,
    /// Queries in flight at once.
    pub concurrency: usize,
}

impl Default for KeysMode {
    fn default() -> Self {
        KeysMode {
            watch_keys: Vec::new(),
            watch_prefixes: Vec::new(),
            discovery_period_secs: 24 * 3600,
            first_pass_items: 20_000,
            min_slice_items: 100,
            concurrency: 16,
        }
    }
}

impl KeysMode {
    /// Parses a watch list: comma-separated partition keys, a trailing `*` making a prefix
    /// (`coingecko#usd-coin, hourlyTvl#*`).
    pub fn with_watch_list(mut self, list: &str) -> Self {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.strip_suffix('*') {
                Some(prefix) => self.watch_prefixes.push(prefix.to_string()),
                None => self.watch_keys.push(entry.to_string()),
            }
        }
        self
    }

    fn admits(&self, pk: &str) -> bool {
        if self.watch_prefixes.is_empty() {
            Record::is_record_pk(pk)
        } else {
            self.watch_prefixes
                .iter()
                .any(|p| pk.starts_with(p.as_str()))
        }
    }

    /// Items the next discovery slice examines.
    fn slice(&self, cursor: &DiscoveryCursor, now: UnixSecs) -> i64 {
        if cursor.passes == 0 {
            return self.first_pass_items.max(1);
        }
        let period = self.discovery_period_secs.max(1);
        let elapsed = (now - cursor.last_tick).clamp(1, period);
        let items = i64::try_from(cursor.item_count).unwrap_or(i64::MAX);
        let share = items.saturating_mul(elapsed).saturating_add(period - 1) / period;
        share.clamp(self.min_slice_items.max(1), self.first_pass_items.max(1))
    }
}

/// The source over DynamoDB; `W` remembers watched keys and discovery cursors
/// ([`ReadMode::Keys`]; production uses Redis).
#[derive(Debug, Clone)]
pub struct DynamoSource<W = crate::redis::RedisPorts> {
    pub client: aws_sdk_dynamodb::Client,
    /// Table names, without duplicates (events and coins may be one table).
    pub tables: Vec<String>,
    pub mode: ReadMode,
    pub registry: W,
}

type RawItem = HashMap<String, AttributeValue>;

/// Items of one request sequence with what they cost.
#[derive(Debug, Default)]
struct Pages {
    items: Vec<RawItem>,
    requests: u64,
    examined: u64,
    read_units: f64,
}

impl Pages {
    fn add(&mut self, scanned: i32, capacity: Option<&ConsumedCapacity>) {
        self.requests += 1;
        self.examined += u64::try_from(scanned).unwrap_or(0);
        self.read_units += capacity.and_then(|c| c.capacity_units).unwrap_or(0.0);
    }
}

fn number(value: Option<&AttributeValue>) -> Option<i64> {
    match value {
        Some(AttributeValue::N(n)) => n.trim().parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    }
}

fn string(value: Option<&AttributeValue>) -> Option<&str> {
    match value {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

impl<W: WatchRegistry + Sync> DynamoSource<W> {
    pub fn new(
        aws: &aws_config::SdkConfig,
        events_table: &str,
        coins_table: &str,
        mode: ReadMode,
        registry: W,
    ) -> Self {
        let mut tables = vec![events_table.to_string()];
        if coins_table != events_table {
            tables.push(coins_table.to_string());
        }
        DynamoSource {
            client: aws_sdk_dynamodb::Client::new(aws),
            tables,
            mode,
            registry,
        }
    }

    /// The smoke test's read: the calls the scheduled read makes, each as small as it gets
    /// (a Scan of Limit 1 and a Query of Limit 1, half a read unit each, and DescribeTable),
    /// so a missing table or permission shows.
    pub async fn probe(&self) -> Vec<(String, Result<(), PortError>)> {
        let mut out = Vec::new();
        for table in &self.tables {
            let scan = self
                .client
                .scan()
                .table_name(table)
                .limit(1)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(&format!("dynamodb Scan {table}"), e));
            out.push((format!("dynamodb table {table} (Scan)"), scan));
            let query = self
                .client
                .query()
                .table_name(table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "PK")
                .expression_attribute_values(":pk", AttributeValue::S("pulse-smoke#probe".into()))
                .limit(1)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(&format!("dynamodb Query {table}"), e));
            out.push((format!("dynamodb table {table} (Query)"), query));
            let describe = self.item_count(table).await.map(|_| ());
            out.push((format!("dynamodb table {table} (DescribeTable)"), describe));
        }
        out
    }

    /// One whole-table Scan segment filtered on `SK >= since`.
    async fn scan_segment(
        &self,
        table: &str,
        segment: i32,
        segments: i32,
        since: UnixSecs,
    ) -> Result<Pages, PortError> {
        let mut pages = Pages::default();
        let mut start: Option<RawItem> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(table)
                .segment(segment)
                .total_segments(segments)
                .filter_expression("#sk >= :since")
                .expression_attribute_names("#sk", "SK")
                .expression_attribute_values(":since", AttributeValue::N(since.to_string()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error(&format!("dynamodb Scan {table}"), e))?;
            pages.add(out.scanned_count, out.consumed_capacity.as_ref());
            pages.items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(pages),
            }
        }
    }

    /// One hour bucket of the time-bucket index, `SK >= since`.
    async fn query_bucket(
        &self,
        table: &str,
        index: &str,
        bucket: i64,
        since: UnixSecs,
    ) -> Result<Pages, PortError> {
        let query = self
            .client
            .query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("#b = :b AND #sk >= :since")
            .expression_attribute_names("#b", TIME_BUCKET_ATTRIBUTE)
            .expression_attribute_names("#sk", "SK")
            .expression_attribute_values(":b", AttributeValue::N(bucket.to_string()))
            .expression_attribute_values(":since", AttributeValue::N(since.to_string()));
        query_all(query, || format!("dynamodb Query {table}/{index}")).await
    }

    /// One partition key's items with `SK >= since`.
    async fn query_key(&self, table: &str, pk: &str, since: UnixSecs) -> Result<Pages, PortError> {
        let query = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk AND #sk >= :since")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#sk", "SK")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .expression_attribute_values(":since", AttributeValue::N(since.to_string()));
        query_all(query, || format!("dynamodb Query {table} {pk}")).await
    }

    /// The table's item count (DynamoDB refreshes it about every six hours; no read units).
    async fn item_count(&self, table: &str) -> Result<u64, PortError> {
        let out = self
            .client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("dynamodb DescribeTable {table}"), e))?;
        Ok(out
            .table
            .and_then(|t| t.item_count)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }

    /// One discovery slice of `table`: the partition keys it found (with the newest SK seen),
    /// what it cost, and the cursor to save.
    async fn discover(
        &self,
        table: &str,
        mode: &KeysMode,
        now: UnixSecs,
    ) -> Result<(HashMap<String, UnixSecs>, Pages, DiscoveryCursor), PortError> {
        let mut cursor = match self.registry.cursor(table).await? {
            Some(c) => c,
            None => DiscoveryCursor {
                after: None,
                pass_started: now,
                passes: 0,
                last_tick: now,
                item_count: self.item_count(table).await?,
            },
        };
        let mut remaining = mode.slice(&cursor, now);
        let mut pages = Pages::default();
        let mut found: HashMap<String, UnixSecs> = HashMap::new();
        while remaining > 0 {
            let start = cursor.after.as_ref().map(|(pk, sk)| {
                HashMap::from([
                    ("PK".to_string(), AttributeValue::S(pk.clone())),
                    ("SK".to_string(), AttributeValue::N(sk.clone())),
                ])
            });
            let limit = i32::try_from(remaining.min(i64::from(DISCOVERY_PAGE))).unwrap_or(1);
            let out = self
                .client
                .scan()
                .table_name(table)
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#pk", "PK")
                .expression_attribute_names("#sk", "SK")
                .limit(limit)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("dynamodb Scan {table} (discovery)"), e))?;
            pages.add(out.scanned_count, out.consumed_capacity.as_ref());
            remaining -= i64::from(out.scanned_count.max(1));
            for item in out.items.unwrap_or_default() {
                let (Some(pk), Some(sk)) = (string(item.get("PK")), number(item.get("SK"))) else {
                    continue;
                };
                if mode.admits(pk) {
                    let newest = found.entry(pk.to_string()).or_insert(sk);
                    *newest = (*newest).max(sk);
                }
            }
            let next = out
                .last_evaluated_key
                .filter(|k| !k.is_empty())
                .and_then(|k| {
                    let pk = string(k.get("PK"))?.to_string();
                    let sk = match k.get("SK") {
                        Some(AttributeValue::N(n)) => n.clone(),
                        _ => return None,
                    };
                    Some((pk, sk))
                });
            if next.is_none() {
                // The pass is complete: the next one starts over, sized on a fresh count.
                cursor.passes += 1;
                cursor.pass_started = now;
                cursor.after = None;
                cursor.item_count = self.item_count(table).await?;
                tracing::info!(
                    table,
                    passes = cursor.passes,
                    items = cursor.item_count,
                    "discovery pass complete"
                );
                break;
            }
            cursor.after = next;
        }
        cursor.last_tick = now;
        Ok((found, pages, cursor))
    }

    /// [`ReadMode::Keys`] on one table: discover, then Query every watched key.
    async fn read_keys(
        &self,
        table: &str,
        mode: &KeysMode,
        since: UnixSecs,
        now: UnixSecs,
        cost: &mut ReadCost,
    ) -> Result<Pages, PortError> {
        let (found, discovery, cursor) = self.discover(table, mode, now).await?;
        let mut watched: HashSet<String> =
            self.registry.watched(table).await?.into_iter().collect();
        let new_keys: Vec<(String, UnixSecs)> = found
            .into_iter()
            .filter(|(pk, _)| !watched.contains(pk))
            .collect();
        // Watched before they are read: a key that is watched once too often costs one Query.
        self.registry.watch(table, &new_keys).await?;
        self.registry.save_cursor(table, &cursor).await?;
        cost.keys_discovered += new_keys.len() as u64;
        cost.discovery_examined += discovery.examined;
        watched.extend(new_keys.into_iter().map(|(pk, _)| pk));
        watched.extend(mode.watch_keys.iter().cloned());
        cost.keys_queried += watched.len() as u64;
        let mut all = discovery;
        all.items.clear();
        let results: Vec<(String, Pages)> = stream::iter(watched)
            .map(|pk| async move {
                let pages = self.query_key(table, &pk, since).await?;
                Ok::<_, PortError>((pk, pages))
            })
            .buffer_unordered(mode.concurrency.max(1))
            .try_collect()
            .await?;
        let mut seen = Vec::new();
        for (pk, pages) in results {
            if let Some(newest) = pages.items.iter().filter_map(|i| number(i.get("SK"))).max() {
                seen.push((pk, newest));
            }
            all.requests += pages.requests;
            all.examined += pages.examined;
            all.read_units += pages.read_units;
            all.items.extend(pages.items);
        }
        self.registry.watch(table, &seen).await?;
        let idle = now.saturating_sub(i64::try_from(STATE_TTL_SECS).unwrap_or(i64::MAX));
        let forgotten = self.registry.forget_idle(table, idle).await?;
        if forgotten > 0 {
            tracing::info!(table, forgotten, "idle keys no longer watched");
        }
        Ok(all)
    }
}

impl<W: WatchRegistry + Sync> RecordSource for DynamoSource<W> {
    fn tables(&self) -> Vec<String> {
        self.tables.clone()
    }

    /// Every item of `table` with `SK >= since` (written at or after `since`), up to `now`.
    async fn read_since(
        &self,
        table: &str,
        since: UnixSecs,
        now: UnixSecs,
        limits: &ValidationConfig,
    ) -> Result<Read, PortError> {
        let started = Instant::now();
        let mut cost = ReadCost::default();
        let all: Vec<Pages> = match &self.mode {
            ReadMode::Keys(mode) => vec![self.read_keys(table, mode, since, now, &mut cost).await?],
            ReadMode::Scan { segments } => {
                let segments = (*segments).max(1);
                stream::iter(0..segments)
                    .map(|segment| async move {
                        self.scan_segment(table, segment, segments, since).await
                    })
                    .buffer_unordered(usize::try_from(segments).unwrap_or(1).max(1))
                    .try_collect()
                    .await?
            }
            ReadMode::TimeBucketIndex { index } => {
                let first = since.max(0) / TIME_BUCKET_SECS;
                let last = now.max(since) / TIME_BUCKET_SECS;
                stream::iter(first..=last)
                    .map(|bucket| async move { self.query_bucket(table, index, bucket, since).await })
                    .buffer_unordered(QUERY_CONCURRENCY)
                    .try_collect()
                    .await?
            }
        };
        let mut read = Read {
            wait: started.elapsed(),
            ..Read::default()
        };
        for pages in all {
            read.pages += pages.requests;
            cost.examined += pages.examined;
            cost.read_units += pages.read_units;
            read.items
                .extend(pages.items.iter().map(|raw| record_of(raw, limits)));
        }
        read.cost = cost;
        Ok(read)
    }
}

/// Every page of a Query, with what each page examined and cost.
async fn query_all(
    query: QueryFluentBuilder,
    what: impl Fn() -> String,
) -> Result<Pages, PortError> {
    let mut pages = Pages::default();
    let mut start: Option<RawItem> = None;
    loop {
        let out = query
            .clone()
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| sdk_error(&what(), e))?;
        pages.add(out.scanned_count, out.consumed_capacity.as_ref());
        pages.items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(pages),
        }
    }
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
