//! A subscriber to the detector's pub/sub channels (`events:*`) that keeps every message.

use futures::StreamExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Messages received on `events:*`, as (channel, payload).
pub struct Listener {
    pub messages: Arc<Mutex<Vec<(String, String)>>>,
    task: JoinHandle<()>,
}

impl Listener {
    pub async fn start(url: &str) -> Listener {
        let client = redis::Client::open(url).unwrap();
        let mut pubsub = client.get_async_pubsub().await.unwrap();
        pubsub.psubscribe("events:*").await.unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        let task = tokio::spawn(async move {
            let mut stream = pubsub.into_on_message();
            while let Some(msg) = stream.next().await {
                let channel = msg.get_channel_name().to_string();
                let payload: String = msg.get_payload().unwrap_or_default();
                sink.lock().unwrap().push((channel, payload));
            }
        });
        Listener { messages, task }
    }

    /// Waits until `n` messages arrived (or 5 s), then returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<(String, String)> {
        for _ in 0..100 {
            if self.messages.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.messages.lock().unwrap().clone()
    }

    /// Event ids and the channels each arrived on.
    pub fn by_event(messages: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (channel, payload) in messages {
            let v: Value = serde_json::from_str(payload).unwrap();
            out.entry(v["eventId"].as_str().unwrap().to_string())
                .or_default()
                .push(channel.clone());
        }
        out
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
