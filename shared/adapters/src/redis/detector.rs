//! The detector's ports over Redis: per-key state, current values and 24 h history, the
//! scheduled trigger's watermark, event publication (pub/sub + capped streams, deduplicated by
//! event id) and the ledger of alerts that reached SQS, under the key names of
//! [`pulse_core::keys`]. One connection (a [`ConnectionManager`], reconnecting on its own) is
//! shared by all of them and reused across invocations.
//!
//! Round trips per batch are constant whatever its size:
//! - scheduled tick: `MGET` of the epoch and the table watermarks (state check), one `EVAL`
//!   per table for its watermark, then per chunk `MGET` states, one `EVALSHA` publishing
//!   every event, and one `MULTI … EXEC` commit (which also sets the epoch): 3 + 3 per chunk
//!   with two tables, plus 2 when a chunk has alerts (`MGET` of the sent markers, then one
//!   pipeline of `SET`s for the alerts that went out), and one per quarantined alert;
//! - stream batch: 3 (+2) per chunk.
//!
//! Scripts touch keys they do not declare, so this needs a non-cluster Redis (ElastiCache
//! with cluster mode off), as the publishing side already does.

use super::{RedisSettings, connection_info, port_error};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, FromRedisValue, Script};
use pulse_core::event::Event;
use pulse_core::event::SqsAlertBody;
use pulse_core::keys::{
    self, CURRENT_TTL_SECS, DEDUP_TTL_SECS, EPOCH, EVENT_DEDUP_PREFIX, FENCE, HISTORY_SECS, LEASE,
    LEASE_TTL_MS, QUARANTINE, QUARANTINE_MAXLEN, SENT_TTL_SECS, STATE_TTL_SECS, STREAM_MAXLEN,
    WATERMARK,
};
use pulse_core::ports::{
    AlertLedger, CheckpointStore, Commit, EventPublisher, PortError, StateCheck,
};
use pulse_core::record::{RecordBody, UnixSecs};
use pulse_core::state::{EntityState, StateMap};
use serde_json::json;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uuid::Uuid;

/// Per event: `SET event:{id} 1 NX EX ttl`, and only when that set the key, `PUBLISH` to
/// each channel and `XADD` to the stream, all in one atomic script: a key is never marked
/// without its event being published in the same step.
/// ARGV: ttl, maxlen, dedup key prefix, then per event: id, body, stream, channel count,
/// channels...
const PUBLISH_LUA: &str = r"
local ttl = ARGV[1]
local maxlen = ARGV[2]
local prefix = ARGV[3]
local i = 4
local published = 0
while i <= #ARGV do
  local id = ARGV[i]
  local body = ARGV[i + 1]
  local stream = ARGV[i + 2]
  local n = tonumber(ARGV[i + 3])
  i = i + 4
  if redis.call('SET', prefix .. id, '1', 'NX', 'EX', ttl) then
    for c = 0, n - 1 do
      redis.call('PUBLISH', ARGV[i + c], body)
    end
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'eventId', id, 'event', body)
    published = published + 1
  end
  i = i + n
end
return published
";

/// Raises the watermark, never lowers it (two overlapping ticks may commit out of order).
const WATERMARK_LUA: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
";

/// A table's watermark; when it has none yet, SPEC's single watermark seeds it (once: the
/// migration from one watermark to one per table). KEYS: table watermark, SPEC's watermark.
const TABLE_WATERMARK_LUA: &str = r"
local w = redis.call('GET', KEYS[1])
if w then return w end
local legacy = redis.call('GET', KEYS[2])
if legacy then redis.call('SET', KEYS[1], legacy, 'NX') end
return legacy
";

/// Takes the lease when free: a new fencing token (`INCR`), set with `PX`; nil when held.
/// KEYS: lease, fence counter; ARGV: ttl ms.
const ACQUIRE_LUA: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
";

/// Deletes the lease if it still holds this token.
const RELEASE_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
";

/// The stream an event is appended to: `stream:` and its general channel.
pub fn stream_of(event: &Event) -> String {
    let general = event
        .channels()
        .into_iter()
        .next()
        .unwrap_or_else(|| "events:other".to_string());
    keys::stream(&general)
}

/// Every Redis port of the detector over one reconnecting connection. Cloning shares it.
#[derive(Clone)]
pub struct RedisPorts {
    conn: ConnectionManager,
    publish: Arc<Script>,
    round_trips: Arc<AtomicU64>,
    /// The fencing token of the lease this process holds, checked at every commit.
    fence: Arc<std::sync::Mutex<Option<u64>>>,
    /// What this process knows of the state, to tell a loss ([`StateCheck`]).
    memory: Arc<std::sync::Mutex<Memory>>,
}

/// What this process saw of the state: whether the epoch marker was there (or written), and
/// the watermarks it last committed.
#[derive(Debug, Default)]
struct Memory {
    seen: bool,
    watermarks: HashMap<String, UnixSecs>,
}

impl std::fmt::Debug for RedisPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPorts")
            .field("round_trips", &self.round_trips())
            .finish_non_exhaustive()
    }
}

impl RedisPorts {
    /// Connects (TLS for `rediss://`, AUTH when a token or URL password is given) and loads
    /// the scripts.
    pub async fn connect(settings: &RedisSettings) -> Result<Self, PortError> {
        let info = connection_info(&settings.url, settings.auth_token.as_deref())?;
        let client = Client::open(info).map_err(|e| port_error("client", e))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(settings.response_timeout))
            .set_connection_timeout(Some(settings.connection_timeout))
            .set_number_of_retries(2)
            // An unreachable Redis or a failed TLS handshake must fail `connect` well within
            // the Lambda timeout: cap each reconnect delay.
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| port_error("connect", e))?;
        let ports = RedisPorts {
            conn,
            publish: Arc::new(Script::new(PUBLISH_LUA)),
            round_trips: Arc::new(AtomicU64::new(0)),
            fence: Arc::new(std::sync::Mutex::new(None)),
            memory: Arc::new(std::sync::Mutex::new(Memory::default())),
        };
        ports.load_scripts().await?;
        Ok(ports)
    }

    async fn load_scripts(&self) -> Result<(), PortError> {
        let mut pipe = ::redis::pipe();
        pipe.cmd("SCRIPT").arg("LOAD").arg(PUBLISH_LUA);
        let _: (String,) = self.query_pipe("script load", &pipe).await?;
        Ok(())
    }

    fn memory(&self) -> Result<std::sync::MutexGuard<'_, Memory>, PortError> {
        self.memory
            .lock()
            .map_err(|_| PortError::permanent("state memory lock poisoned"))
    }

    /// Round trips made so far (each command or pipeline sent and answered counts one).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub(super) async fn query_cmd<T: FromRedisValue>(
        &self,
        what: &str,
        cmd: &::redis::Cmd,
    ) -> Result<T, PortError> {
        let mut conn = self.conn.clone();
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| port_error(what, e))
    }

    pub(super) async fn query_pipe<T: FromRedisValue>(
        &self,
        what: &str,
        pipe: &::redis::Pipeline,
    ) -> Result<T, PortError> {
        let mut conn = self.conn.clone();
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        pipe.query_async(&mut conn)
            .await
            .map_err(|e| port_error(what, e))
    }
}

/// A commit refused because the lease no longer holds this tick's token.
fn fenced(token: u64, holder: Option<u64>) -> PortError {
    PortError::permanent(format!(
        "commit refused: this tick's lease (fencing token {token}) is now held by {}; another scheduled tick took over, nothing was written",
        holder.map_or("nobody".to_string(), |h| format!("token {h}"))
    ))
}

fn state_json(state: &EntityState) -> Result<String, PortError> {
    serde_json::to_string(state).map_err(|e| PortError::permanent("serialise state").with_source(e))
}

impl RedisPorts {
    /// Sends a commit: as is, or fenced by the lease this process holds.
    async fn commit_pipe(&self, mut pipe: ::redis::Pipeline) -> Result<(), PortError> {
        let fence = *self
            .fence
            .lock()
            .map_err(|_| PortError::permanent("fence lock poisoned"))?;
        let Some(token) = fence else {
            let () = self.query_pipe("commit", &pipe).await?;
            return Ok(());
        };
        // Fenced: WATCH the lease, check it holds our token, and EXEC aborts (nil) if anyone
        // took it in between. A tick runs its Redis calls one after another on this
        // connection, so nothing else interleaves with the WATCH.
        let () = self
            .query_cmd("watch lease", ::redis::cmd("WATCH").arg(LEASE))
            .await?;
        let holder: Option<u64> = self
            .query_cmd("read lease", ::redis::cmd("GET").arg(LEASE))
            .await?;
        if holder != Some(token) {
            let () = self.query_cmd("unwatch", &::redis::cmd("UNWATCH")).await?;
            return Err(fenced(token, holder));
        }
        pipe.cmd("GET").arg(LEASE);
        let answer: ::redis::Value = self.query_pipe("commit", &pipe).await?;
        if matches!(answer, ::redis::Value::Nil) {
            return Err(fenced(token, None));
        }
        Ok(())
    }
}

impl CheckpointStore for RedisPorts {
    async fn load(&self, keys: &[String]) -> Result<StateMap, PortError> {
        let mut states = StateMap::default();
        if keys.is_empty() {
            return Ok(states);
        }
        let mut cmd = ::redis::cmd("MGET");
        for k in keys {
            cmd.arg(keys::state(k));
        }
        let values: Vec<Option<String>> = self.query_cmd("load state", &cmd).await?;
        for (key, value) in keys.iter().zip(values) {
            let Some(text) = value else { continue };
            match serde_json::from_str::<EntityState>(&text) {
                Ok(state) => {
                    states.insert(key.clone(), state);
                }
                // A state this version cannot read restarts the key's baselines (the engine
                // treats a missing baseline as a first sighting, never as 0).
                Err(e) => tracing::warn!(key = %key, error = %e, "unreadable state dropped"),
            }
        }
        Ok(states)
    }

    async fn watermark(&self, table: &str) -> Result<Option<UnixSecs>, PortError> {
        let key = keys::table_watermark(table);
        let value: Option<String> = self
            .query_cmd(
                "get watermark",
                ::redis::cmd("EVAL")
                    .arg(TABLE_WATERMARK_LUA)
                    .arg(2)
                    .arg(&key)
                    .arg(WATERMARK),
            )
            .await?;
        value
            .map(|v| {
                v.trim().parse::<UnixSecs>().map_err(|_| {
                    PortError::permanent(format!(
                        "watermark {key} is not a number: {v}; delete it to start from the lookback"
                    ))
                })
            })
            .transpose()
    }

    async fn check_state(&self, tables: &[String]) -> Result<StateCheck, PortError> {
        let mut cmd = ::redis::cmd("MGET");
        cmd.arg(EPOCH);
        for t in tables {
            cmd.arg(keys::table_watermark(t));
        }
        let values: Vec<Option<String>> = self.query_cmd("check state", &cmd).await?;
        let epoch = values.first().cloned().flatten();
        let marks = values.iter().skip(1).any(Option::is_some);
        let mut memory = self.memory()?;
        if epoch.is_some() {
            memory.seen = true;
            return Ok(StateCheck::Intact);
        }
        if memory.seen || marks {
            // Seen again once the next commit writes a new epoch.
            memory.seen = false;
            return Ok(StateCheck::Lost {
                remembered: memory.watermarks.clone(),
            });
        }
        // No epoch, no table watermark, never seen: a first run, or state written before
        // epochs existed (SPEC's watermark alone: the first commit writes the epoch).
        Ok(StateCheck::Fresh)
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<(), PortError> {
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        for (key, state) in commit.states {
            pipe.cmd("SET")
                .arg(keys::state(key))
                .arg(state_json(state)?)
                .arg("EX")
                .arg(STATE_TTL_SECS)
                .ignore();
        }
        for record in commit.current {
            match &record.body {
                RecordBody::Price(p) => {
                    let value = json!({
                        "price": p.price,
                        "symbol": p.symbol,
                        "decimals": p.decimals,
                        "confidence": p.confidence,
                        "timestamp": record.time,
                    });
                    pipe.cmd("SET")
                        .arg(keys::price_current(&p.token))
                        .arg(value.to_string())
                        .arg("EX")
                        .arg(CURRENT_TTL_SECS)
                        .ignore();
                }
                RecordBody::Tvl(t) => {
                    // Sections (`borrowed`, `ethereum-staking`) are parts of the TVL, not
                    // chains: they stay in the protocol's value, with no key of their own.
                    let parts = t.split(commit.sections);
                    let map =
                        |pairs: &[(&str, f64)]| -> serde_json::Map<String, serde_json::Value> {
                            pairs
                                .iter()
                                .map(|(k, v)| (k.to_string(), json!(v)))
                                .collect()
                        };
                    let value = json!({
                        "tvl": t.tvl,
                        "chains": map(&parts.chains),
                        "sections": map(&parts.sections),
                        "timestamp": record.time,
                    });
                    pipe.cmd("SET")
                        .arg(keys::tvl_current(&t.protocol_id))
                        .arg(value.to_string())
                        .arg("EX")
                        .arg(CURRENT_TTL_SECS)
                        .ignore();
                    for (chain, v) in &parts.chains {
                        // A breakdown key named `history` has no current-value key of its own.
                        let Some(key) = keys::tvl_chain_current(&t.protocol_id, chain) else {
                            continue;
                        };
                        pipe.cmd("SET")
                            .arg(key)
                            .arg(json!({"tvl": v, "timestamp": record.time}).to_string())
                            .arg("EX")
                            .arg(CURRENT_TTL_SECS)
                            .ignore();
                    }
                }
                RecordBody::Dimension(_) | RecordBody::TokenRemoval(_) => {}
            }
        }
        let mut history_keys = BTreeSet::new();
        for record in commit.history {
            let (key, value) = match &record.body {
                RecordBody::Price(p) => (keys::price_history(&p.token), p.price),
                RecordBody::Tvl(t) => (keys::tvl_history(&t.protocol_id), t.tvl),
                RecordBody::Dimension(_) | RecordBody::TokenRemoval(_) => continue,
            };
            // Member `{time}:{value}`: a rerun adds the same member again, a no-op.
            pipe.cmd("ZADD")
                .arg(&key)
                .arg(record.time)
                .arg(format!("{}:{value}", record.time))
                .ignore();
            history_keys.insert(key);
        }
        let cutoff = commit.now - HISTORY_SECS;
        for key in &history_keys {
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(key)
                .arg("-inf")
                .arg(format!("({cutoff}"))
                .ignore();
            pipe.cmd("EXPIRE").arg(key).arg(HISTORY_SECS).ignore();
        }
        if let Some((table, w)) = commit.watermark {
            // EVAL with the text (not EVALSHA): inside MULTI a missing script after a Redis
            // restart would fail the whole commit.
            for key in [keys::table_watermark(table), WATERMARK.to_string()] {
                pipe.cmd("EVAL")
                    .arg(WATERMARK_LUA)
                    .arg(1)
                    .arg(key)
                    .arg(w)
                    .ignore();
            }
        }
        if pipe.cmd_iter().next().is_none() {
            return Ok(());
        }
        // The state's epoch, written once with the first state.
        pipe.cmd("SET")
            .arg(EPOCH)
            .arg(commit.now)
            .arg("NX")
            .ignore();
        self.commit_pipe(pipe).await?;
        let mut memory = self.memory()?;
        memory.seen = true;
        if let Some((table, w)) = commit.watermark {
            let mark = memory.watermarks.entry(table.to_string()).or_insert(w);
            *mark = (*mark).max(w);
        }
        Ok(())
    }

    async fn acquire(&self) -> Result<Option<u64>, PortError> {
        let token: Option<u64> = self
            .query_cmd(
                "acquire lease",
                ::redis::cmd("EVAL")
                    .arg(ACQUIRE_LUA)
                    .arg(2)
                    .arg(LEASE)
                    .arg(FENCE)
                    .arg(LEASE_TTL_MS),
            )
            .await?;
        if let Some(t) = token {
            *self
                .fence
                .lock()
                .map_err(|_| PortError::permanent("fence lock poisoned"))? = Some(t);
        }
        Ok(token)
    }

    async fn release(&self, token: u64) -> Result<(), PortError> {
        *self
            .fence
            .lock()
            .map_err(|_| PortError::permanent("fence lock poisoned"))? = None;
        let _: i64 = self
            .query_cmd(
                "release lease",
                ::redis::cmd("EVAL")
                    .arg(RELEASE_LUA)
                    .arg(1)
                    .arg(LEASE)
                    .arg(token),
            )
            .await?;
        Ok(())
    }
}

impl EventPublisher for RedisPorts {
    async fn publish(&self, events: &[Event]) -> Result<(), PortError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut invocation = self.publish.prepare_invoke();
        invocation
            .arg(DEDUP_TTL_SECS)
            .arg(STREAM_MAXLEN)
            .arg(EVENT_DEDUP_PREFIX);
        for event in events {
            let mut body = Vec::with_capacity(512);
            event.write_json(&mut body);
            let channels = event.channels();
            invocation
                .arg(event.event_id.to_string())
                .arg(body)
                .arg(stream_of(event))
                .arg(channels.len())
                .arg(channels);
        }
        let mut conn = self.conn.clone();
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let published: u64 = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| port_error("publish", e))?;
        tracing::debug!(
            events = events.len(),
            published,
            "events published (the rest were already published)"
        );
        Ok(())
    }
}

impl AlertLedger for RedisPorts {
    async fn unsent(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>, PortError> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut cmd = ::redis::cmd("MGET");
        for id in ids {
            cmd.arg(keys::alert_sent(id));
        }
        let values: Vec<Option<String>> = self.query_cmd("read sent alerts", &cmd).await?;
        Ok(ids
            .iter()
            .zip(values)
            .filter(|(_, v)| v.is_none())
            .map(|(id, _)| *id)
            .collect())
    }

    async fn mark_sent(&self, ids: &[Uuid]) -> Result<(), PortError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipe = ::redis::pipe();
        for id in ids {
            pipe.cmd("SET")
                .arg(keys::alert_sent(id))
                .arg("1")
                .arg("EX")
                .arg(SENT_TTL_SECS)
                .ignore();
        }
        let () = self.query_pipe("mark sent alerts", &pipe).await?;
        Ok(())
    }

    async fn quarantine(&self, alert: &SqsAlertBody, reason: &str) -> Result<(), PortError> {
        let id = alert.event.event_id;
        let body = serde_json::to_string(alert)
            .map_err(|e| PortError::permanent("serialise quarantined alert").with_source(e))?;
        let key = alert.event.alert().map_or("", |a| a.key.as_str());
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        pipe.cmd("XADD")
            .arg(QUARANTINE)
            .arg("MAXLEN")
            .arg("~")
            .arg(QUARANTINE_MAXLEN)
            .arg("*")
            .arg("eventId")
            .arg(id.to_string())
            .arg("key")
            .arg(key)
            .arg("reason")
            .arg(reason)
            .arg("body")
            .arg(body)
            .ignore();
        pipe.cmd("SET")
            .arg(keys::alert_sent(&id))
            .arg("quarantined")
            .arg("EX")
            .arg(SENT_TTL_SECS)
            .ignore();
        let () = self.query_pipe("quarantine alert", &pipe).await?;
        Ok(())
    }
}
