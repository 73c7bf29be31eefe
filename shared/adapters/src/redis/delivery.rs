//! The alert consumer's [`AlertStore`] over Redis. Keys (named in `pulse_core::keys`, under
//! the consumer's own `consumer:` prefix, apart from the detector's):
//! - `consumer:alert:{eventId}:lock`: the in-progress marker (holder's token), SET NX PX;
//! - `consumer:alert:{eventId}:delivered`: hash of receiver → delivery time (ms), for retries;
//! - `consumer:alert:{eventId}:done`: the completed marker;
//! - `consumer:last:{receiver}:{rule}:{key}`: JSON [`LastSent`], for the repeat interval;
//! - `consumer:rate:{receiver}`: the receiver's next free send slot (ms), for its rate limit;
//! - `consumer:episode:{rule}:{key}`: hash of `to:{receiver}` → newest trigger time it got and
//!   `resolved` → newest resolve time, so a resolve reaches every receiver of its trigger and
//!   an older trigger is dropped.
//!
//! Claiming is one Lua script (check done, SET NX, read the delivered receivers), so two
//! invocations racing on the same event cannot both deliver. Errors say their Redis code and
//! message and whether a retry can help (`pulse_adapters::redis::port_error`): a connection
//! drop is retried by SQS, a `WRONGTYPE` is not.

use super::{RedisSilences, connection_info, port_error};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use pulse_core::keys;
use pulse_core::ports::{AlertStore, Claim, Episode, LastSent, Lease, PortError, Secret};
use pulse_core::rate::{RateLimit, Slot};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisStore")
    }
}

const CLAIM: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {'done'} end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'busy'} end
local r = {'acquired'}
for _, k in ipairs(redis.call('HKEYS', KEYS[3])) do table.insert(r, k) end
return r
";

const COMPLETE: &str = r"
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Raises a hash field to ARGV[2] (a time) unless it already holds a newer one; renews the TTL.
const RAISE: &str = r"
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// Drops the `to:` fields whose trigger time is at or before ARGV[1].
const CLOSE: &str = r"
local f = redis.call('HGETALL', KEYS[1])
for i = 1, #f, 2 do
  if string.sub(f[i], 1, 3) == 'to:' and tonumber(f[i + 1]) <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], f[i])
  end
end
return 1
";

/// GCRA with reservation (`pulse_core::rate::reserve`, same arithmetic): KEYS[1] holds the
/// next free slot (ms); ARGV: now, interval, tolerance, max wait (ms). Returns the wait (ms)
/// when a slot was reserved, else minus one minus the wait until the next slot.
const RESERVE: &str = r"
local now = tonumber(ARGV[1])
local start = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if start < now then start = now end
local wait = start - tonumber(ARGV[3]) - now
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[4]) then return -1 - wait end
local nxt = start + tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', string.format('%d', nxt - now + 1000))
return wait
";

/// The field of an episode hash holding the newest resolve's time.
const RESOLVED: &str = "resolved";
/// The prefix of an episode hash's receiver fields.
const TO: &str = "to:";

/// A token unique to this process and call.
fn lease_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    /// A connection manager that connects lazily and reconnects on failure; every command
    /// times out after two seconds.
    pub fn connect(url: &Secret) -> Result<Self, PortError> {
        let client = ::redis::Client::open(connection_info(url.expose(), None)?)
            .map_err(|e| port_error("client", e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| port_error("connect", e))?;
        Ok(RedisStore { conn })
    }

    /// The silences store on this store's connection.
    pub fn silences(&self) -> RedisSilences {
        RedisSilences::new(self.conn.clone())
    }
}

impl AlertStore for RedisStore {
    async fn claim(&self, event_id: &str, in_progress_ttl: Duration) -> Result<Claim, PortError> {
        let token = lease_token();
        let reply: Vec<String> = ::redis::Script::new(CLAIM)
            .key(keys::delivery_done(event_id))
            .key(keys::delivery_lock(event_id))
            .key(keys::delivered_receivers(event_id))
            .arg(&token)
            .arg(ms(in_progress_ttl))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| port_error("claim", e))?;
        match reply.split_first() {
            Some((first, rest)) if first == "acquired" => Ok(Claim::Acquired(Lease {
                event_id: event_id.to_string(),
                token,
                delivered: rest.iter().cloned().collect::<BTreeSet<_>>(),
            })),
            Some((first, _)) if first == "busy" => Ok(Claim::InProgress),
            Some((first, _)) if first == "done" => Ok(Claim::Completed),
            _ => Err(PortError::retryable(format!(
                "redis claim: unexpected reply {reply:?}"
            ))),
        }
    }

    async fn mark_delivered(
        &self,
        lease: &Lease,
        receiver: &str,
        ttl: Duration,
    ) -> Result<(), PortError> {
        let key = keys::delivered_receivers(&lease.event_id);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        ::redis::pipe()
            .atomic()
            .hset(&key, receiver, now)
            .ignore()
            .pexpire(&key, ms(ttl) as i64)
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| port_error("mark delivered", e))
    }

    async fn complete(&self, lease: &Lease, ttl: Duration) -> Result<(), PortError> {
        ::redis::Script::new(COMPLETE)
            .key(keys::delivery_done(&lease.event_id))
            .key(keys::delivery_lock(&lease.event_id))
            .arg(&lease.token)
            .arg(ms(ttl))
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(|e| port_error("complete", e))
    }

    async fn release(&self, lease: &Lease) -> Result<(), PortError> {
        ::redis::Script::new(RELEASE)
            .key(keys::delivery_lock(&lease.event_id))
            .arg(&lease.token)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(|e| port_error("release", e))
    }

    async fn last_sent(
        &self,
        receiver: &str,
        key: &str,
        rule: &str,
    ) -> Result<Option<LastSent>, PortError> {
        let raw: Option<String> = ::redis::cmd("GET")
            .arg(keys::last_sent(receiver, rule, key))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| port_error("get last sent", e))?;
        // A record that no longer parses is treated as absent: at worst one extra notification.
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    async fn record_sent(
        &self,
        receiver: &str,
        key: &str,
        rule: &str,
        sent: LastSent,
        ttl: Duration,
    ) -> Result<(), PortError> {
        let value = serde_json::to_string(&sent)
            .map_err(|e| PortError::permanent("encode last sent").with_source(e))?;
        ::redis::cmd("SET")
            .arg(keys::last_sent(receiver, rule, key))
            .arg(value)
            .arg("PX")
            .arg(ms(ttl))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| port_error("record last sent", e))
    }

    async fn forget_sent(&self, receiver: &str, key: &str, rule: &str) -> Result<(), PortError> {
        ::redis::cmd("DEL")
            .arg(keys::last_sent(receiver, rule, key))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| port_error("forget last sent", e))
    }

    async fn episode(&self, key: &str, rule: &str) -> Result<Episode, PortError> {
        let fields: BTreeMap<String, String> = ::redis::cmd("HGETALL")
            .arg(keys::episode(rule, key))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| port_error("get episode", e))?;
        let mut episode = Episode::default();
        for (field, value) in fields {
            // A field that does not parse is ignored: at worst one receiver misses a resolve.
            let Ok(at) = value.parse::<i64>() else {
                continue;
            };
            if field == RESOLVED {
                episode.resolved_at = Some(at);
            } else if let Some(receiver) = field.strip_prefix(TO) {
                episode.notified.insert(receiver.to_string(), at);
            }
        }
        Ok(episode)
    }

    async fn note_trigger(
        &self,
        key: &str,
        rule: &str,
        receiver: &str,
        at_ms: i64,
        ttl: Duration,
    ) -> Result<(), PortError> {
        ::redis::Script::new(RAISE)
            .key(keys::episode(rule, key))
            .arg(format!("{TO}{receiver}"))
            .arg(at_ms)
            .arg(ms(ttl))
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(|e| port_error("note trigger", e))
    }

    async fn note_resolve(
        &self,
        key: &str,
        rule: &str,
        at_ms: i64,
        ttl: Duration,
    ) -> Result<(), PortError> {
        ::redis::Script::new(RAISE)
            .key(keys::episode(rule, key))
            .arg(RESOLVED)
            .arg(at_ms)
            .arg(ms(ttl))
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(|e| port_error("note resolve", e))
    }

    async fn close_episode(&self, key: &str, rule: &str, at_ms: i64) -> Result<(), PortError> {
        ::redis::Script::new(CLOSE)
            .key(keys::episode(rule, key))
            .arg(at_ms)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(|e| port_error("close episode", e))
    }

    async fn reserve_slot(
        &self,
        receiver: &str,
        limit: RateLimit,
        now_ms: i64,
        max_wait: Duration,
    ) -> Result<Slot, PortError> {
        let max_wait_ms = i64::try_from(max_wait.as_millis()).unwrap_or(i64::MAX / 4);
        let reply: i64 = ::redis::Script::new(RESERVE)
            .key(keys::rate_limit(receiver))
            .arg(now_ms)
            .arg(limit.interval_ms())
            .arg(limit.tolerance_ms())
            .arg(max_wait_ms)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| port_error("rate limit", e))?;
        let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
        Ok(if reply >= 0 {
            Slot::Reserved(ms(reply))
        } else {
            Slot::Full(ms(-1 - reply))
        })
    }
}
