//! Replays of real market history: the shipped sample, and the full sets in ../shared/data
//! (or $PULSE_DATA_DIR). The data sets are required: a test that needs one fails, naming
//! where it looked, when it is absent (CI has ../shared/data); it never passes without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::Config;
use pulse_core::event::{AlertRule, AlertStatus, Severity};
use pulse_core::replay::{AlertLine, FileDecoder, Replay, Summary};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The market data directory; panics with what to do when it is missing.
fn data_dir() -> PathBuf {
    let dir = std::env::var_os("PULSE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        dir.join("README.md").exists(),
        "market data not found at {}: these tests need the real data sets; put them in \
         ../shared/data beside the repository or set PULSE_DATA_DIR",
        dir.display()
    );
    dir
}

/// A data set by file name; panics naming it when it is missing.
fn data(name: &str) -> PathBuf {
    let path = data_dir().join(name);
    assert!(
        path.exists(),
        "data set {} is missing (PULSE_DATA_DIR or ../shared/data)",
        path.display()
    );
    path
}

fn replay(path: &Path) -> Summary {
    let text = std::fs::read(path).unwrap();
    let mut replay = Replay::new(Config::default());
    let mut decoder = FileDecoder::new(None);
    let mut out = Vec::new();
    let mut written = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        replay.feed_bytes(&mut decoder, line, &mut out);
        for event in &out {
            written.clear();
            event.write_json(&mut written);
            assert_eq!(written, serde_json::to_vec(event).unwrap());
        }
        out.clear();
    }
    replay.summary(0.0)
}

fn day(a: &AlertLine) -> String {
    pulse_core::time::format_utc(a.timestamp / 1000)[..10].to_string()
}

fn of<'a>(s: &'a Summary, key: &str) -> Vec<&'a AlertLine> {
    s.alerts.iter().filter(|a| a.key == key).collect()
}

fn per_series_month(s: &Summary) -> BTreeMap<(String, String), usize> {
    per_series(s, 7)
}

/// Alerts that fire (resolves are the news that an episode is over, not a new page).
fn firing(s: &Summary) -> impl Iterator<Item = &AlertLine> {
    s.alerts.iter().filter(|a| a.status == AlertStatus::Firing)
}

/// Firing alerts per (series, period), the period being the first `len` characters of the day.
fn per_series(s: &Summary, len: usize) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for a in firing(s) {
        *counts
            .entry((a.key.clone(), day(a)[..len].to_string()))
            .or_default() += 1;
    }
    counts
}

/// One series of a data set, straight from the file: (time, value of `field`), in time order.
fn series(path: &Path, pk: &str, field: &str) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut points: Vec<(i64, f64)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["PK"] == pk)
        .map(|v| (v["SK"].as_i64().unwrap(), v[field].as_f64().unwrap()))
        .collect();
    points.sort_by_key(|p| p.0);
    points
}

fn utc_day(secs: i64) -> String {
    pulse_core::time::format_utc(secs)[..10].to_string()
}

/// The first alert of `key` in the days starting with `period`.
fn first_alert<'a>(s: &'a Summary, key: &str, period: &str) -> &'a AlertLine {
    of(s, key)
        .into_iter()
        .find(|a| day(a).starts_with(period))
        .unwrap_or_else(|| panic!("{key}: no alert in {period}"))
}

/// The daily data sets never alert on a window their sampling cannot show.
fn assert_no_hour_window(s: &Summary, name: &str) {
    let hourly: Vec<_> = s
        .alerts
        .iter()
        .filter(|a| a.window.as_deref() == Some("1h"))
        .collect();
    assert!(
        hourly.is_empty(),
        "{name}: {} alerts on the 1h window, e.g. {:?}",
        hourly.len(),
        hourly.first()
    );
}

#[test]
fn shipped_sample_finds_the_usdc_depeg_at_the_first_record() {
    let s = replay(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../samples/usdc-depeg-2023-03-11.prices.ndjson"),
    );
    assert_eq!(s.records, 2400);
    assert!(s.rejected.is_empty());
    let first = &s.alerts[0];
    assert_eq!(
        (first.rule.as_str(), first.severity, first.value),
        ("peg_deviation", Severity::Critical, 0.9121)
    );
    assert_eq!(
        first.timestamp, 1_678_543_259_000,
        "at the very first record"
    );
    let recovery = s
        .alerts
        .iter()
        .find(|a| a.rule == AlertRule::PegRecovery.as_str())
        .unwrap();
    assert_eq!(day(recovery), "2023-03-13");
    assert_eq!(
        s.alerts.len(),
        2,
        "one episode, one recovery: {:?}",
        s.alerts
    );
}

#[test]
fn usdc_minutes_depeg_is_critical_at_the_first_record() {
    let s = replay(&data("usdc-depeg-2023-03.prices.ndjson"));
    assert_eq!(s.records, 13_560);
    let first = &s.alerts[0];
    assert_eq!(
        (first.rule.as_str(), first.severity, first.timestamp),
        ("peg_deviation", Severity::Critical, 1_678_543_259_000)
    );
    // Ten days of minute data after the depeg: the episode, its recovery, nothing else.
    assert!(s.alerts.len() <= 3, "{:?}", s.alerts);
}

/// The first record of `points` within `period` (a day prefix) off the peg by the first
/// level (2 %): where the peg rule is first met.
fn first_off_peg(points: &[(i64, f64)], period: &str) -> i64 {
    let level = Config::default().peg.levels_percent[0];
    points
        .iter()
        .find(|(t, p)| utc_day(*t).starts_with(period) && (p - 1.0).abs() * 100.0 >= level)
        .map(|(t, _)| *t)
        .unwrap_or_else(|| panic!("the data never leaves the peg in {period}"))
}

#[test]
fn daily_stablecoins_ust_collapse_and_the_usdc_dai_wobble() {
    let path = data("stablecoins-2020-2023.prices.ndjson");
    let s = replay(&path);
    assert_no_hour_window(&s, "stablecoins");
    // UST: alerted at the first record where the peg rule is met (2022-05-08, 0.754).
    let ust = series(&path, "coingecko#terrausd", "price");
    let met = first_off_peg(&ust, "2022-05");
    let first = first_alert(&s, "price:coingecko:terrausd", "2022-05");
    assert_eq!(first.timestamp, met * 1000, "{first:?}");
    assert_eq!(
        (day(first).as_str(), first.severity),
        ("2022-05-08", Severity::Critical)
    );
    assert!(
        of(&s, "price:coingecko:terrausd")
            .iter()
            .any(|a| day(a).starts_with("2022-05")
                && a.value < 0.5
                && a.severity == Severity::Critical),
        "the fall past 25 % alerts again"
    );
    // USDC and DAI on 2023-03-11.
    for token in ["usd-coin", "dai"] {
        let points = series(&path, &format!("coingecko#{token}"), "price");
        let met = first_off_peg(&points, "2023-03");
        let hit = first_alert(&s, &format!("price:coingecko:{token}"), "2023-03");
        assert_eq!(hit.timestamp, met * 1000, "{token}: {hit:?}");
        assert_eq!(
            (day(hit).as_str(), hit.rule.as_str(), hit.severity),
            ("2023-03-11", "peg_deviation", Severity::Warning)
        );
    }
}

#[test]
fn daily_stablecoins_quiet_stretches_stay_quiet() {
    let s = replay(&data("stablecoins-2020-2023.prices.ndjson"));
    // Tether and BUSD held their pegs through 2021-2023 in this data: not one alert.
    for quiet in ["price:coingecko:tether", "price:coingecko:binance-usd"] {
        assert!(of(&s, quiet).is_empty(), "{quiet}: {:?}", of(&s, quiet));
    }
    // A pegged asset alerts once per episode and once on recovery; two episodes in a month
    // is the most the data should show outside the UST and SVB crises (4 alerts).
    let pegged = Config::default().peg.assets;
    for ((key, month), n) in per_series_month(&s) {
        let is_pegged = pegged.iter().any(|p| key == format!("price:coingecko:{p}"));
        if is_pegged && month != "2022-05" && month != "2023-03" {
            assert!(n <= 4, "{key} {month}: {n} alerts");
        }
    }
    // Recoveries only follow an announced deviation of the same series.
    let mut announced: BTreeMap<&str, bool> = BTreeMap::new();
    for a in &s.alerts {
        match a.rule.as_str() {
            "peg_deviation" => {
                announced.insert(&a.key, true);
            }
            "peg_recovery" => {
                assert_eq!(announced.insert(&a.key, false), Some(true), "{a:?}");
            }
            _ => {}
        }
    }
}

#[test]
fn terra_chain_tvl_collapse_is_critical_at_the_first_day_the_rule_is_met() {
    let path = data("chains-2018-2023.tvl.ndjson");
    let s = replay(&path);
    assert_eq!(s.records, 93_558);
    assert_no_hour_window(&s, "chains");
    // The 24h rule on daily data: a drop of 20 % and $1 M from the day before.
    let rule = &Config::default().tvl_alerts;
    let day_rule = rule.windows.iter().find(|w| w.window.0 == 86_400).unwrap();
    let terra = series(&path, "hourlyTvl#chain-terra", "tvl");
    let met = terra
        .windows(2)
        .find(|p| {
            let (prev, cur) = (p[0], p[1]);
            let drop = prev.1 - cur.1;
            utc_day(cur.0).starts_with("2022-05")
                && cur.0 - prev.0 <= 86_400
                && drop >= rule.min_drop_usd
                && drop / prev.1 * 100.0 >= day_rule.warning_percent
        })
        .map(|p| p[1].0)
        .unwrap();
    let first = first_alert(&s, "tvl:chain-terra", "2022-05");
    assert_eq!(first.timestamp, met * 1000, "{first:?}");
    assert_eq!(
        (day(first).as_str(), first.rule.as_str(), first.severity),
        ("2022-05-10", "tvl_drop", Severity::Critical)
    );
    // One event per change: every chain series is its own protocol's only chain.
    assert!(
        s.events["tvl_change"] < s.applied,
        "{} tvl_change events for {} records",
        s.events["tvl_change"],
        s.applied
    );
}

#[test]
fn uniswap_export_and_plain_agree() {
    let plain = replay(&data("uniswap-2018-2023.tvl.ndjson"));
    let export = replay(&data("uniswap-2018-2023.tvl.ddb-export.json"));
    assert_eq!(plain.records, 1728);
    assert_no_hour_window(&plain, "uniswap");
    assert_eq!(
        (&plain.events, &plain.rejected),
        (&export.events, &export.rejected)
    );
    assert_eq!(plain.alerts.len(), export.alerts.len());
    if let Some((a, b)) = plain
        .alerts
        .iter()
        .zip(&export.alerts)
        .find(|(a, b)| a != b)
    {
        panic!("first difference:\n plain  {a:?}\n export {b:?}");
    }
    assert!(
        plain.events["protocol_update"] > 0,
        "chains appear over the years"
    );
}

/// The most alerts one series may raise in one calendar year of each daily data set, and
/// the most alerts the whole set may raise; the worst case measured and why it is allowed.
///
/// With 24h windows on daily data an alert needs a day-on-day move past the 24h warning
/// (10 % for prices, 20 % and $1 M for TVL); an episode alerts once, again only on escalation
/// to critical, and a new episode needs a day without the move first. So a series alerts
/// about as often as its value lurches by that much in a day. The worst real series-years:
/// - chains: Songbird 2022, 45: its TVL fell 30-45 % in a day every week of the year and came
///   back within two days (a weekly pattern of that chain's data, one episode a week);
///   bound 50, about one a week. Next worst: 9 (Lamden 2021, Stellar 2023).
/// - Uniswap: the Polygon deployment in 2022, 11 (its first year, from a few $M); bound 12.
/// - stablecoins: Neutrino USDN 2023, 27 (a dead algorithmic stablecoin swinging 10-40 % a
///   day; not a pegged asset by default, so the 24h price rule judges it); bound 30.
///
/// Before issue 10 the same series raised 64, 28 and 39 (the 1h window compared every day
/// with the day before): each bound is below that, so the defect would fail this test.
const MAX_ALERTS: [(&str, usize, usize); 3] = [
    ("chains-2018-2023.tvl.ndjson", 50, 420),
    ("uniswap-2018-2023.tvl.ndjson", 12, 35),
    ("stablecoins-2020-2023.prices.ndjson", 30, 115),
];

#[test]
fn alerts_per_series_per_year_stay_under_their_bound() {
    for (file, per_series_year, total) in MAX_ALERTS {
        let s = replay(&data(file));
        let counts = per_series(&s, 4);
        let worst = counts.iter().max_by_key(|(_, n)| **n).unwrap();
        let ((key, year), n) = worst;
        assert!(
            *n <= per_series_year,
            "{file}: {key} raised {n} alerts in {year} (bound {per_series_year})"
        );
        let fired = firing(&s).count();
        assert!(fired <= total, "{file}: {fired} alerts (bound {total})");
    }
}

/// Every record of a real data set, and the rejections, in input order.
fn parsed(path: &Path) -> Vec<Result<pulse_core::Record, pulse_core::Rejection>> {
    let text = std::fs::read(path).unwrap();
    let limits = Config::default().validation;
    let mut decoder = FileDecoder::new(None);
    let mut out = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        decoder.decode(line, &limits, |p| out.push(p));
    }
    out
}

#[test]
fn sharded_batches_detect_as_one_thread_does() {
    use pulse_core::engine::{Context, Engine};
    use pulse_core::state::StateMap;
    let engine = Engine::new(Config::default());
    let ctx = Context::replay_at(1_700_000_000);
    for name in [
        "chains-2018-2023.tvl.ndjson",
        "usdc-depeg-2023-03.prices.ndjson",
        "stablecoins-2020-2023.prices.ndjson",
    ] {
        let records: Vec<_> = parsed(&data(name)).into_iter().flatten().collect();
        // Batches as the detector gets them, state carried from one to the next; one batch
        // is shuffled in time so the batch's own sort matters.
        let mut one = StateMap::default();
        let mut many = [StateMap::default(), StateMap::default()];
        let mut events = 0;
        for (i, batch) in records.chunks(5_000).enumerate() {
            let mut batch = batch.to_vec();
            if i == 1 {
                batch.reverse();
            }
            let want = engine.detect_batch_sharded(&batch, &mut one, &ctx, 1);
            for (threads, states) in [2, 3].into_iter().zip(many.iter_mut()) {
                let got = engine.detect_batch_sharded(&batch, states, &ctx, threads);
                assert_eq!(
                    got.events, want.events,
                    "{name} batch {i}, {threads} threads"
                );
                assert_eq!(
                    (
                        got.applied,
                        got.stale,
                        got.future,
                        got.window_gaps,
                        got.healed
                    ),
                    (
                        want.applied,
                        want.stale,
                        want.future,
                        want.window_gaps,
                        want.healed
                    ),
                    "{name} batch {i}"
                );
                assert_eq!(*states, one, "{name} batch {i}, {threads} threads");
            }
            events += want.events.len();
        }
        assert!(events > 100, "{name}: {events} events");
    }
}

#[test]
fn sharded_replays_merge_into_the_one_thread_summary() {
    use pulse_core::shard::shard_of_record;
    // Stablecoins: 20 keys and many alerts (chains is covered by the test above and the CLI's).
    for name in ["stablecoins-2020-2023.prices.ndjson"] {
        let path = data(name);
        let want = replay(&path);
        let mut shards: Vec<Replay> = (0..3).map(|_| Replay::new(Config::default())).collect();
        let mut key = String::new();
        let mut out = Vec::new();
        for (seq, p) in parsed(&path).into_iter().enumerate() {
            let shard = match &p {
                Ok(r) => shard_of_record(r, &mut key, 3),
                Err(_) => 0,
            };
            shards[shard].feed_at(seq as u64, &p, &mut out);
            out.clear();
        }
        let mut got = shards.remove(0);
        for r in shards {
            got.merge(r);
        }
        assert_eq!(got.summary(0.0), want, "{name}");
        assert!(want.alerts.len() > 10, "{name}");
    }
}
