//! The Redis store over TLS (`rediss://`), as against ElastiCache with transit encryption:
//! a `redis-server` with a TLS port and a throwaway self-signed certificate. The round trip
//! runs in a child process that trusts that certificate through `SSL_CERT_FILE`, so the
//! certificate is verified exactly as in production (no `#insecure`).

use alert_consumer::secrets::Secret;
use pulse_adapters::redis::RedisStore;
use pulse_core::ports::{AlertStore, Claim};
use pulse_tests::RedisServer;
use pulse_tests::servers::{in_child, run_test_in_child};
use std::time::Duration;

/// The `rediss://` URL, for the child process.
const URL_ENV: &str = "PULSE_TEST_REDIS_TLS_URL";
const EVENT_ID: &str = "tls-round-trip";
const TTL: Duration = Duration::from_secs(60);

fn store(url: String) -> RedisStore {
    RedisStore::connect(&Secret::new(url)).expect("a valid URL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_and_completes_over_tls() {
    if in_child() {
        let store = store(std::env::var(URL_ENV).expect(URL_ENV));
        let Claim::Acquired(lease) = store.claim(EVENT_ID, TTL).await.unwrap() else {
            panic!("a fresh event is acquired");
        };
        store.complete(&lease, TTL).await.unwrap();
        assert_eq!(store.claim(EVENT_ID, TTL).await.unwrap(), Claim::Completed);
        return;
    }
    let redis = RedisServer::start_tls();

    // Plaintext to the TLS port fails, so this cannot pass by not using TLS.
    let plain = store(format!("redis://127.0.0.1:{}/", redis.tls_port()));
    let e = plain.claim(EVENT_ID, TTL).await.unwrap_err();
    assert!(e.retryable, "{e:?}");
    // The certificate is verified: this process does not trust it.
    let untrusted = store(redis.tls_url());
    let e = untrusted.claim(EVENT_ID, TTL).await.unwrap_err();
    assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}");
    assert_eq!(
        redis.command(&format!(
            "EXISTS {}",
            pulse_core::keys::delivery_lock(EVENT_ID)
        )),
        ":0"
    );

    let module = module_path!().split_once("::").unwrap().1;
    run_test_in_child(
        &format!("{module}::claims_and_completes_over_tls"),
        &[
            ("SSL_CERT_FILE", redis.ca_cert().into_os_string()),
            (URL_ENV, redis.tls_url().into()),
        ],
    );
    assert_eq!(
        redis.command(&format!(
            "EXISTS {}",
            pulse_core::keys::delivery_done(EVENT_ID)
        )),
        ":1",
        "the child's round trip reached this server"
    );
}
