//! The dead-letter queue port's contract: what is sent is received, released or deleted and
//! the counts add up at every step; receive counts rise per receive; attributes travel
//! unchanged; no call takes more than [`MAX_BATCH`] entries (SQS refuses more, the emulator
//! may not); the dead-letter queue knows its source.

use pulse_core::ports::queue::{
    AttrValue, Handle, MAX_BATCH, Message, OutMessage, Queue, QueueCounts,
};
use std::collections::BTreeMap;

/// Two queues of one implementation: `url`, empty, whose redrive policy points at `dlq`.
#[derive(Debug, Clone)]
pub struct Urls {
    pub url: String,
    pub dlq: String,
}

fn out(i: usize) -> OutMessage {
    OutMessage {
        entry_id: format!("e{i}"),
        body: format!("body {i}"),
        attributes: BTreeMap::from([
            ("index".to_string(), AttrValue::number(i as u64)),
            (
                "origin".to_string(),
                AttrValue {
                    data_type: "String".into(),
                    string: Some("detector".into()),
                    binary: None,
                },
            ),
        ]),
    }
}

async fn counts<Q: Queue>(q: &Q, url: &str) -> QueueCounts {
    q.counts(url)
        .await
        .unwrap_or_else(|e| panic!("counts: {e}"))
}

fn counts_of(visible: u64, in_flight: u64) -> QueueCounts {
    QueueCounts {
        visible,
        in_flight,
        delayed: 0,
    }
}

/// Receives until `n` messages came (a queue may answer with fewer than asked).
async fn receive_n<Q: Queue>(q: &Q, url: &str, n: usize) -> Vec<Message> {
    let mut got = Vec::new();
    for _ in 0..20 {
        if got.len() >= n {
            break;
        }
        let batch = q
            .receive(url, MAX_BATCH as i32, 300, 0)
            .await
            .unwrap_or_else(|e| panic!("receive: {e}"));
        assert!(
            batch.len() <= MAX_BATCH,
            "a receive returns at most {MAX_BATCH}"
        );
        got.extend(batch);
    }
    assert_eq!(got.len(), n, "received");
    got
}

/// Runs every contract on `urls` (the queue starts empty and is left empty).
pub async fn suite<Q: Queue>(q: &Q, urls: &Urls) {
    starts_empty(q, urls).await;
    counts_are_conserved(q, urls).await;
    batches_respect_max_batch(q, urls).await;
    the_dead_letter_queue_knows_its_source(q, urls).await;
}

pub async fn starts_empty<Q: Queue>(q: &Q, urls: &Urls) {
    assert_eq!(counts(q, &urls.url).await, counts_of(0, 0));
    assert!(q.receive(&urls.url, 10, 300, 0).await.unwrap().is_empty());
}

pub async fn counts_are_conserved<Q: Queue>(q: &Q, urls: &Urls) {
    let url = urls.url.as_str();
    let sent: Vec<OutMessage> = (0..MAX_BATCH).map(out).collect();
    let failed = q.send_batch(url, &sent).await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        counts(q, url).await,
        counts_of(10, 0),
        "all sent are waiting"
    );

    let got = receive_n(q, url, 10).await;
    let mut bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    bodies.sort_unstable();
    let mut expected: Vec<&str> = sent.iter().map(|m| m.body.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(bodies, expected, "each message received once");
    for m in &got {
        assert_eq!(m.receive_count, 1, "{}", m.body);
        let i: usize = m.body.trim_start_matches("body ").parse().unwrap();
        assert_eq!(
            m.attributes, sent[i].attributes,
            "attributes travel unchanged"
        );
    }
    assert_eq!(
        counts(q, url).await,
        counts_of(0, 10),
        "received are in flight"
    );

    // Release half, delete the other half.
    let (release, delete): (Vec<Handle>, Vec<Handle>) = (
        got[..5].iter().map(Message::handle).collect(),
        got[5..].iter().map(Message::handle).collect(),
    );
    assert!(q.set_visibility(url, &release, 0).await.unwrap().is_empty());
    assert_eq!(
        counts(q, url).await,
        counts_of(5, 5),
        "released are waiting again"
    );
    assert!(q.delete_batch(url, &delete).await.unwrap().is_empty());
    assert_eq!(counts(q, url).await, counts_of(5, 0), "deleted are gone");

    let again = receive_n(q, url, 5).await;
    for m in &again {
        assert_eq!(m.receive_count, 2, "received a second time: {}", m.body);
    }
    let handles: Vec<Handle> = again.iter().map(Message::handle).collect();
    assert!(q.delete_batch(url, &handles).await.unwrap().is_empty());
    assert_eq!(counts(q, url).await, counts_of(0, 0), "10 sent, 10 deleted");
}

pub async fn batches_respect_max_batch<Q: Queue>(q: &Q, urls: &Urls) {
    let url = urls.url.as_str();
    let too_many: Vec<OutMessage> = (0..=MAX_BATCH).map(out).collect();
    assert!(
        q.send_batch(url, &too_many).await.is_err(),
        "a send of {} entries is refused",
        too_many.len()
    );
    assert_eq!(counts(q, url).await, counts_of(0, 0), "and sends nothing");

    let failed = q.send_batch(url, &too_many[..MAX_BATCH]).await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let got = receive_n(q, url, MAX_BATCH).await;
    let mut handles: Vec<Handle> = got.iter().map(Message::handle).collect();
    handles.push(handles[0].clone());
    assert!(
        q.set_visibility(url, &handles, 0).await.is_err(),
        "a visibility change of {} entries is refused",
        handles.len()
    );
    assert!(
        q.delete_batch(url, &handles).await.is_err(),
        "a delete of {} entries is refused",
        handles.len()
    );
    assert_eq!(
        counts(q, url).await,
        counts_of(0, 10),
        "and changes nothing"
    );
    assert!(
        q.delete_batch(url, &handles[..MAX_BATCH])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(counts(q, url).await, counts_of(0, 0));
}

pub async fn the_dead_letter_queue_knows_its_source<Q: Queue>(q: &Q, urls: &Urls) {
    let name = urls.url.rsplit('/').next().unwrap();
    let arn = q.queue_arn(&urls.url).await.unwrap();
    assert!(arn.ends_with(&format!(":{name}")), "{arn} names {name}");
    assert_eq!(
        q.dead_letter_sources(&urls.dlq).await.unwrap(),
        vec![urls.url.clone()]
    );
    assert!(
        q.counts("http://127.0.0.1:1/000000000000/no-such-queue")
            .await
            .is_err(),
        "an unknown queue is an error"
    );
}
