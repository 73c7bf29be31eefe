//! Redrive benchmark against an SQS endpoint (the emulator, started by scripts/bench-dlq.sh):
//! fills a fresh dead-letter queue with N messages and redrives them all, once at an unlimited
//! rate and once at a limit, printing messages per second and how close the limit held.
//!
//! cargo run --release -p dlq-redrive --example bench_redrive -- <endpoint> [messages] [rate]
//! cargo run --release -p dlq-redrive --example bench_redrive -- memory [messages] [rate]
//!
//! `memory` runs the same redrive against an in-memory queue (no emulator), to measure the rate
//! limiter where the emulator is too slow to reach the limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use dlq_redrive::ops::{self, Budget};
use dlq_redrive::request::RedriveRequest;
use pulse_adapters::sqs::SqsQueue;
use pulse_core::ports::PortError;
use pulse_core::ports::queue::Queue;
use pulse_core::ports::queue::{
    EntryFailure, Handle, Message, MoveTask, OutMessage, QueueCounts, StartOutcome,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

/// Two in-memory queues, "dlq" and "alerts": receive hands out the next messages, send and
/// delete count. Enough for the redrive loop; no visibility bookkeeping is needed because a
/// redrive deletes or releases everything it receives.
#[derive(Default)]
struct MemoryQueue {
    dlq: Mutex<VecDeque<Message>>,
    sent: Mutex<u64>,
}

impl Queue for MemoryQueue {
    async fn receive(&self, _: &str, max: i32, _: i32, _: i32) -> Result<Vec<Message>, PortError> {
        let mut q = self.dlq.lock().unwrap();
        let n = (max as usize).min(q.len());
        Ok(q.drain(..n).collect())
    }
    async fn set_visibility(
        &self,
        _: &str,
        _: &[Handle],
        _: i32,
    ) -> Result<Vec<EntryFailure>, PortError> {
        Ok(Vec::new())
    }
    async fn send_batch(&self, _: &str, m: &[OutMessage]) -> Result<Vec<EntryFailure>, PortError> {
        *self.sent.lock().unwrap() += m.len() as u64;
        Ok(Vec::new())
    }
    async fn delete_batch(&self, _: &str, _: &[Handle]) -> Result<Vec<EntryFailure>, PortError> {
        Ok(Vec::new())
    }
    async fn counts(&self, url: &str) -> Result<QueueCounts, PortError> {
        let visible = if url == "alerts" {
            *self.sent.lock().unwrap()
        } else {
            self.dlq.lock().unwrap().len() as u64
        };
        Ok(QueueCounts {
            visible,
            ..Default::default()
        })
    }
    async fn queue_arn(&self, url: &str) -> Result<String, PortError> {
        Ok(url.to_string())
    }
    async fn dead_letter_sources(&self, _: &str) -> Result<Vec<String>, PortError> {
        Ok(vec!["alerts".into()])
    }
    async fn start_move_task(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<i32>,
    ) -> Result<StartOutcome, PortError> {
        Err(PortError::permanent("not in memory"))
    }
    async fn list_move_tasks(&self, _: &str) -> Result<Vec<MoveTask>, PortError> {
        Ok(Vec::new())
    }
    async fn cancel_move_task(&self, _: &str) -> Result<i64, PortError> {
        Ok(0)
    }
}

async fn in_memory(n: usize, limit: f64) {
    println!(
        "| rate limit | messages | moved | elapsed (s) | msg/s (run) | msg/s (first send to last ack) | vs limit |"
    );
    println!("|---|---|---|---|---|---|---|");
    for rate in [None, Some(limit)] {
        let q = MemoryQueue::default();
        q.dlq.lock().unwrap().extend((0..n).map(|i| Message {
            id: format!("m{i}"),
            receipt_handle: format!("r{i}"),
            body: r#"{"event":{"eventType":"alert"}}"#.into(),
            attributes: BTreeMap::new(),
            receive_count: 4,
            sent_at_ms: Some(0),
        }));
        let req = RedriveRequest {
            rate_per_second: rate,
            ..Default::default()
        };
        let start = Instant::now();
        let r = ops::redrive(&q, "dlq", None, 3, &req, Budget::unlimited())
            .await
            .unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(r.moved as usize, n);
        print_row(rate, n, r.moved, secs, r.achieved_rate);
    }
}

fn print_row(rate: Option<f64>, n: usize, moved: u64, secs: f64, achieved: f64) {
    let deviation = rate.map_or("-".to_string(), |l| {
        format!("{:+.1} %", (achieved - l) / l * 100.0)
    });
    println!(
        "| {} | {n} | {moved} | {secs:.2} | {:.1} | {achieved:.1} | {deviation} |",
        rate.map_or("unlimited".into(), |l| format!("{l}/s")),
        n as f64 / secs,
    );
}

/// A queue `name` and its dead-letter queue, as Terraform makes them.
async fn fresh_pair(client: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let q = pulse_tests::Queues::create(client, name).await;
    (q.url, q.dlq_url)
}

async fn fill(client: &aws_sdk_sqs::Client, url: &str, n: usize) {
    let body = r#"{"event":{"eventType":"alert","data":{"severity":"critical","protocolId":"111"}},"priority":"high","retryCount":0,"timestamp":0}"#;
    for start in (0..n).step_by(10) {
        let entries = (start..(start + 10).min(n))
            .map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("e{i}"))
                    .message_body(body)
                    .build()
                    .unwrap()
            })
            .collect();
        client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .expect("usage: bench_redrive <endpoint> [messages] [rate]");
    let n: usize = args.next().map_or(1_000, |s| s.parse().unwrap());
    let limit: f64 = args.next().map_or(50.0, |s| s.parse().unwrap());
    if endpoint == "memory" {
        return in_memory(n, limit).await;
    }
    let client = pulse_tests::aws::sqs_client(&endpoint);
    let queue = SqsQueue::new(client.clone());
    println!(
        "| rate limit | messages | moved | elapsed (s) | msg/s (run) | msg/s (first send to last ack) | vs limit |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (i, rate) in [None, Some(limit)].into_iter().enumerate() {
        let (alerts, dlq) = fresh_pair(&client, &format!("bench-{i}")).await;
        fill(&client, &dlq, n).await;
        let req = RedriveRequest {
            rate_per_second: rate,
            ..Default::default()
        };
        let start = Instant::now();
        let r = ops::redrive(&queue, &dlq, None, 3, &req, Budget::unlimited())
            .await
            .unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(r.moved as usize, n, "{r:?}");
        assert!(r.failed.is_empty());
        assert_eq!(queue.counts(&alerts).await.unwrap().visible as usize, n);
        print_row(rate, n, r.moved, secs, r.achieved_rate);
    }
}
