//! The alert store's contract (the consumer's idempotency): a claim is exclusive until it is
//! completed, released or its lease expires; only the holder's lease releases it; receivers
//! already served are handed to the next holder; a completed event is never claimed again;
//! the last-sent record of a (receiver, key, rule) survives the claims around it and goes when
//! forgotten; an episode remembers who got its triggers and its newest resolve, and closing it
//! forgets the receivers its resolve reached.

use pulse_core::event::Severity;
use pulse_core::ports::{AlertStore, Claim, Episode, LastSent, Lease};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(60);

/// Whether an implementation lets an in-progress marker lapse after its TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseExpiry {
    /// Leases lapse (Redis `PX`): a crashed holder blocks an event for its TTL only.
    Enforced,
    /// TTLs are not modelled (the in-memory store); the expiry contract is skipped.
    NotModelled,
}

async fn claim<S: AlertStore>(store: &S, id: &str, ttl: Duration) -> Claim {
    store
        .claim(id, ttl)
        .await
        .unwrap_or_else(|e| panic!("claim {id}: {e}"))
}

async fn acquire<S: AlertStore>(store: &S, id: &str, ttl: Duration) -> Lease {
    match claim(store, id, ttl).await {
        Claim::Acquired(lease) => lease,
        other => panic!("claim {id}: expected Acquired, got {other:?}"),
    }
}

/// Runs every contract. `a` and `b` are two handles on one store (two invocations of the
/// consumer); each contract uses its own event ids.
pub async fn suite<S: AlertStore>(a: &S, b: &S, expiry: LeaseExpiry) {
    a_claim_is_exclusive_until_released(a, b).await;
    only_the_holder_releases(a, b).await;
    served_receivers_pass_to_the_next_holder(a, b).await;
    a_completed_event_stays_completed(a, b).await;
    last_sent_survives(a, b).await;
    episodes_remember_triggers_and_resolves(a, b).await;
    a_rate_limit_is_shared(a, b).await;
    if expiry == LeaseExpiry::Enforced {
        a_lease_expires(a, b).await;
    }
}

pub async fn a_claim_is_exclusive_until_released<S: AlertStore>(a: &S, b: &S) {
    let lease = acquire(a, "contract-exclusive", TTL).await;
    assert!(lease.delivered.is_empty());
    assert_eq!(claim(b, "contract-exclusive", TTL).await, Claim::InProgress);
    assert_eq!(
        claim(a, "contract-exclusive", TTL).await,
        Claim::InProgress,
        "the holder's own second claim is refused too"
    );
    assert!(
        matches!(claim(b, "contract-other", TTL).await, Claim::Acquired(_)),
        "claims are per event"
    );
    a.release(&lease).await.unwrap();
    let next = acquire(b, "contract-exclusive", TTL).await;
    assert_ne!(next.token, lease.token, "each holder has its own token");
}

pub async fn only_the_holder_releases<S: AlertStore>(a: &S, b: &S) {
    let first = acquire(a, "contract-holder", TTL).await;
    let stale = Lease {
        token: format!("{}-not-mine", first.token),
        ..first.clone()
    };
    b.release(&stale).await.unwrap();
    assert_eq!(
        claim(b, "contract-holder", TTL).await,
        Claim::InProgress,
        "a lease with another token does not release the marker"
    );
    a.release(&first).await.unwrap();
    acquire(b, "contract-holder", TTL).await;
}

pub async fn served_receivers_pass_to_the_next_holder<S: AlertStore>(a: &S, b: &S) {
    let lease = acquire(a, "contract-served", TTL).await;
    a.mark_delivered(&lease, "slack", TTL).await.unwrap();
    a.mark_delivered(&lease, "hook", TTL).await.unwrap();
    a.mark_delivered(&lease, "hook", TTL).await.unwrap();
    a.release(&lease).await.unwrap();
    let next = acquire(b, "contract-served", TTL).await;
    assert_eq!(
        next.delivered,
        BTreeSet::from(["hook".to_string(), "slack".to_string()]),
        "a retry skips the receivers already served"
    );
}

pub async fn a_completed_event_stays_completed<S: AlertStore>(a: &S, b: &S) {
    let lease = acquire(a, "contract-done", TTL).await;
    a.complete(&lease, TTL).await.unwrap();
    assert_eq!(claim(b, "contract-done", TTL).await, Claim::Completed);
    a.release(&lease).await.unwrap();
    assert_eq!(
        claim(b, "contract-done", TTL).await,
        Claim::Completed,
        "a late release does not reopen a completed event"
    );
}

pub async fn last_sent_survives<S: AlertStore>(a: &S, b: &S) {
    assert_eq!(
        a.last_sent("hook", "price:x", "peg_deviation")
            .await
            .unwrap(),
        None
    );
    let sent = LastSent {
        severity: Severity::Warning,
        level: 1,
        at_ms: 1_796_083_200_000,
    };
    a.record_sent("hook", "price:x", "peg_deviation", sent, TTL)
        .await
        .unwrap();
    // Claims and completions of other events around it leave it.
    let lease = acquire(a, "contract-last", TTL).await;
    a.complete(&lease, TTL).await.unwrap();
    assert_eq!(
        b.last_sent("hook", "price:x", "peg_deviation")
            .await
            .unwrap(),
        Some(sent),
        "another invocation reads what this one recorded"
    );
    for (receiver, key, rule) in [
        ("slack", "price:x", "peg_deviation"),
        ("hook", "price:y", "peg_deviation"),
        ("hook", "price:x", "price_change"),
    ] {
        assert_eq!(
            b.last_sent(receiver, key, rule).await.unwrap(),
            None,
            "per (receiver, key, rule): {receiver} {key} {rule}"
        );
    }
    let escalated = LastSent {
        severity: Severity::Critical,
        level: 2,
        at_ms: sent.at_ms + 60_000,
    };
    b.record_sent("hook", "price:x", "peg_deviation", escalated, TTL)
        .await
        .unwrap();
    assert_eq!(
        a.last_sent("hook", "price:x", "peg_deviation")
            .await
            .unwrap(),
        Some(escalated),
        "the newest record wins"
    );
    a.forget_sent("hook", "price:x", "peg_deviation")
        .await
        .unwrap();
    assert_eq!(
        b.last_sent("hook", "price:x", "peg_deviation")
            .await
            .unwrap(),
        None,
        "forgotten"
    );
}

pub async fn episodes_remember_triggers_and_resolves<S: AlertStore>(a: &S, b: &S) {
    let (key, rule) = ("price:ep", "price_move");
    assert_eq!(a.episode(key, rule).await.unwrap(), Episode::default());
    a.note_trigger(key, rule, "pager", 1_000, TTL)
        .await
        .unwrap();
    b.note_trigger(key, rule, "pager", 500, TTL).await.unwrap();
    b.note_trigger(key, rule, "slack", 2_000, TTL)
        .await
        .unwrap();
    b.note_resolve(key, rule, 3_000, TTL).await.unwrap();
    a.note_resolve(key, rule, 2_500, TTL).await.unwrap();
    let want = Episode {
        resolved_at: Some(3_000),
        notified: BTreeMap::from([("pager".to_string(), 1_000), ("slack".to_string(), 2_000)]),
    };
    assert_eq!(
        a.episode(key, rule).await.unwrap(),
        want,
        "the newest trigger per receiver and the newest resolve win"
    );
    assert_eq!(
        b.episode(key, "tvl_drop").await.unwrap(),
        Episode::default(),
        "per (key, rule)"
    );
    // A trigger of the next episode, then the resolve at 3 000 reaches everyone.
    b.note_trigger(key, rule, "hook", 4_000, TTL).await.unwrap();
    a.close_episode(key, rule, 3_000).await.unwrap();
    assert_eq!(
        b.episode(key, rule).await.unwrap(),
        Episode {
            resolved_at: Some(3_000),
            notified: BTreeMap::from([("hook".to_string(), 4_000)]),
        },
        "closing forgets the receivers notified up to the resolve, not later ones"
    );
}

/// A holder that died (its invocation timed out) blocks the event for the lease's TTL only;
/// its late release does not drop the new holder's marker.
pub async fn a_lease_expires<S: AlertStore>(a: &S, b: &S) {
    let short = Duration::from_millis(150);
    let dead = acquire(a, "contract-expiry", short).await;
    assert_eq!(claim(b, "contract-expiry", TTL).await, Claim::InProgress);
    tokio::time::sleep(short + Duration::from_millis(150)).await;
    let next = acquire(b, "contract-expiry", TTL).await;
    a.release(&dead).await.unwrap();
    assert_eq!(
        claim(a, "contract-expiry", TTL).await,
        Claim::InProgress,
        "the expired holder's release leaves the new holder's marker"
    );
    b.release(&next).await.unwrap();
}

/// One receiver's send slots are shared by every consumer: what `a` reserved, `b` sees; a
/// refused slot reserves nothing; another receiver has its own.
pub async fn a_rate_limit_is_shared<S: AlertStore>(a: &S, b: &S) {
    use pulse_core::rate::{RateLimit, Slot};
    let limit = RateLimit::new(1.0, 2);
    let (t0, none) = (5_000_000, Duration::ZERO);
    let ten = Duration::from_secs(10);
    assert_eq!(
        a.reserve_slot("rl", limit, t0, none).await.unwrap(),
        Slot::Reserved(Duration::ZERO)
    );
    assert_eq!(
        b.reserve_slot("rl", limit, t0, none).await.unwrap(),
        Slot::Reserved(Duration::ZERO),
        "the burst of two"
    );
    assert_eq!(
        b.reserve_slot("rl", limit, t0, none).await.unwrap(),
        Slot::Full(Duration::from_secs(1))
    );
    assert_eq!(
        a.reserve_slot("rl", limit, t0, ten).await.unwrap(),
        Slot::Reserved(Duration::from_secs(1)),
        "the refusal reserved nothing"
    );
    assert_eq!(
        b.reserve_slot("rl", limit, t0 + 500, ten).await.unwrap(),
        Slot::Reserved(Duration::from_millis(1500))
    );
    assert_eq!(
        a.reserve_slot("rl-other", limit, t0, none).await.unwrap(),
        Slot::Reserved(Duration::ZERO)
    );
}
