//! The checkpoint store's contract: a commit is all-or-nothing and may be repeated, loads
//! return exactly the committed states of the keys asked for, and the watermark only rises.

use pulse_core::ports::{CheckpointStore, Commit};
use pulse_core::record::{Sections, UnixSecs};
use pulse_core::state::{EntityState, StateMap};

/// A state whose `last_time` marks which commit wrote it.
fn state(version: UnixSecs) -> EntityState {
    EntityState {
        last_time: Some(version),
        present_chains: vec!["ethereum".into()],
        ..Default::default()
    }
}

fn states(pairs: &[(&str, UnixSecs)]) -> StateMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), state(*v)))
        .collect()
}

/// The table the contracts commit watermarks for.
const TABLE: &str = "events";

async fn commit<S: CheckpointStore>(store: &S, states: &StateMap, watermark: Option<UnixSecs>) {
    let sections = Sections::default();
    store
        .commit(Commit {
            states,
            current: &[],
            history: &[],
            watermark: watermark.map(|w| (TABLE, w)),
            now: 1_796_083_200,
            sections: &sections,
        })
        .await
        .unwrap_or_else(|e| panic!("commit: {e}"));
}

async fn load<S: CheckpointStore>(store: &S, keys: &[&str]) -> StateMap {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    store
        .load(&keys)
        .await
        .unwrap_or_else(|e| panic!("load: {e}"))
}

async fn watermark<S: CheckpointStore>(store: &S) -> Option<UnixSecs> {
    store
        .watermark(TABLE)
        .await
        .unwrap_or_else(|e| panic!("watermark: {e}"))
}

/// Runs every contract, each on a fresh, empty store from `fresh`.
pub async fn suite<S: CheckpointStore + Sync>(mut fresh: impl AsyncFnMut() -> S) {
    starts_empty(&fresh().await).await;
    loads_exactly_the_committed_states(&fresh().await).await;
    watermark_only_rises(&fresh().await).await;
    a_repeated_commit_changes_nothing(&fresh().await).await;
    readers_never_see_a_watermark_before_its_states(&fresh().await).await;
}

pub async fn starts_empty<S: CheckpointStore>(store: &S) {
    assert_eq!(watermark(store).await, None, "a new store has no watermark");
    assert!(load(store, &["price:a"]).await.is_empty());
    assert!(load(store, &[]).await.is_empty());
}

pub async fn loads_exactly_the_committed_states<S: CheckpointStore>(store: &S) {
    commit(store, &states(&[("price:a", 1), ("tvl:b", 1)]), None).await;
    let got = load(store, &["price:a", "price:missing"]).await;
    assert_eq!(
        got,
        states(&[("price:a", 1)]),
        "the keys asked for that exist, as committed"
    );
    // A later commit replaces its keys and leaves the others.
    commit(store, &states(&[("price:a", 2)]), None).await;
    assert_eq!(
        load(store, &["price:a", "tvl:b"]).await,
        states(&[("price:a", 2), ("tvl:b", 1)])
    );
    assert_eq!(
        watermark(store).await,
        None,
        "a commit without a watermark leaves it"
    );
}

pub async fn watermark_only_rises<S: CheckpointStore>(store: &S) {
    commit(store, &StateMap::default(), Some(1_000)).await;
    assert_eq!(watermark(store).await, Some(1_000));
    commit(store, &StateMap::default(), Some(500)).await;
    assert_eq!(
        watermark(store).await,
        Some(1_000),
        "an older watermark (an overlapping invocation) does not lower it"
    );
    commit(store, &states(&[("price:a", 3)]), None).await;
    assert_eq!(watermark(store).await, Some(1_000));
    commit(store, &StateMap::default(), Some(1_001)).await;
    assert_eq!(watermark(store).await, Some(1_001));
}

pub async fn a_repeated_commit_changes_nothing<S: CheckpointStore>(store: &S) {
    let batch = states(&[("price:a", 7), ("price:b", 7)]);
    commit(store, &batch, Some(7)).await;
    let first = (
        load(store, &["price:a", "price:b"]).await,
        watermark(store).await,
    );
    // A batch redone after a lost acknowledgement commits the same again.
    commit(store, &batch, Some(7)).await;
    let second = (
        load(store, &["price:a", "price:b"]).await,
        watermark(store).await,
    );
    assert_eq!(first, second);
    assert_eq!(first, (batch, Some(7)));
}

/// A commit's states and watermark become visible together: a reader that sees watermark `w`
/// then reads the state sees the commit of `w` or a later one.
pub async fn readers_never_see_a_watermark_before_its_states<S: CheckpointStore + Sync>(store: &S) {
    const COMMITS: UnixSecs = 40;
    let writer = async {
        for v in 1..=COMMITS {
            commit(store, &states(&[("price:a", v)]), Some(v)).await;
        }
    };
    let reader = async {
        let mut seen = 0;
        while seen < COMMITS {
            let Some(w) = watermark(store).await else {
                tokio::task::yield_now().await;
                continue;
            };
            let got = load(store, &["price:a"]).await;
            let version = got.get("price:a").and_then(|s| s.last_time);
            assert!(
                version >= Some(w),
                "watermark {w} visible before its state (state of commit {version:?})"
            );
            seen = w;
        }
    };
    futures::join!(writer, reader);
}
