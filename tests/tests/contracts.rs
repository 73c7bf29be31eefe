//! The port contracts (`pulse_tests::contract`), each run against the in-memory
//! implementation of `pulse_core::ports` and the real adapter of `pulse_adapters` on a real
//! `redis-server` or `moto_server`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alert_consumer::secrets::Secret;
use aws_sdk_ssm::types::ParameterType;
use pulse_adapters::redis::{RedisPorts, RedisSettings, RedisStore};
use pulse_adapters::ssm::SsmSecrets;
use pulse_core::ports::{
    MemoryAlertLedger, MemoryAlertStore, MemoryCheckpointStore, MemoryQueue, MemorySecrets,
};
use pulse_tests::contract::alert_store::LeaseExpiry;
use pulse_tests::contract::queue::Urls;
use pulse_tests::contract::{alert_store, checkpoint, ledger, queue, secrets};
use pulse_tests::{RedisServer, Stack};

async fn redis_ports(redis: &RedisServer) -> RedisPorts {
    RedisPorts::connect(&RedisSettings::new(redis.url()))
        .await
        .unwrap()
}

#[tokio::test]
async fn checkpoint_store_in_memory() {
    checkpoint::suite(async || MemoryCheckpointStore::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_store_on_redis() {
    let redis = RedisServer::start();
    checkpoint::suite(async || {
        redis.command("FLUSHALL");
        redis_ports(&redis).await
    })
    .await;
}

#[tokio::test]
async fn alert_ledger_in_memory() {
    ledger::suite(&MemoryAlertLedger::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_ledger_on_redis() {
    let redis = RedisServer::start();
    ledger::suite(&redis_ports(&redis).await).await;
}

#[tokio::test]
async fn alert_store_in_memory() {
    let store = MemoryAlertStore::default();
    alert_store::suite(&store, &store, LeaseExpiry::NotModelled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_store_on_redis() {
    let redis = RedisServer::start();
    let connect = || RedisStore::connect(&Secret::new(redis.url())).unwrap();
    alert_store::suite(&connect(), &connect(), LeaseExpiry::Enforced).await;
}

#[tokio::test]
async fn queue_in_memory() {
    let q = MemoryQueue::default();
    let urls = Urls {
        url: "memory://pulse-alerts".into(),
        dlq: "memory://pulse-alerts-dlq".into(),
    };
    q.add_queue(&urls.url).unwrap();
    q.add_queue(&urls.dlq).unwrap();
    q.add_dead_letter_source(&urls.dlq, &urls.url).unwrap();
    queue::suite(&q, &urls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_on_sqs() {
    let stack = Stack::builder().queues().start().await;
    let q = stack.queues();
    let urls = Urls {
        url: q.url.clone(),
        dlq: q.dlq_url.clone(),
    };
    queue::suite(&q.queue, &urls).await;
}

#[tokio::test]
async fn secret_source_in_memory() {
    let params = secrets::parameters();
    let source = MemorySecrets::new(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    secrets::suite(&source).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_source_on_ssm() {
    let stack = Stack::builder().moto().start().await;
    let client = aws_sdk_ssm::Client::new(stack.aws());
    for (name, value) in secrets::parameters() {
        client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
    secrets::suite(&SsmSecrets::from_client(client)).await;
}
