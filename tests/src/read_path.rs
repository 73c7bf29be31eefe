//! Tables of old and new price items for the read-path tests and figures: `keys` tokens
//! with `per_key` old items each (days ago), then a few new ones, written 25 at a time.

use crate::stack::Stack;
use crate::tables::COINS_TABLE;
use detector::handler::RealDetector;
use pulse_adapters::dynamodb::{KeysMode, ReadMode};
use pulse_core::record::UnixSecs;
use serde_json::{Value, json};

/// One price item of token `i` at `sk`.
pub fn price_item(i: usize, sk: UnixSecs, price: f64) -> Value {
    json!({"PK": format!("coingecko#tok-{i}"), "SK": sk, "price": price, "symbol": "TOK", "timestamp": sk})
}

/// `keys × per_key` items, the newest three days before `now`, one a minute per key.
pub fn old_items(keys: usize, per_key: usize, now: UnixSecs) -> Vec<Value> {
    let newest = now - 3 * 86_400;
    (0..keys)
        .flat_map(|i| {
            (0..per_key).map(move |j| price_item(i, newest - 60 * j as i64, 1.0 + j as f64 * 1e-4))
        })
        .collect()
}

/// Two new items for each of the first `keys` tokens, a minute apart, ending a minute
/// before `now`.
pub fn new_items(keys: usize, now: UnixSecs) -> Vec<Value> {
    (0..keys)
        .flat_map(|i| {
            [
                price_item(i, now - 120, 1.0),
                price_item(i, now - 60, 1.0005),
            ]
        })
        .collect()
}

impl Stack {
    /// Writes old and new items to the coins table.
    pub async fn load_coins(&self, items: &[Value]) {
        self.put(COINS_TABLE, items).await;
    }

    /// The detector with this read mode (the rest as [`Stack::detector`]).
    pub async fn detector_reading(&self, mode: ReadMode) -> RealDetector {
        let mut d = self.detector().await;
        d.source.mode = mode;
        d
    }
}

/// The keys read mode with a first discovery pass of `first_pass_items` and a slice of at
/// least `min_slice_items`.
pub fn keys_mode(first_pass_items: i64, min_slice_items: i64) -> ReadMode {
    ReadMode::Keys(KeysMode {
        first_pass_items,
        min_slice_items,
        ..KeysMode::default()
    })
}
