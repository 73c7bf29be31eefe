//! Silences as data: `pulse silence add | list | expire` against a real redis-server, and the
//! consumer muting, counting, then releasing deliveries (its clock set by the test).

use pulse_core::event::{AlertRule, Severity};
use pulse_tests::apps::pulse_binary;
use pulse_tests::fixtures::{alert, batch, body, message, one_webhook};
use pulse_tests::{FakeReceiver, RedisServer, consumer};
use std::process::{Command, Output, Stdio};

const MIN: i64 = 60_000;

fn silence(redis: &RedisServer, args: &[&str]) -> Output {
    let out = Command::new(pulse_binary())
        .arg("silence")
        .args(["--redis-url", &redis.url(), "--env-file", "/nonexistent"])
        .args(args)
        .env_remove(pulse_core::env::REDIS_URL)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "pulse silence {args:?}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn add_list_and_expire_through_the_cli() {
    let redis = RedisServer::start();
    let id = stdout(&silence(
        &redis,
        &[
            "add",
            "--match",
            "chain=ethereum",
            "--match",
            "severity!~info|warning",
            "--for",
            "2h",
            "--comment",
            "bridge incident INC-7",
            "--author",
            "ana",
        ],
    ))
    .trim()
    .to_string();
    assert_eq!(id.len(), 16, "{id}");

    let list = stdout(&silence(&redis, &["list"]));
    let row = list.lines().find(|l| l.starts_with(&id)).expect("listed");
    for part in [
        "active",
        "ana",
        "chain=ethereum severity!~info|warning",
        "# bridge incident INC-7",
    ] {
        assert!(row.contains(part), "{part} in {row}");
    }
    // Time left, to the nearest minute.
    assert!(
        row.contains(" 2h ") || row.contains(" 1h59m "),
        "2h left in {row}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&silence(&redis, &["list", "--json"]))).unwrap();
    let s = &json[0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["author"], "ana");
    assert_eq!(s["matchers"][1]["op"], "!~");
    let (created, ends) = (
        s["createdAtMs"].as_i64().unwrap(),
        s["endsAtMs"].as_i64().unwrap(),
    );
    assert_eq!(ends - created, 120 * MIN);
    assert!((created - wall_ms()).abs() < 60_000, "created now");

    assert!(stdout(&silence(&redis, &["expire", &id])).contains("expired"));
    assert_eq!(stdout(&silence(&redis, &["list"])).trim(), "no silences");
    let all = stdout(&silence(&redis, &["list", "--expired"]));
    assert!(
        all.lines()
            .any(|l| l.starts_with(&id) && l.contains("expired")),
        "{all}"
    );

    // Refused, with the reason: an unknown field, a bad regex, no comment, an unknown id.
    let bad = silence(
        &redis,
        &["add", "-m", "colour=red", "--for", "1h", "--comment", "x"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown field `colour`"));
    let bad = silence(
        &redis,
        &["add", "-m", "key=~(", "--for", "1h", "--comment", "x"],
    );
    assert!(!bad.status.success());
    let bad = silence(
        &redis,
        &["add", "-m", "chain=bsc", "--for", "1h", "--comment", " "],
    );
    assert!(!bad.status.success());
    let bad = silence(&redis, &["expire", "nope"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no silence nope"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_mutes_deliveries_counts_them_and_releases_them_at_expiry() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    let (app, clock) = consumer(&one_webhook(&hook.url("/hook"), ""), &redis.url()).await;
    // The CLI stamps silences with the wall clock: the consumer's clock starts there, once
    // the silence exists (it is active from its creation on).
    let until_s = (wall_ms() + 60 * MIN) / 1000;
    let until = until_s.to_string();
    let id = stdout(&silence(
        &redis,
        &[
            "add",
            "-m",
            "tokenId=~coingecko:usd-.*",
            "--until",
            &until,
            "--comment",
            "USDC depeg known",
        ],
    ))
    .trim()
    .to_string();
    clock.set(wall_ms());

    let mut n = 0;
    let mut send = |key: &str| {
        n += 1;
        let e = alert(AlertRule::PegDeviation, Severity::Critical, key, n);
        batch(vec![message(&format!("m{n}"), &body(&e))])
    };
    app.handle(send("price:coingecko:usd-coin"), None).await;
    assert_eq!(hook.count(), 0, "silenced");
    app.handle(send("price:coingecko:tether"), None).await;
    assert_eq!(hook.count(), 1, "another token is not");
    clock.advance_ms(30 * MIN);
    app.handle(send("price:coingecko:usd-coin"), None).await;
    assert_eq!(hook.count(), 1, "still silenced half an hour on");
    let list = stdout(&silence(&redis, &["list"]));
    let row = list.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(
        row.split_whitespace().nth(4) == Some("2"),
        "two deliveries suppressed: {row}"
    );

    clock.set(until_s * 1000);
    app.handle(send("price:coingecko:usd-coin"), None).await;
    assert_eq!(hook.count(), 2, "released at the expiry");

    // Expired by hand: the consumer sees it once its 30 s copy is stale.
    clock.advance_ms(120 * MIN);
    let until = ((clock_now(&clock) + 60 * MIN) / 1000).to_string();
    let id = stdout(&silence(
        &redis,
        &[
            "add",
            "-m",
            "chain!=nowhere",
            "--until",
            &until,
            "--comment",
            "all",
        ],
    ))
    .trim()
    .to_string();
    app.handle(send("price:coingecko:dai"), None).await;
    assert_eq!(hook.count(), 2, "muted by the new silence");
    stdout(&silence(&redis, &["expire", &id]));
    app.handle(send("price:coingecko:dai"), None).await;
    assert_eq!(hook.count(), 2, "the consumer's copy is up to 30 s old");
    clock.advance_ms(31_000);
    app.handle(send("price:coingecko:dai"), None).await;
    assert_eq!(
        hook.count(),
        3,
        "expired by hand, seen once the copy is stale"
    );

    let t = &app.metrics.totals()["hook"];
    assert_eq!((t.suppressed_silence, t.delivered), (4, 3));
}

fn clock_now(clock: &alert_consumer::clock::ManualClock) -> i64 {
    use alert_consumer::clock::Clock;
    clock.now_ms()
}
