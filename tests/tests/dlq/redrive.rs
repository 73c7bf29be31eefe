//! inspect and redrive against moto with a real redrive policy.

use crate::proxy::RefuseEvery;
use dlq_redrive::filter::Filter;
use dlq_redrive::ops::{self, Budget};
use dlq_redrive::report::StopReason;
use dlq_redrive::request::{InspectRequest, RedriveRequest};
use pulse_adapters::sqs::SqsQueue;
use pulse_core::ports::queue::QueueCounts;
use pulse_tests::aws::sqs_client;
use pulse_tests::{Queues, Stack};
use std::time::{Duration, Instant};

fn filter(v: serde_json::Value) -> Filter {
    serde_json::from_value(v).unwrap()
}

async fn stack_with_50_dead() -> Stack {
    let stack = Stack::builder().queues().start().await;
    let s = stack.queues();
    s.put_mixed().await;
    s.fail_into_dlq().await;
    assert_eq!(
        s.counts(&s.dlq_url).await.visible,
        50,
        "all 50 dead-lettered"
    );
    stack
}

fn visible(n: u64) -> QueueCounts {
    QueueCounts {
        visible: n,
        in_flight: 0,
        delayed: 0,
    }
}

/// Indexes in both queues together are exactly 0..50: nothing lost, nothing doubled.
async fn assert_conserved(s: &Queues) -> (Vec<usize>, Vec<usize>) {
    let dlq: Vec<usize> = s
        .take_all(&s.dlq_url)
        .await
        .iter()
        .map(|t| t.index)
        .collect();
    let alerts: Vec<usize> = s.take_all(&s.url).await.iter().map(|t| t.index).collect();
    let mut all: Vec<usize> = dlq.iter().chain(&alerts).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..50).collect::<Vec<_>>(),
        "dlq {dlq:?} alerts {alerts:?}"
    );
    (dlq, alerts)
}

#[tokio::test]
async fn inspect_reports_the_dead_letters_and_leaves_all_50_in_place() {
    let stack = stack_with_50_dead().await;
    let s = stack.queues();
    let req = InspectRequest {
        samples: Some(3),
        sample_bytes: Some(40),
        ..Default::default()
    };
    let r = ops::inspect(&s.queue, &s.dlq_url, &req, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(r.examined, 50);
    assert_eq!(r.matched, 50);
    assert_eq!(r.stopped, StopReason::QueueEmpty);
    let t = &r.tallies;
    assert_eq!(t.by_event_type["alert"], 30);
    assert_eq!(t.by_event_type["price_update"], 10);
    assert_eq!(t.by_event_type["tvl_change"], 5);
    assert_eq!(t.by_event_type["unparsed"], 3);
    assert_eq!(t.by_event_type["unknown"], 2);
    assert_eq!(t.by_severity["critical"], 10);
    assert_eq!(t.by_severity["warning"], 10);
    assert_eq!(t.by_severity["info"], 10);
    assert_eq!(t.by_protocol["111"], 5);
    assert_eq!(t.by_protocol["100"], 3);
    assert_eq!(t.by_token["coingecko:bitcoin"], 10);
    // moto moves a message on its 4th receive; inspecting receives it once more.
    assert_eq!(t.by_receive_count.values().sum::<u64>(), 50);
    assert!(
        t.by_receive_count
            .keys()
            .all(|k| k.parse::<u32>().unwrap() > 3),
        "{:?}",
        t.by_receive_count
    );
    assert_eq!(t.by_age["<5m"], 50);
    assert_eq!(t.by_redrive_count["0"], 50);
    assert_eq!(r.samples.len(), 3);
    assert!(
        r.samples
            .iter()
            .all(|x| x.body.len() <= 40 && x.body_truncated)
    );
    assert_eq!(r.samples[0].attributes["origin"], "detector");
    assert!(r.release_failures.is_empty());
    assert_eq!(r.queue, visible(50), "every message visible again at once");

    // A filtered inspect counts only the matches, and still leaves everything.
    let req = InspectRequest {
        filter: filter(serde_json::json!({"body_contains": "receiver said 502"})),
        ..Default::default()
    };
    let r = ops::inspect(&s.queue, &s.dlq_url, &req, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!((r.examined, r.matched), (50, 3));
    assert_eq!(r.tallies.by_event_type["unparsed"], 3);
    assert_eq!(s.counts(&s.dlq_url).await, visible(50));
    assert_eq!(s.take_all(&s.dlq_url).await.len(), 50);
}

#[tokio::test]
async fn filtered_redrive_moves_exactly_the_matching_messages() {
    let stack = stack_with_50_dead().await;
    let s = stack.queues();
    let f = filter(serde_json::json!({"event_type": ["alert"], "severity": ["critical"]}));

    // Dry run first: says what would move, moves nothing.
    let dry = RedriveRequest {
        dry_run: true,
        filter: f.clone(),
        reason: Some("test".into()),
        ..Default::default()
    };
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &dry, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(
        r.destination_queue_url, s.url,
        "found via ListDeadLetterSourceQueues"
    );
    assert_eq!(r.destination_from, "redrive_relationship");
    assert_eq!((r.would_move, r.moved, r.examined), (10, 0, 50));
    assert_eq!(r.would_move_ids.len(), 10);
    assert_eq!(r.skipped["filter"], 40);
    assert_eq!(s.counts(&s.dlq_url).await, visible(50));
    assert_eq!(s.counts(&s.url).await, visible(0));

    let real = RedriveRequest {
        dry_run: false,
        ..dry
    };
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &real, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(r.moved, 10);
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.skipped["filter"], 40);
    assert_eq!(r.moving.by_severity["critical"], 10);
    assert_eq!(r.remaining, visible(40));
    assert!(r.complete);

    let (dlq, alerts) = assert_conserved(s).await;
    let critical: Vec<usize> = (0..30).filter(|i| i % 3 == 0).collect();
    assert_eq!(alerts, critical);
    assert_eq!(dlq.len(), 40);
}

#[tokio::test]
async fn redriven_copies_keep_body_and_attributes_and_count_the_redrive() {
    let stack = stack_with_50_dead().await;
    let s = stack.queues();
    let req = RedriveRequest {
        filter: filter(
            serde_json::json!({"json_pointer": {"pointer": "/event/data/protocolId", "equals": 111}}),
        ),
        ..Default::default()
    };
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &req, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(r.moved, 5);
    let moved = s.take_all(&s.url).await;
    assert_eq!(
        moved.iter().map(|t| t.index).collect::<Vec<_>>(),
        vec![40, 41, 42, 43, 44]
    );
    for t in &moved {
        assert_eq!(t.body, pulse_tests::fixtures::mixed_body(t.index));
        assert_eq!(t.attrs["origin"], "detector");
        assert_eq!(t.attrs["redriveCount"], "1");
    }
}

#[tokio::test]
async fn counts_are_conserved_when_the_destination_refuses_some_batches() {
    let stack = stack_with_50_dead().await;
    let s = stack.queues();
    // Every second SendMessageBatch is refused on the way to moto.
    let proxy = RefuseEvery::start(stack.moto().port, 2);
    let through_proxy = SqsQueue::new(sqs_client(&proxy.endpoint()));
    let req = RedriveRequest::default();
    let r = ops::redrive(
        &through_proxy,
        &s.dlq_url,
        None,
        3,
        &req,
        Budget::unlimited(),
    )
    .await
    .unwrap();
    assert_eq!(
        proxy
            .intercept
            .send_batches
            .load(std::sync::atomic::Ordering::SeqCst),
        5
    );
    assert_eq!(
        proxy
            .intercept
            .refused
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
    assert_eq!(r.moved + r.failed.len() as u64, 50, "{r:?}");
    assert_eq!(r.failed.len(), 20, "batches 2 and 4 of 5 refused");
    assert!(r.failed.iter().all(|f| f.stage == "send" && !f.retryable));
    assert!(
        r.failed[0].error.contains("refused by the test proxy"),
        "{}",
        r.failed[0].error
    );
    assert_eq!(
        r.remaining,
        visible(20),
        "refused messages are back in the dead-letter queue"
    );
    assert_eq!(s.counts(&s.url).await, visible(30));

    // A second call, with the destination healthy, brings back the rest.
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &req, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!((r.moved, r.failed.len()), (20, 0));
    let (dlq, alerts) = assert_conserved(s).await;
    assert!(dlq.is_empty());
    assert_eq!(alerts.len(), 50);
}

#[tokio::test]
async fn a_deleted_destination_loses_nothing_and_stops_the_run() {
    let stack = stack_with_50_dead().await;
    let s = stack.queues();
    let gone = s
        .client
        .create_queue()
        .queue_name("gone")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // Move 10 there, then delete it midway through the work.
    let first = RedriveRequest {
        destination_queue_url: Some(s.url.clone()),
        max_messages: Some(10),
        ..Default::default()
    };
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &first, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!((r.moved, r.stopped), (10, StopReason::MaxMessages));
    s.client
        .delete_queue()
        .queue_url(&gone)
        .send()
        .await
        .unwrap();
    let req = RedriveRequest {
        destination_queue_url: Some(gone),
        ..Default::default()
    };
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &req, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(r.moved, 0);
    assert_eq!(r.stopped, StopReason::DestinationError);
    assert_eq!(
        r.failed.len(),
        30,
        "three batches refused, then the run stops"
    );
    assert!(!r.complete);
    assert_eq!(r.remaining, visible(40));
    let (dlq, alerts) = assert_conserved(s).await;
    assert_eq!((dlq.len(), alerts.len()), (40, 10));
}

#[tokio::test]
async fn loop_guard_leaves_a_message_redriven_past_the_maximum_in_place() {
    let stack = Stack::builder().queues().start().await;
    let s = stack.queues();
    s.send_indexed(&s.url, 7, &pulse_tests::fixtures::mixed_body(7), &[])
        .await;
    let req = RedriveRequest::default();
    // Redriven three times, failing each time...
    for round in 1..=3 {
        s.fail_into_dlq().await;
        let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &req, Budget::unlimited())
            .await
            .unwrap();
        assert_eq!(r.moved, 1, "round {round}");
    }
    // ... the fourth time it stays and is reported.
    s.fail_into_dlq().await;
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &req, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(r.moved, 0);
    assert_eq!(r.skipped["redrive_limit"], 1);
    assert_eq!(r.remaining, visible(1));
    let left = s.take_all(&s.dlq_url).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].attrs["redriveCount"], "3");
    // A higher maximum for this request lets it go once more.
    s.send_indexed(&s.dlq_url, 8, "poison", &[("redriveCount", "3")])
        .await;
    let more = RedriveRequest {
        max_redrive_count: Some(4),
        filter: filter(serde_json::json!({"body_contains": "poison"})),
        ..Default::default()
    };
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &more, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(r.moved, 1);
}

#[tokio::test]
async fn a_redrive_that_does_not_fit_the_time_budget_stops_and_a_second_call_finishes() {
    let stack = stack_with_50_dead().await;
    let s = stack.queues();
    let req = RedriveRequest {
        rate_per_second: Some(10.0),
        ..Default::default()
    };
    let started = Instant::now();
    let budget = Budget::until(Instant::now() + Duration::from_secs(3));
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &req, budget)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.stopped, StopReason::Deadline);
    assert!(!r.complete);
    assert!(r.moved > 0 && r.moved < 50, "{}", r.moved);
    assert!(r.failed.is_empty());
    assert_eq!(r.remaining.visible + r.moved, 50, "{r:?}");
    let first = r.moved;

    let r = ops::redrive(
        &s.queue,
        &s.dlq_url,
        None,
        3,
        &RedriveRequest::default(),
        Budget::unlimited(),
    )
    .await
    .unwrap();
    assert_eq!(r.moved, 50 - first);
    assert!(r.complete);
    let (dlq, alerts) = assert_conserved(s).await;
    assert_eq!((dlq.len(), alerts.len()), (0, 50));
}

/// `pulse dlq redrive` without `--yes` moves at most what its dry run counted: a run capped at
/// exactly the matching messages moved them all and must say complete, not "run again".
#[tokio::test]
async fn a_redrive_capped_at_exactly_what_matches_is_complete() {
    let stack = stack_with_50_dead().await;
    let s = stack.queues();
    let critical = || filter(serde_json::json!({"severity": ["critical"]}));
    let dry = RedriveRequest {
        dry_run: true,
        filter: critical(),
        ..Default::default()
    };
    let d = ops::redrive(&s.queue, &s.dlq_url, None, 3, &dry, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!((d.would_move, d.complete), (10, true));

    // The confirmed run, as the CLI sends it: capped at the dry run's count.
    let req = RedriveRequest {
        max_messages: Some(d.would_move),
        filter: critical(),
        ..Default::default()
    };
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &req, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(r.moved, 10);
    assert_eq!(r.stopped, StopReason::QueueEmpty, "{r:?}");
    assert!(r.complete, "everything that matched moved: {r:?}");
    assert_eq!(r.remaining, visible(40));

    // A cap below what matches still stops at the first message it would have moved.
    let more = RedriveRequest {
        max_messages: Some(5),
        filter: filter(serde_json::json!({"severity": ["warning"]})),
        ..Default::default()
    };
    let r = ops::redrive(&s.queue, &s.dlq_url, None, 3, &more, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(
        (r.moved, r.stopped, r.complete),
        (5, StopReason::MaxMessages, false)
    );
    assert!(
        r.skipped.get("max_messages").is_some_and(|n| *n >= 1),
        "{r:?}"
    );
    let (dlq, alerts) = assert_conserved(s).await;
    assert_eq!((dlq.len(), alerts.len()), (35, 15));
}
