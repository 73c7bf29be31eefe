//! Read cost: a steady-state tick of the keys read mode examines O(new items, watched keys
//! and the discovery slice), a whole-table Scan O(table), on the same 10,000-item table.
//!
//! Few keys, many items each: moto answers each Query by walking the whole table, so a tick
//! costs keys × table there (200 keys of 100 items took a minute a tick, close to the
//! lease's 90 s on a loaded machine); DynamoDB reads only the key's items.

use detector::handler::system_now;
use pulse_adapters::dynamodb::ReadMode;
use pulse_tests::Stack;
use pulse_tests::read_path::{keys_mode, new_items, old_items};

const KEYS: usize = 50;
const PER_KEY: usize = 200;
const NEW_KEYS: usize = 20;
const SLICE: u64 = 100;

#[tokio::test]
async fn a_steady_state_tick_examines_what_is_new_not_the_table() {
    let stack = Stack::start().await;
    let now = system_now();
    let old = old_items(KEYS, PER_KEY, now);
    assert_eq!(old.len(), 10_000);
    stack.load_coins(&old).await;
    let keys = stack
        .detector_reading(keys_mode(25_000, SLICE as i64))
        .await;

    // First tick, empty state: the first full discovery reads the table once.
    let first = keys.tick().await.unwrap();
    assert_eq!(first.keys_discovered, KEYS as u64, "{first:?}");
    assert!(first.discovery_examined >= old.len() as u64, "{first:?}");
    assert_eq!(first.records, 0, "nothing is new: {first:?}");

    let new = new_items(NEW_KEYS, now);
    stack.load_coins(&new).await;
    let steady = keys.tick().await.unwrap();
    assert_eq!(steady.records, new.len(), "{steady:?}");
    assert_eq!(steady.keys_queried, KEYS as u64, "{steady:?}");
    assert!(steady.discovery_examined <= SLICE, "{steady:?}");
    assert_eq!(
        steady.items_examined,
        new.len() as u64 + steady.discovery_examined,
        "a Query examines only its key's new items: {steady:?}"
    );
    assert!(
        steady.read_units > 0.0,
        "every request reports its consumed capacity: {steady:?}"
    );

    // The same tick as a whole-table Scan examines every item.
    let scan = stack.detector_reading(ReadMode::Scan { segments: 2 }).await;
    let scanned = scan.tick().await.unwrap();
    assert_eq!(scanned.records, new.len(), "{scanned:?}");
    assert_eq!(
        scanned.items_examined,
        (old.len() + new.len()) as u64,
        "{scanned:?}"
    );
    assert!(
        scanned.items_examined > 100 * steady.items_examined / 2,
        "{scanned:?} vs {steady:?}"
    );
}
