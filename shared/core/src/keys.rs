//! Every Redis key pulse writes, defined once: its pattern, the component that owns it, its
//! Redis type and its TTL ([`KEYS`]), and the functions that build it. The detector and the
//! alert consumer share one Redis (same URL, same database), so each owns a distinct prefix
//! for its private keys (`detector:`, `consumer:`); the keys other systems read keep SPEC's
//! names (`price:*`, `tvl:*`, `event:*`, `events:last_processed_timestamp`). docs/redis-keys.md
//! is the table for people; a test checks that no two patterns can name the same key.
//!
//! A variable part of a key is one `:`-separated segment: a `:` or `%` inside an id is
//! percent-escaped (`%3A`, `%25`), so ids with a colon cannot make two patterns meet. Real ids
//! (numeric protocol ids, coingecko ids, chain names, addresses) contain neither, so their keys
//! are exactly SPEC's. Only a trailing `{name*}` part (a state key) spans several segments.

use crate::record::TokenId;
use std::borrow::Cow;
use uuid::Uuid;

/// The component that writes a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Detector,
    AlertConsumer,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Detector => "detector",
            Owner::AlertConsumer => "alert consumer",
        }
    }
}

/// The Redis type of a key (what `TYPE key` answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    String,
    Hash,
    SortedSet,
    Stream,
}

impl KeyType {
    /// The name `TYPE` answers with.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Hash => "hash",
            KeyType::SortedSet => "zset",
            KeyType::Stream => "stream",
        }
    }
}

/// One family of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// `{name}` is one segment, `{name*}` (last only) one or more, the rest is literal.
    pub pattern: &'static str,
    pub owner: Owner,
    pub kind: KeyType,
    /// How long it lives, in words (some TTLs are settings).
    pub ttl: &'static str,
    pub what: &'static str,
}

/// The state TTL: state outlives quiet periods (a missing baseline must not come from a short
/// TTL): 30 days.
pub const STATE_TTL_SECS: u64 = 30 * 24 * 3600;
/// Current values (`price:*`, `tvl:*`): 1 h.
pub const CURRENT_TTL_SECS: u64 = 3600;
/// History sorted sets keep 24 h.
pub const HISTORY_SECS: i64 = 24 * 3600;
/// Dedup keys `event:{eventId}`: 5 min.
pub const DEDUP_TTL_SECS: u64 = 300;
/// The detector's sent-alert ledger: 24 h, longer than any rerun of a batch.
pub const SENT_TTL_SECS: u64 = 24 * 3600;
/// Approximate length of each replay stream (`stream:events:prices`, ...).
pub const STREAM_MAXLEN: usize = 10_000;

/// SPEC's watermark: the newest record time (unix seconds) committed for any table. The tick
/// reads the per-table watermarks ([`table_watermark`]); this one seeds them once (migration
/// from the single watermark) and is kept raised for readers of SPEC's key.
pub const WATERMARK: &str = "events:last_processed_timestamp";
/// Written with the state (SET NX, no TTL): its absence while state was seen means the state
/// was lost.
pub const EPOCH: &str = "detector:epoch";
/// Alerts the queue refused for good, kept for an operator (a capped stream).
pub const QUARANTINE: &str = "detector:quarantine";
/// Approximate length of [`QUARANTINE`].
pub const QUARANTINE_MAXLEN: usize = 10_000;
/// The scheduled tick's lease (one writer at a time).
pub const LEASE: &str = "detector:lease";
/// The fencing token counter.
pub const FENCE: &str = "detector:fence";
/// How long a lease lives if its tick never releases it: longer than the detector's longest
/// timeout (60 s), so a running tick never outlives its lease.
pub const LEASE_TTL_MS: u64 = 90_000;
/// Prefix of the publication dedup keys `event:{eventId}` (the publish script appends the id).
pub const EVENT_DEDUP_PREFIX: &str = "event:";

/// Every key family, detector first. docs/redis-keys.md shows the same table.
pub const KEYS: &[KeySpec] = &[
    KeySpec {
        pattern: "state:{stateKey*}",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "30 days, renewed on every commit",
        what: "engine state of one key (baselines, windows, cooldowns), JSON",
    },
    KeySpec {
        pattern: "events:last_processed_timestamp",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "none",
        what: "SPEC's watermark: the newest record time (unix seconds) committed for any table; seeds the per-table watermarks once",
    },
    KeySpec {
        pattern: "detector:watermark:{table}",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "none",
        what: "the scheduled tick's watermark of one table (unix seconds), only ever raised",
    },
    KeySpec {
        pattern: "detector:epoch",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "none",
        what: "when the state was first written (unix seconds); its absence after state was seen is a state reset",
    },
    KeySpec {
        pattern: "detector:quarantine",
        owner: Owner::Detector,
        kind: KeyType::Stream,
        ttl: "none (capped at about 10,000 entries)",
        what: "alerts SQS refused for good: eventId, key, reason, the SQS body",
    },
    KeySpec {
        pattern: "price:{tokenChain}:{tokenAddress}",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "1 h",
        what: "current price of a token (`price:{tokenId}`), JSON",
    },
    KeySpec {
        pattern: "price:{tokenChain}:{tokenAddress}:history",
        owner: Owner::Detector,
        kind: KeyType::SortedSet,
        ttl: "24 h",
        what: "price history, score = time, member `{time}:{value}`",
    },
    KeySpec {
        pattern: "tvl:{protocolId}",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "1 h",
        what: "current TVL of a protocol with its breakdown, JSON",
    },
    KeySpec {
        pattern: "tvl:{protocolId}:{chain!history}",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "1 h",
        what: "current TVL of one chain or section of a protocol, JSON",
    },
    KeySpec {
        pattern: "tvl:{protocolId}:history",
        owner: Owner::Detector,
        kind: KeyType::SortedSet,
        ttl: "24 h",
        what: "TVL history of a protocol, score = time, member `{time}:{value}`",
    },
    KeySpec {
        pattern: "event:{eventId}",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "5 min",
        what: "publication dedup, set in the same script that publishes the event",
    },
    KeySpec {
        pattern: "stream:events:{channel}",
        owner: Owner::Detector,
        kind: KeyType::Stream,
        ttl: "none (capped at about 10,000 entries)",
        what: "replay stream of a general channel (`stream:events:prices`, ...)",
    },
    KeySpec {
        pattern: "detector:alert-sent:{eventId}",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "24 h",
        what: "sent-alert ledger: the alert reached SQS, so a rerun of its batch skips it",
    },
    KeySpec {
        pattern: "detector:lease",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "90 s (longer than the function timeout), deleted when the tick ends",
        what: "the scheduled tick's lease: the fencing token of the tick that holds it",
    },
    KeySpec {
        pattern: "detector:fence",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "none",
        what: "the last fencing token given out (INCR)",
    },
    KeySpec {
        pattern: "detector:watch:{table}",
        owner: Owner::Detector,
        kind: KeyType::SortedSet,
        ttl: "none (members idle for 30 days are dropped)",
        what: "partition keys the scheduled tick Queries, score = newest SK seen",
    },
    KeySpec {
        pattern: "detector:discovery:{table}",
        owner: Owner::Detector,
        kind: KeyType::String,
        ttl: "none",
        what: "the rolling discovery Scan's cursor (LastEvaluatedKey, pass, item count), JSON",
    },
    KeySpec {
        pattern: "consumer:alert:{eventId}:lock",
        owner: Owner::AlertConsumer,
        kind: KeyType::String,
        ttl: "`in_progress_ttl` (routes file, default 2 min)",
        what: "in-progress marker of one delivery, holding its invocation's token",
    },
    KeySpec {
        pattern: "consumer:alert:{eventId}:delivered",
        owner: Owner::AlertConsumer,
        kind: KeyType::Hash,
        ttl: "`completed_ttl` (routes file, default 15 days)",
        what: "receiver → delivery time (ms): a retry skips receivers that have it",
    },
    KeySpec {
        pattern: "consumer:alert:{eventId}:done",
        owner: Owner::AlertConsumer,
        kind: KeyType::String,
        ttl: "`completed_ttl` (routes file, default 15 days)",
        what: "delivered to every receiver: a redelivery is acknowledged, nobody notified",
    },
    KeySpec {
        pattern: "consumer:last:{receiver}:{rule}:{alertKey*}",
        owner: Owner::AlertConsumer,
        kind: KeyType::String,
        ttl: "the route's repeat interval + 1 min",
        what: "what a receiver last got for (rule, key), for the repeat interval, JSON",
    },
    KeySpec {
        pattern: "consumer:episode:{rule}:{alertKey*}",
        owner: Owner::AlertConsumer,
        kind: KeyType::Hash,
        ttl: "`completed_ttl` (routes file, default 15 days), renewed on every write",
        what: "one episode (trigger rule, key): `to:{receiver}` → newest trigger time (ms) it got, `resolved` → newest resolve time (ms)",
    },
    KeySpec {
        pattern: "consumer:silences",
        owner: Owner::AlertConsumer,
        kind: KeyType::Hash,
        ttl: "none (`pulse silence` drops entries 7 days after they end)",
        what: "silences added by `pulse silence add`: id → silence (matchers, window, author, comment), JSON",
    },
    KeySpec {
        pattern: "consumer:silences:hits",
        owner: Owner::AlertConsumer,
        kind: KeyType::Hash,
        ttl: "none (entries dropped with their silence)",
        what: "silence id → deliveries it suppressed",
    },
    KeySpec {
        pattern: "consumer:rate:{receiver}",
        owner: Owner::AlertConsumer,
        kind: KeyType::String,
        ttl: "until the receiver's next free slot + 1 s",
        what: "a receiver's rate limit shared by every consumer: the next free send slot (ms), GCRA",
    },
];

/// `consumer:silences`: the silences `pulse silence` manages, read by the consumer.
pub const SILENCES: &str = "consumer:silences";
/// `consumer:silences:hits`: deliveries suppressed, by silence id.
pub const SILENCE_HITS: &str = "consumer:silences:hits";
/// Silences stay listed (`pulse silence list --expired`) this long after they end.
pub const SILENCE_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// One id as one key segment: `:` and `%` percent-escaped, anything else as is.
pub fn segment(id: &str) -> Cow<'_, str> {
    if !id.contains([':', '%']) {
        return Cow::Borrowed(id);
    }
    let mut out = String::with_capacity(id.len() + 4);
    for c in id.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn join(parts: &[&str]) -> String {
    parts.concat()
}

/// `state:{stateKey}`.
pub fn state(state_key: &str) -> String {
    join(&["state:", state_key])
}

fn token_parts(token: &TokenId) -> (Cow<'_, str>, Cow<'_, str>) {
    match token {
        TokenId::Coingecko(id) => (Cow::Borrowed("coingecko"), segment(id)),
        TokenId::Asset { chain, address } => (segment(chain), segment(address)),
    }
}

/// `price:{tokenId}`.
pub fn price_current(token: &TokenId) -> String {
    let (a, b) = token_parts(token);
    join(&["price:", &a, ":", &b])
}

/// `price:{tokenId}:history`.
pub fn price_history(token: &TokenId) -> String {
    let (a, b) = token_parts(token);
    join(&["price:", &a, ":", &b, ":history"])
}

/// `tvl:{protocolId}`.
pub fn tvl_current(protocol_id: &str) -> String {
    join(&["tvl:", &segment(protocol_id)])
}

/// `tvl:{protocolId}:{chain}`, or `None` for a breakdown key named `history`, which would be
/// the protocol's history key (a sorted set): no real chain or section has that name.
pub fn tvl_chain_current(protocol_id: &str, chain: &str) -> Option<String> {
    (chain != "history").then(|| join(&["tvl:", &segment(protocol_id), ":", &segment(chain)]))
}

/// `tvl:{protocolId}:history`.
pub fn tvl_history(protocol_id: &str) -> String {
    join(&["tvl:", &segment(protocol_id), ":history"])
}

/// `event:{eventId}`.
pub fn event_dedup(event_id: &Uuid) -> String {
    format!("{EVENT_DEDUP_PREFIX}{event_id}")
}

/// `stream:{channel}`, for a general channel (`events:prices`, ...).
pub fn stream(general_channel: &str) -> String {
    join(&["stream:", general_channel])
}

/// `detector:alert-sent:{eventId}`.
pub fn alert_sent(event_id: &Uuid) -> String {
    format!("detector:alert-sent:{event_id}")
}

/// `detector:watermark:{table}`.
pub fn table_watermark(table: &str) -> String {
    join(&["detector:watermark:", &segment(table)])
}

/// `detector:watch:{table}`.
pub fn watched_keys(table: &str) -> String {
    join(&["detector:watch:", &segment(table)])
}

/// `detector:discovery:{table}`.
pub fn discovery_cursor(table: &str) -> String {
    join(&["detector:discovery:", &segment(table)])
}

/// `consumer:alert:{eventId}:lock`.
pub fn delivery_lock(event_id: &str) -> String {
    join(&["consumer:alert:", &segment(event_id), ":lock"])
}

/// `consumer:alert:{eventId}:delivered`.
pub fn delivered_receivers(event_id: &str) -> String {
    join(&["consumer:alert:", &segment(event_id), ":delivered"])
}

/// `consumer:alert:{eventId}:done`.
pub fn delivery_done(event_id: &str) -> String {
    join(&["consumer:alert:", &segment(event_id), ":done"])
}

/// `consumer:last:{receiver}:{rule}:{alertKey}`.
pub fn last_sent(receiver: &str, rule: &str, alert_key: &str) -> String {
    join(&[
        "consumer:last:",
        &segment(receiver),
        ":",
        &segment(rule),
        ":",
        alert_key,
    ])
}

/// `consumer:episode:{rule}:{alertKey}`, `rule` being the trigger rule.
pub fn episode(rule: &str, alert_key: &str) -> String {
    join(&["consumer:episode:", &segment(rule), ":", alert_key])
}

/// `consumer:rate:{receiver}`.
pub fn rate_limit(receiver: &str) -> String {
    join(&["consumer:rate:", &segment(receiver)])
}

/// The pattern of [`KEYS`] that `key` belongs to, if any (for audits of a live Redis).
pub fn spec_of(key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|s| pattern::matches(s.pattern, key))
}

/// Matching and overlap of key patterns, for [`spec_of`] and the namespace tests.
pub mod pattern {
    /// One `:`-separated part of a pattern.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Part<'a> {
        Literal(&'a str),
        /// `{name}`: one non-empty segment; `{name!word}`: one segment other than `word`.
        One {
            not: Option<&'a str>,
        },
        /// `{name*}`: one or more segments (last only).
        Rest,
    }

    pub fn parts(pattern: &str) -> Vec<Part<'_>> {
        pattern
            .split(':')
            .map(
                |p| match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if name.ends_with('*') => Part::Rest,
                    Some(name) => Part::One {
                        not: name.split_once('!').map(|(_, word)| word),
                    },
                    None => Part::Literal(p),
                },
            )
            .collect()
    }

    fn holds(part: Part<'_>, segment: &str) -> bool {
        match part {
            Part::Literal(l) => l == segment,
            Part::One { not } => !segment.is_empty() && not != Some(segment),
            Part::Rest => !segment.is_empty(),
        }
    }

    /// Whether a concrete key has this pattern's shape.
    pub fn matches(pattern: &str, key: &str) -> bool {
        let parts = parts(pattern);
        let rest = parts.last() == Some(&Part::Rest);
        let fixed = parts.len() - usize::from(rest);
        let segments: Vec<&str> = if rest {
            key.splitn(parts.len(), ':').collect()
        } else {
            key.split(':').collect()
        };
        segments.len() == parts.len()
            && parts.iter().zip(&segments).enumerate().all(|(i, (p, s))| {
                if i < fixed {
                    holds(*p, s)
                } else {
                    !s.is_empty()
                }
            })
    }

    fn at<'a>(parts: &[Part<'a>], i: usize) -> Part<'a> {
        parts[i.min(parts.len() - 1)]
    }

    /// Whether some key matches both patterns. A variable segment never holds `:` (the
    /// builders escape it).
    pub fn overlap(a: &str, b: &str) -> bool {
        let (pa, pb) = (parts(a), parts(b));
        let rest = |p: &[Part<'_>]| p.last() == Some(&Part::Rest);
        let (ra, rb) = (rest(&pa), rest(&pb));
        let (fa, fb) = (pa.len() - usize::from(ra), pb.len() - usize::from(rb));
        let lengths_meet = match (ra, rb) {
            (false, false) => fa == fb,
            (true, false) => fb > fa,
            (false, true) => fa > fb,
            (true, true) => true,
        };
        let meet = |x: Part<'_>, y: Part<'_>| match (x, y) {
            (Part::Literal(l), Part::Literal(m)) => l == m,
            (Part::Literal(l), other) | (other, Part::Literal(l)) => holds(other, l),
            // Two variables always share some value.
            _ => true,
        };
        lengths_meet && (0..fa.max(fb)).all(|i| meet(at(&pa, i), at(&pb, i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_two_patterns_name_the_same_key() {
        for (i, a) in KEYS.iter().enumerate() {
            for b in &KEYS[i + 1..] {
                assert!(
                    !pattern::overlap(a.pattern, b.pattern),
                    "{} ({}, {}) and {} ({}, {}) can name the same key",
                    a.pattern,
                    a.owner.as_str(),
                    a.kind.as_str(),
                    b.pattern,
                    b.owner.as_str(),
                    b.kind.as_str()
                );
            }
        }
    }

    #[test]
    fn the_overlap_check_sees_the_collision_of_the_first_version() {
        // The detector's ledger and the consumer's delivered-receivers hash were both
        // `alert:{eventId}:sent`, a string and a hash.
        assert!(pattern::overlap(
            "alert:{eventId}:sent",
            "alert:{eventId}:sent"
        ));
        assert!(pattern::overlap(
            "alert:{eventId}:sent",
            "alert:{id}:{part}"
        ));
        assert!(pattern::overlap("state:{k*}", "state:price:{a}:{b}"));
        assert!(pattern::overlap("tvl:{p}:{x}", "tvl:{p}:history"));
        assert!(!pattern::overlap(
            "tvl:{protocolId}",
            "tvl:{protocolId}:history"
        ));
        assert!(!pattern::overlap(
            "tvl:{protocolId}:{chain!history}",
            "tvl:{protocolId}:history"
        ));
        assert!(pattern::matches(
            "state:{k*}",
            "state:price:coingecko:usd-coin"
        ));
        assert!(!pattern::matches("state:{k*}", "state"));
        assert!(!pattern::matches("tvl:{p}:{c!history}", "tvl:111:history"));
        assert!(pattern::matches("tvl:{p}:history", "tvl:111:history"));
    }

    #[test]
    fn private_keys_carry_their_owner_prefix() {
        for spec in KEYS {
            assert_eq!(
                spec.pattern.starts_with("consumer:"),
                spec.owner == Owner::AlertConsumer,
                "{}",
                spec.pattern
            );
            if spec.pattern.starts_with("detector:") {
                assert_eq!(spec.owner, Owner::Detector, "{}", spec.pattern);
            }
        }
    }

    /// docs/redis-keys.md shows this table, row for row.
    #[test]
    fn the_docs_table_is_this_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/redis-keys.md");
        let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `")).collect();
        let want: Vec<String> = KEYS
            .iter()
            .map(|k| {
                format!(
                    "| `{}` | {} | {} | {} | {} |",
                    k.pattern,
                    k.owner.as_str(),
                    k.kind.as_str(),
                    k.ttl,
                    k.what
                )
            })
            .collect();
        assert_eq!(rows, want);
    }

    #[test]
    fn real_ids_give_spec_keys() {
        let usdc = TokenId::Coingecko("usd-coin".into());
        assert_eq!(price_current(&usdc), "price:coingecko:usd-coin");
        assert_eq!(price_history(&usdc), "price:coingecko:usd-coin:history");
        let weth = TokenId::Asset {
            chain: "ethereum".into(),
            address: "0xc02a".into(),
        };
        assert_eq!(price_current(&weth), "price:ethereum:0xc02a");
        assert_eq!(tvl_current("111"), "tvl:111");
        assert_eq!(
            tvl_chain_current("111", "bsc").as_deref(),
            Some("tvl:111:bsc")
        );
        assert_eq!(tvl_chain_current("111", "history"), None);
        assert_eq!(tvl_history("111"), "tvl:111:history");
        assert_eq!(
            state("price:coingecko:usd-coin"),
            "state:price:coingecko:usd-coin"
        );
    }

    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9:%-]{1,12}",
            Just("history".to_string()),
            Just(":".to_string())
        ]
    }

    fn token() -> impl Strategy<Value = TokenId> {
        prop_oneof![
            id().prop_map(|id| TokenId::Coingecko(id.into())),
            (id(), id()).prop_map(|(chain, address)| TokenId::Asset {
                chain: chain.into(),
                address: address.into()
            }),
        ]
    }

    /// Every key any builder can make, with the pattern it claims.
    fn built(t: &TokenId, p: &str, c: &str, e: &str, u: Uuid) -> Vec<(&'static str, String)> {
        let mut keys = vec![
            ("state:{stateKey*}", state(&format!("tvl:{p}"))),
            ("events:last_processed_timestamp", WATERMARK.to_string()),
            ("price:{tokenChain}:{tokenAddress}", price_current(t)),
            (
                "price:{tokenChain}:{tokenAddress}:history",
                price_history(t),
            ),
            ("tvl:{protocolId}", tvl_current(p)),
            ("tvl:{protocolId}:history", tvl_history(p)),
            ("event:{eventId}", event_dedup(&u)),
            ("stream:events:{channel}", stream("events:prices")),
            ("detector:alert-sent:{eventId}", alert_sent(&u)),
            ("detector:lease", LEASE.to_string()),
            ("detector:fence", FENCE.to_string()),
            ("detector:watch:{table}", watched_keys(c)),
            ("detector:watermark:{table}", table_watermark(c)),
            ("detector:epoch", EPOCH.to_string()),
            ("detector:quarantine", QUARANTINE.to_string()),
            ("detector:discovery:{table}", discovery_cursor(c)),
            ("consumer:alert:{eventId}:lock", delivery_lock(e)),
            ("consumer:alert:{eventId}:delivered", delivered_receivers(e)),
            ("consumer:alert:{eventId}:done", delivery_done(e)),
            (
                "consumer:last:{receiver}:{rule}:{alertKey*}",
                last_sent(c, p, &price_current(t)[6..]),
            ),
            (
                "consumer:episode:{rule}:{alertKey*}",
                episode(p, &price_current(t)[6..]),
            ),
        ];
        if let Some(k) = tvl_chain_current(p, c) {
            keys.push(("tvl:{protocolId}:{chain!history}", k));
        }
        keys
    }

    proptest! {
        /// Builders make keys of their own pattern and of no other, whatever the ids hold.
        #[test]
        fn builders_keep_to_their_patterns(t in token(), p in id(), c in id(), e in id(), n in any::<u128>()) {
            let u = Uuid::from_u128(n);
            for (claimed, key) in built(&t, &p, &c, &e, u) {
                let specs: Vec<&str> = KEYS.iter().filter(|s| pattern::matches(s.pattern, &key)).map(|s| s.pattern).collect();
                prop_assert_eq!(specs, vec![claimed], "key {}", key);
            }
        }
    }
}
