//! The alert ledger's contract: an alert recorded as sent stays sent, per event id; recording
//! again is harmless; ids never recorded are unsent.

use pulse_core::ports::AlertLedger;
use std::collections::HashSet;
use uuid::Uuid;

fn ids(n: u128, base: u128) -> Vec<Uuid> {
    (0..n).map(|i| Uuid::from_u128(base + i)).collect()
}

async fn unsent<L: AlertLedger>(ledger: &L, ids: &[Uuid]) -> HashSet<Uuid> {
    ledger
        .unsent(ids)
        .await
        .unwrap_or_else(|e| panic!("unsent: {e}"))
}

async fn mark<L: AlertLedger>(ledger: &L, ids: &[Uuid]) {
    ledger
        .mark_sent(ids)
        .await
        .unwrap_or_else(|e| panic!("mark_sent: {e}"));
}

/// Runs every contract on one ledger (each uses its own ids).
pub async fn suite<L: AlertLedger>(ledger: &L) {
    nothing_is_sent_at_first(ledger).await;
    sent_is_per_event_and_idempotent(ledger).await;
}

pub async fn nothing_is_sent_at_first<L: AlertLedger>(ledger: &L) {
    let fresh = ids(3, 1_000);
    assert_eq!(
        unsent(ledger, &fresh).await,
        fresh.iter().copied().collect()
    );
    assert!(unsent(ledger, &[]).await.is_empty());
    mark(ledger, &[]).await;
}

pub async fn sent_is_per_event_and_idempotent<L: AlertLedger>(ledger: &L) {
    let all = ids(4, 2_000);
    mark(ledger, &all[..2]).await;
    assert_eq!(
        unsent(ledger, &all).await,
        all[2..].iter().copied().collect(),
        "exactly the ids not recorded"
    );
    // A redone batch records the same ids again, with a new one.
    mark(ledger, &all[1..3]).await;
    assert_eq!(
        unsent(ledger, &all).await,
        HashSet::from([all[3]]),
        "recording again keeps what was sent"
    );
    assert_eq!(
        unsent(ledger, &[all[3], all[3], all[0]]).await,
        HashSet::from([all[3]]),
        "a repeated id is answered once"
    );
}
