//! The detector's Redis adapter over TLS (`rediss://`), as against ElastiCache with transit
//! encryption: a `redis-server` with a TLS port and a throwaway self-signed certificate. The
//! round trip runs in a child process that trusts that certificate through `SSL_CERT_FILE`,
//! so the certificate is verified exactly as in production (no `#insecure`).

use pulse_adapters::redis::{RedisPorts, RedisSettings};
use pulse_core::keys;
use pulse_core::ports::{CheckpointStore, Commit};
use pulse_core::state::StateMap;
use pulse_tests::RedisServer;
use pulse_tests::servers::{in_child, run_test_in_child};
use std::time::{Duration, Instant};

/// The `rediss://` URL, for the child process.
const URL_ENV: &str = "PULSE_TEST_REDIS_TLS_URL";
const WATERMARK: i64 = 1_796_083_200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_and_reads_the_watermark_over_tls() {
    if in_child() {
        let url = std::env::var(URL_ENV).expect(URL_ENV);
        assert!(url.starts_with("rediss://"));
        // Connecting loads the scripts: already one round trip.
        let ports = RedisPorts::connect(&RedisSettings::new(url)).await.unwrap();
        assert_eq!(ports.watermark("events").await.unwrap(), None);
        assert!(ports.load(&["price:dai".into()]).await.unwrap().is_empty());
        let states = StateMap::default();
        ports
            .commit(Commit {
                states: &states,
                current: &[],
                history: &[],
                watermark: Some(("events", WATERMARK)),
                now: WATERMARK,
                sections: &Default::default(),
            })
            .await
            .unwrap();
        assert_eq!(ports.watermark("events").await.unwrap(), Some(WATERMARK));
        return;
    }
    let redis = RedisServer::start_tls();

    // Plaintext to the TLS port fails, so this cannot pass by not using TLS.
    let plain = format!("redis://127.0.0.1:{}/", redis.tls_port());
    let started = Instant::now();
    let e = RedisPorts::connect(&RedisSettings::new(plain))
        .await
        .unwrap_err();
    assert!(e.retryable, "{e:?}");
    // Within the detector's 55 s Lambda timeout (the retries once waited 100-200 s).
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a failing connect gives up in {:?}",
        started.elapsed()
    );
    // The certificate is verified: this process does not trust it.
    let e = RedisPorts::connect(&RedisSettings::new(redis.tls_url()))
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}");

    let module = module_path!().split_once("::").unwrap().1;
    run_test_in_child(
        &format!("{module}::commits_and_reads_the_watermark_over_tls"),
        &[
            ("SSL_CERT_FILE", redis.ca_cert().into_os_string()),
            (URL_ENV, redis.tls_url().into()),
        ],
    );
    assert_eq!(
        redis.command(&format!("GET {}", keys::WATERMARK)),
        WATERMARK.to_string(),
        "the child's commit reached this server"
    );
}
