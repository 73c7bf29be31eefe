//! The detector's two triggers over one engine and one set of ports:
//!
//! - a scheduled tick (EventBridge): per table, read the records written since the table's
//!   watermark (minus an overlap for late writes), run them in SK order in chunks, each
//!   committed with the table's new watermark, within a budget of records and time
//!   ([`TickBudget`]): a backlog drains over several ticks, each resuming where the last
//!   stopped;
//! - a DynamoDB Streams batch (`Records`): parse each `NewImage`, run the records in chunks,
//!   and report the chunk that failed and everything after it as `batchItemFailures`, so
//!   Lambda retries from there and the committed chunks are not redone.
//!
//! Bad records are counted rejections and never fail an invocation. Port errors propagate:
//! the invocation fails, Lambda's error metric and retries see it, and the next run redoes
//! the uncommitted work (event ids are deterministic; publication and alert sends are
//! deduplicated).

use crate::settings::{MetricsMode, Settings};
use pulse_adapters::cloudwatch::CloudWatchMetrics;
use pulse_adapters::dynamodb::{DynamoSource, TIME_BUCKET_ATTRIBUTE};
use pulse_adapters::emf::EmfStdout;
use pulse_adapters::redis::{RedisPorts, RedisSettings};
use pulse_adapters::sqs::SqsAlerts;
use pulse_adapters::ssm::SsmSecrets;
use pulse_core::event::Source;
use pulse_core::metrics::{
    Datum, invocation_metrics, outcome_metrics, read_metrics, stream_metrics, tick_metrics,
};
use pulse_core::parse::stream_record;
use pulse_core::pipeline::{BatchReport, Ports, run_checkpointed};
use pulse_core::ports::{
    AlertLedger, AlertSink, CheckpointStore, EventPublisher, MetricsSink, PortError, ReadCost,
    RecordSource, StateCheck,
};
use pulse_core::record::{Record, UnixSecs};
use pulse_core::tally::Tally;
use pulse_core::{Config, Context, Engine};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Records per stream chunk (SPEC: batches of 100).
pub const STREAM_CHUNK: usize = 100;

/// The trigger an invocation came from, told by the payload's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An EventBridge (scheduled) event: it has `detail-type`.
    Scheduled,
    /// A DynamoDB Streams batch: it has `Records`.
    Stream,
}

impl Trigger {
    pub fn of(payload: &Value) -> Option<Trigger> {
        if payload.get("Records").is_some_and(Value::is_array) {
            Some(Trigger::Stream)
        } else if payload.get("detail-type").is_some() {
            Some(Trigger::Scheduled)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Stream => "stream",
        }
    }
}

/// The stream trigger's answer (`ReportBatchItemFailures`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

/// How much one scheduled tick does before it leaves the rest to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickBudget {
    /// New records (past their table's watermark) processed per tick, all tables together.
    /// Records re-read in the overlap before the watermark do not count.
    pub max_records: usize,
    /// Records per commit: the table's watermark advances after each chunk.
    pub chunk_records: usize,
    /// No chunk but the tick's first starts after this much time (the reads included); well
    /// under the timeout.
    pub time: Duration,
}

impl Default for TickBudget {
    fn default() -> Self {
        TickBudget {
            max_records: 20_000,
            chunk_records: 1_000,
            time: Duration::from_secs(40),
        }
    }
}

/// What a scheduled tick did, and what its read cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickSummary {
    /// Another tick held the lease: this one read and wrote nothing.
    #[serde(default)]
    pub overlapped: bool,
    /// Redis lost the detector's state since it was last seen (see docs/detector.md).
    #[serde(default)]
    pub state_reset: bool,
    /// The earliest `since` of the tables read.
    pub since: UnixSecs,
    pub items: usize,
    pub records: usize,
    pub rejected: u64,
    pub events: usize,
    pub alerts_sent: usize,
    pub alerts_already_sent: usize,
    /// Alerts SQS refused for good, quarantined (`detector:quarantine`).
    #[serde(default)]
    pub alerts_quarantined: usize,
    /// Chunks committed.
    #[serde(default)]
    pub chunks: usize,
    /// Records read but left for the next tick (budget spent).
    #[serde(default)]
    pub deferred: usize,
    /// The newest watermark committed (a record time), if any record was run.
    pub watermark: Option<UnixSecs>,
    /// The watermark committed per table.
    #[serde(default)]
    pub watermarks: BTreeMap<String, UnixSecs>,
    pub dynamodb_pages: u64,
    /// Items DynamoDB examined (and bills): the sum of `ScannedCount`.
    pub items_examined: u64,
    /// Read units charged: the sum of `ConsumedCapacity`.
    pub read_units: f64,
    /// Of `items_examined`, those of the rolling discovery Scan.
    pub discovery_examined: u64,
    /// Partition keys queried (read mode keys).
    pub keys_queried: u64,
    /// Keys the discovery found this tick.
    pub keys_discovered: u64,
    pub dynamodb_ms: u64,
    pub total_ms: u64,
}

/// Metrics go to EMF lines or PutMetricData, by `PULSE_METRICS_MODE`.
#[derive(Debug, Clone)]
pub enum Metrics {
    Emf(EmfStdout),
    Api(CloudWatchMetrics),
    /// Nowhere (tests that do not look at metrics).
    Off,
    /// Kept in memory (tests that look at them).
    Collect(std::sync::Arc<std::sync::Mutex<Vec<Datum>>>),
}

impl Metrics {
    /// The sum of every collected datum named `name` (0 unless [`Metrics::Collect`]).
    pub fn total(&self, name: &str) -> f64 {
        match self {
            Metrics::Collect(data) => data
                .lock()
                .map(|d| d.iter().filter(|x| x.name == name).map(|x| x.value).sum())
                .unwrap_or(0.0),
            _ => 0.0,
        }
    }
}

impl MetricsSink for Metrics {
    async fn emit(&self, data: &[Datum], timestamp_ms: i64) -> Result<(), PortError> {
        match self {
            Metrics::Emf(m) => m.emit(data, timestamp_ms).await,
            Metrics::Api(m) => m.emit(data, timestamp_ms).await,
            Metrics::Off => Ok(()),
            Metrics::Collect(into) => {
                into.lock()
                    .map_err(|_| PortError::permanent("metrics lock poisoned"))?
                    .extend_from_slice(data);
                Ok(())
            }
        }
    }
}

/// Wall-clock now, in unix seconds.
pub fn system_now() -> UnixSecs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The detector: the engine, the record source and the ports. Production uses
/// [`RealDetector`]; unit tests run it on the in-memory ports, integration tests wrap a real
/// port to inject faults.
#[derive(Debug, Clone)]
pub struct Detector<R, S, P, A, L, M> {
    pub engine: Engine,
    pub source: R,
    pub store: S,
    pub publisher: P,
    pub alerts: A,
    pub ledger: L,
    pub metrics: M,
    pub scan_overlap_secs: i64,
    pub initial_lookback_secs: i64,
    pub budget: TickBudget,
    pub clock: fn() -> UnixSecs,
}

/// The detector over Redis, DynamoDB, SQS and CloudWatch.
pub type RealDetector =
    Detector<DynamoSource, RedisPorts, RedisPorts, SqsAlerts, RedisPorts, Metrics>;

/// A start-up failure: settings, thresholds file, or a service that cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("thresholds file {path}: {why}")]
    Thresholds { path: String, why: String },
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Assembles the detector from settings and an AWS config, as production does; tests call
/// it the same way against the emulator.
pub async fn build(
    settings: &Settings,
    aws: &aws_config::SdkConfig,
) -> Result<RealDetector, BuildError> {
    let config = match &settings.thresholds_file {
        None => Config::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| BuildError::Thresholds {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
            Config::from_toml(&text).map_err(|e| BuildError::Thresholds {
                path: path.display().to_string(),
                why: e.to_string(),
            })?
        }
    };
    let mut redis = RedisSettings::new(&settings.redis_url);
    if let Some(name) = &settings.redis_auth_parameter {
        let token = SsmSecrets::new(aws).parameter(name).await?;
        redis.auth_token = Some(token.expose().to_string());
    }
    let redis = RedisPorts::connect(&redis).await?;
    let source = DynamoSource::new(
        aws,
        &settings.events_table,
        &settings.coins_table,
        settings.read_mode.clone(),
        redis.clone(),
    );
    let metrics = match settings.metrics_mode {
        MetricsMode::Emf => Metrics::Emf(EmfStdout {
            namespace: settings.metrics_namespace.clone(),
        }),
        MetricsMode::Api => Metrics::Api(CloudWatchMetrics::new(aws, &settings.metrics_namespace)),
    };
    Ok(Detector {
        // A large batch is detected on every core the Lambda has, sharded by state key.
        engine: Engine::new(config)
            .with_threads(std::thread::available_parallelism().map_or(1, usize::from)),
        source,
        store: redis.clone(),
        publisher: redis.clone(),
        alerts: SqsAlerts::new(aws, &settings.alerts_queue_url),
        ledger: redis,
        metrics,
        scan_overlap_secs: settings.scan_overlap_secs,
        initial_lookback_secs: settings.initial_lookback_secs,
        budget: settings.budget,
        clock: system_now,
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl<R, S, P, A, L, M> Detector<R, S, P, A, L, M>
where
    R: RecordSource + Sync,
    S: CheckpointStore + Sync,
    P: EventPublisher + Sync,
    A: AlertSink + Sync,
    L: AlertLedger + Sync,
    M: MetricsSink + Sync,
{
    /// One invocation: the payload's shape picks the trigger.
    pub async fn handle(&self, payload: &Value) -> Result<Value, PortError> {
        match Trigger::of(payload) {
            Some(Trigger::Scheduled) => {
                let summary = self.tick().await?;
                serde_json::to_value(summary)
                    .map_err(|e| PortError::permanent("serialise summary").with_source(e))
            }
            Some(Trigger::Stream) => {
                let started = Instant::now();
                let response = match self.stream(payload).await {
                    Ok(r) => r,
                    Err(error) => {
                        // A failed batch still reports: the alarms count failures.
                        let now = (self.clock)();
                        self.emit_metrics(
                            &Tally::default(),
                            Trigger::Stream,
                            started.elapsed(),
                            None,
                            now,
                            outcome_metrics(Trigger::Stream.as_str(), true, 0),
                        )
                        .await;
                        return Err(error);
                    }
                };
                serde_json::to_value(response)
                    .map_err(|e| PortError::permanent("serialise response").with_source(e))
            }
            None => Err(PortError::permanent(
                "unrecognised event: expected an EventBridge scheduled event (detail-type) or a DynamoDB stream batch (Records)",
            )),
        }
    }

    fn ports(&self) -> Ports<'_, S, P, A, L> {
        Ports {
            store: &self.store,
            publisher: &self.publisher,
            alerts: &self.alerts,
            ledger: &self.ledger,
        }
    }

    /// The scheduled tick, under the lease: an invocation that overlaps a running tick exits
    /// at once (counted, `TicksOverlapped`), and a tick whose lease was taken over cannot
    /// commit (fencing token checked at commit).
    pub async fn tick(&self) -> Result<TickSummary, PortError> {
        let Some(token) = self.store.acquire().await? else {
            tracing::warn!("another scheduled tick holds the lease; this one exits");
            let now = (self.clock)();
            let datum = pulse_core::metrics::overlap_metrics();
            if let Err(error) = self.metrics.emit(&datum, now.saturating_mul(1000)).await {
                tracing::error!(error = %error, "metrics not emitted");
            }
            return Ok(TickSummary {
                overlapped: true,
                ..TickSummary::default()
            });
        };
        let now = (self.clock)();
        let mut run = TickRun {
            started: Instant::now(),
            now,
            summary: TickSummary::default(),
            tally: Tally::default(),
            cost: ReadCost::default(),
            newest: None,
            wait: Duration::ZERO,
        };
        let result = self.tick_leased(&mut run).await;
        if let Err(error) = self.store.release(token).await {
            // The lease expires on its own; the tick's outcome stands.
            tracing::error!(error = %error, "lease not released");
        }
        // What the tick did, also when it failed part way (its committed chunks stand).
        let total = run.started.elapsed();
        let mut extra = read_metrics(&run.cost);
        extra.extend(tick_metrics(run.summary.deferred, run.summary.state_reset));
        extra.extend(outcome_metrics(
            Trigger::Scheduled.as_str(),
            result.is_err(),
            run.summary.alerts_quarantined,
        ));
        self.emit_metrics(
            &run.tally,
            Trigger::Scheduled,
            total,
            run.newest,
            now,
            extra,
        )
        .await;
        let cost = run.cost;
        let mut summary = run.summary;
        summary.rejected = run.tally.rejected_total();
        summary.items_examined = cost.examined;
        summary.read_units = cost.read_units;
        summary.discovery_examined = cost.discovery_examined;
        summary.keys_queried = cost.keys_queried;
        summary.keys_discovered = cost.keys_discovered;
        summary.dynamodb_ms = millis(run.wait);
        summary.total_ms = millis(total);
        if let Err(error) = result {
            tracing::error!(error = %error, retryable = error.retryable, chunks = summary.chunks, summary = ?summary, "tick failed; its committed chunks stand, the rest is redone next tick");
            return Err(error);
        }
        tracing::info!(
            records = summary.records,
            events = summary.events,
            alerts_sent = summary.alerts_sent,
            alerts_quarantined = summary.alerts_quarantined,
            chunks = summary.chunks,
            deferred = summary.deferred,
            state_reset = summary.state_reset,
            items_examined = summary.items_examined,
            read_units = summary.read_units,
            discovery_examined = summary.discovery_examined,
            keys_queried = summary.keys_queried,
            keys_discovered = summary.keys_discovered,
            summary = ?summary,
            "tick done"
        );
        Ok(summary)
    }

    async fn tick_leased(&self, run: &mut TickRun) -> Result<(), PortError> {
        let now = run.now;
        let tables = self.source.tables();
        let remembered = match self.store.check_state(&tables).await? {
            StateCheck::Lost { remembered } => {
                tracing::error!(
                    ?remembered,
                    "detector state lost: the epoch marker detector:epoch is gone although state was seen. Every key restarts from no baseline (first sightings, no alerts) and its windows refill; the tick resumes from the watermarks this instance remembers. See docs/detector.md, 'State resets'"
                );
                run.summary.state_reset = true;
                remembered
            }
            StateCheck::Fresh => {
                tracing::info!(
                    "no detector state in Redis: a first run (or a loss before this instance started)"
                );
                HashMap::new()
            }
            StateCheck::Intact => HashMap::new(),
        };
        let mut marks = Vec::with_capacity(tables.len());
        for table in tables {
            let mark = match self.store.watermark(&table).await? {
                Some(w) => Some(w),
                None => remembered.get(&table).copied(),
            };
            marks.push((table, mark));
        }
        // The table furthest behind first.
        marks.sort_by_key(|(_, mark)| mark.unwrap_or(UnixSecs::MIN));
        run.summary.since = UnixSecs::MAX;
        let limits = &self.engine.config().validation;
        let ctx = Context {
            source: Source::Scheduled,
            now: Some(now),
        };
        let mut left = self.budget.max_records;
        let chunk_size = self.budget.chunk_records.max(1);
        for (table, mark) in &marks {
            // The first chunk always runs, however long the reads took: every tick progresses.
            let late = run.summary.chunks > 0 && run.started.elapsed() >= self.budget.time;
            if late || left == 0 {
                tracing::warn!(
                    table,
                    "tick budget spent before this table; it is read next tick"
                );
                break;
            }
            let since = match mark {
                Some(w) => w - self.scan_overlap_secs,
                None => now - self.initial_lookback_secs,
            };
            run.summary.since = run.summary.since.min(since);
            let read = self.source.read_since(table, since, now, limits).await?;
            run.summary.items += read.items.len();
            run.summary.dynamodb_pages += read.pages;
            run.wait += read.wait;
            add_cost(&mut run.cost, &read.cost);
            let mut records: Vec<Record> = read
                .items
                .into_iter()
                .filter_map(|item| match item {
                    Ok(record) => Some(record),
                    Err(rejection) => {
                        tracing::info!(table, reason = rejection.reason.as_str(), field = ?rejection.field, "record rejected");
                        run.tally.reject(rejection.reason);
                        None
                    }
                })
                .collect();
            // SK order: a chunk's watermark never passes a record that was not run.
            records.sort_by_cached_key(|r| (r.time, r.state_key()));
            let mut at = 0;
            while at < records.len() {
                if run.summary.chunks > 0 && run.started.elapsed() >= self.budget.time {
                    tracing::warn!(table, "tick time budget spent; the rest is read next tick");
                    break;
                }
                let (mut end, mut new) = (at, 0);
                while end < records.len() && end - at < chunk_size {
                    if mark.is_none_or(|w| records[end].time > w) {
                        if new == left {
                            break;
                        }
                        new += 1;
                    }
                    end += 1;
                }
                if end == at {
                    tracing::warn!(
                        table,
                        "tick record budget spent; the rest is read next tick"
                    );
                    break;
                }
                let chunk = &records[at..end];
                let newest = chunk.iter().map(|r| r.time).max();
                // A record stamped in the future must not push the watermark past now.
                let watermark = newest.map(|t| t.min(now));
                let report = run_checkpointed(
                    &self.engine,
                    chunk,
                    &ctx,
                    &self.ports(),
                    watermark.map(|w| (table.as_str(), w)),
                    now,
                    &mut run.tally,
                )
                .await?;
                left -= new;
                at = end;
                let summary = &mut run.summary;
                summary.chunks += 1;
                summary.records += chunk.len();
                summary.events += report.events;
                summary.alerts_sent += report.alerts_sent;
                summary.alerts_already_sent += report.alerts_already_sent;
                summary.alerts_quarantined += report.alerts_quarantined;
                run.newest = run.newest.max(newest);
                if let Some(w) = watermark {
                    summary.watermark = summary.watermark.max(Some(w));
                    summary.watermarks.insert(table.clone(), w);
                }
            }
            run.summary.deferred += records.len() - at;
        }
        if run.summary.since == UnixSecs::MAX {
            run.summary.since = 0;
        }
        Ok(())
    }

    /// A DynamoDB Streams batch.
    pub async fn stream(&self, payload: &Value) -> Result<StreamResponse, PortError> {
        let started = Instant::now();
        let now = (self.clock)();
        let limits = &self.engine.config().validation;
        let raw = payload
            .get("Records")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let parsed: Vec<_> = raw
            .iter()
            .map(|r| {
                // The time-bucket index attribute is not part of the record (a TVL row would
                // read it as a chain).
                let has_bucket = r
                    .pointer("/dynamodb/NewImage")
                    .and_then(|i| i.get(TIME_BUCKET_ATTRIBUTE))
                    .is_some();
                if has_bucket {
                    let mut r = r.clone();
                    if let Some(image) = r
                        .pointer_mut("/dynamodb/NewImage")
                        .and_then(Value::as_object_mut)
                    {
                        image.remove(TIME_BUCKET_ATTRIBUTE);
                    }
                    stream_record(&r, limits)
                } else {
                    stream_record(r, limits)
                }
            })
            .collect();
        // What each record carries: a REMOVE has nothing new (ignored, counted); an INSERT or
        // MODIFY (a new value of its key) without a NewImage cannot be read. A KEYS_ONLY or
        // OLD_IMAGE stream never carries one: that is a configuration fault, failed loudly.
        let mut shape = StreamShape::default();
        for r in raw {
            let name = r.get("eventName").and_then(Value::as_str).unwrap_or("");
            let has_image = r.pointer("/dynamodb/NewImage").is_some();
            match (name, has_image) {
                ("REMOVE", _) => shape.removes += 1,
                (_, true) => {}
                (_, false) => {
                    let view = r
                        .pointer("/dynamodb/StreamViewType")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if matches!(view, "KEYS_ONLY" | "OLD_IMAGE") {
                        let error = PortError::permanent(format!(
                            "the stream's view type is {view}: its records carry no new image. Set the table's stream to NEW_IMAGE or NEW_AND_OLD_IMAGES (aws dynamodb update-table --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES; see docs/detector.md)"
                        ));
                        tracing::error!(error = %error, "stream misconfigured");
                        return Err(error);
                    }
                    tracing::warn!(event = name, sequence = ?r.pointer("/dynamodb/SequenceNumber"), "stream record without a new image");
                    shape.without_image += 1;
                }
            }
        }
        let ctx = Context {
            source: Source::Dynamodb,
            now: Some(now),
        };
        let mut tally = Tally::default();
        let mut total = BatchReport::default();
        let mut response = StreamResponse::default();
        let mut newest: Option<UnixSecs> = None;
        for (index, chunk) in parsed.chunks(STREAM_CHUNK).enumerate() {
            let mut records = Vec::with_capacity(chunk.len());
            let mut chunk_tally = Tally::default();
            for r in chunk {
                match &r.record {
                    Ok(Some(record)) => records.push(record.clone()),
                    // No new image: a REMOVE or an image-less record, counted above.
                    Ok(None) => {}
                    Err(rejection) => {
                        tracing::info!(reason = rejection.reason.as_str(), sequence = ?r.sequence_number, "stream record rejected");
                        chunk_tally.reject(rejection.reason);
                    }
                }
            }
            match run_checkpointed(
                &self.engine,
                &records,
                &ctx,
                &self.ports(),
                None,
                now,
                &mut chunk_tally,
            )
            .await
            {
                Ok(report) => {
                    total.events += report.events;
                    total.alerts_sent += report.alerts_sent;
                    total.alerts_already_sent += report.alerts_already_sent;
                    total.alerts_quarantined += report.alerts_quarantined;
                    newest = newest.max(records.iter().map(|r| r.time).max());
                    merge(&mut tally, &chunk_tally);
                }
                Err(error) => {
                    let rest = &parsed[index * STREAM_CHUNK..];
                    // Nothing committed yet, or a record Lambda cannot point at: fail the
                    // invocation and let Lambda retry the whole batch.
                    if index == 0 || rest.iter().any(|r| r.sequence_number.is_none()) {
                        return Err(error);
                    }
                    tracing::error!(error = %error, retryable = error.retryable, failed = rest.len(), "stream chunk failed; reporting it and the rest as batch item failures");
                    response.batch_item_failures = rest
                        .iter()
                        .filter_map(|r| r.sequence_number.clone())
                        .map(|item_identifier| ItemFailure { item_identifier })
                        .collect();
                    break;
                }
            }
        }
        let mut extra = stream_metrics(shape.removes, shape.without_image);
        extra.extend(outcome_metrics(
            Trigger::Stream.as_str(),
            false,
            total.alerts_quarantined,
        ));
        self.emit_metrics(
            &tally,
            Trigger::Stream,
            started.elapsed(),
            newest,
            now,
            extra,
        )
        .await;
        tracing::info!(
            records = raw.len(),
            removes_ignored = shape.removes,
            without_image = shape.without_image,
            events = total.events,
            alerts_sent = total.alerts_sent,
            alerts_quarantined = total.alerts_quarantined,
            failures = response.batch_item_failures.len(),
            "stream batch done"
        );
        Ok(response)
    }

    /// Metrics are observations, not effects: a failure to emit them is logged at error
    /// level and does not undo a committed batch.
    async fn emit_metrics(
        &self,
        tally: &Tally,
        trigger: Trigger,
        duration: Duration,
        newest: Option<UnixSecs>,
        now: UnixSecs,
        extra: Vec<Datum>,
    ) {
        let lag = newest.map(|t| (now - t) as f64);
        let mut data = invocation_metrics(
            tally,
            trigger.as_str(),
            duration.as_secs_f64() * 1000.0,
            lag,
        );
        data.extend(extra);
        let timestamp_ms = now.saturating_mul(1000);
        if let Err(error) = self.metrics.emit(&data, timestamp_ms).await {
            tracing::error!(error = %error, "metrics not emitted");
        }
    }
}

/// A scheduled tick in progress: what it did so far, reported also when it fails.
#[derive(Debug)]
struct TickRun {
    started: Instant,
    now: UnixSecs,
    summary: TickSummary,
    tally: Tally,
    cost: ReadCost,
    newest: Option<UnixSecs>,
    wait: Duration,
}

fn add_cost(into: &mut ReadCost, from: &ReadCost) {
    into.examined += from.examined;
    into.read_units += from.read_units;
    into.discovery_examined += from.discovery_examined;
    into.keys_queried += from.keys_queried;
    into.keys_discovered += from.keys_discovered;
}

/// Stream records that carry no new value: REMOVEs, and INSERT/MODIFY without a NewImage.
#[derive(Debug, Default, Clone, Copy)]
struct StreamShape {
    removes: u64,
    without_image: u64,
}

fn merge(into: &mut Tally, from: &Tally) {
    into.merge(from);
}

/// A minimal scheduled event, as EventBridge sends it.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "1970-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use pulse_core::parse::plain_item;
    use pulse_core::ports::{
        MEMORY_TABLE, MemoryAlertLedger, MemoryAlertSink, MemoryCheckpointStore, MemoryPublisher,
        MemoryRecordSource,
    };

    const NOW: UnixSecs = 1_700_000_000;

    type MemoryDetector = Detector<
        MemoryRecordSource,
        MemoryCheckpointStore,
        MemoryPublisher,
        MemoryAlertSink,
        MemoryAlertLedger,
        Metrics,
    >;

    fn in_memory(lines: &[String]) -> MemoryDetector {
        let engine = Engine::new(Config::default());
        let limits = engine.config().validation;
        let records = lines
            .iter()
            .map(|l| plain_item(l).and_then(|item| Record::from_item(&item, &limits)));
        Detector {
            engine,
            source: MemoryRecordSource::new(records),
            store: MemoryCheckpointStore::default(),
            publisher: MemoryPublisher::default(),
            alerts: MemoryAlertSink::default(),
            ledger: MemoryAlertLedger::default(),
            metrics: Metrics::Off,
            scan_overlap_secs: 300,
            initial_lookback_secs: 3600,
            budget: TickBudget::default(),
            clock: || NOW,
        }
    }

    fn price(sk: UnixSecs, price: f64) -> String {
        json!({"PK": "coingecko#tok", "SK": sk, "price": price, "symbol": "TOK"}).to_string()
    }

    /// The scheduled tick production runs, start to end, on the in-memory ports.
    #[tokio::test]
    async fn a_whole_scheduled_tick_runs_in_memory() {
        let (t0, t1) = (NOW - 600, NOW - 540);
        let d = in_memory(&[
            price(t0, 100.0),
            price(t1, 130.0),
            r#"{"PK":"coingecko#bad","SK":1699999500}"#.to_string(),
        ]);
        let summary = d.tick().await.unwrap();
        assert_eq!(
            (summary.items, summary.records, summary.rejected),
            (3, 2, 1)
        );
        assert_eq!(
            summary.since,
            NOW - 3600,
            "the first tick reads the lookback"
        );
        assert_eq!(
            summary.alerts_sent, 1,
            "+30 % in a minute is a critical alert"
        );
        assert_eq!(summary.watermark, Some(t1));
        assert_eq!(d.alerts.sent.lock().unwrap().len(), 1);
        assert_eq!(d.publisher.published.lock().unwrap().len(), summary.events);
        assert_eq!(
            d.store
                .watermarks
                .lock()
                .unwrap()
                .get(MEMORY_TABLE)
                .copied(),
            Some(t1)
        );

        // The next tick re-reads the overlap before the watermark: stale, nothing new.
        let again = d.tick().await.unwrap();
        assert_eq!(again.since, t1 - 300);
        assert_eq!((again.records, again.events, again.alerts_sent), (2, 0, 0));
        assert_eq!(d.alerts.sent.lock().unwrap().len(), 1);
    }

    #[test]
    fn trigger_is_told_by_shape() {
        assert_eq!(Trigger::of(&scheduled_event()), Some(Trigger::Scheduled));
        assert_eq!(Trigger::of(&json!({"Records": []})), Some(Trigger::Stream));
        assert_eq!(Trigger::of(&json!({"hello": 1})), None);
    }

    #[test]
    fn stream_response_wire_shape() {
        let r = StreamResponse {
            batch_item_failures: vec![ItemFailure {
                item_identifier: "42".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(r).ok(),
            Some(json!({"batchItemFailures": [{"itemIdentifier": "42"}]}))
        );
    }
}
