//! Replays of real market history: the shipped sample always, and the full sets in
//! ../shared/data (or $PULSE_DATA_DIR) when they are present; those tests skip with a message
//! when they are not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::Config;
use pulse_core::event::{AlertRule, Severity};
use pulse_core::parse::Format;
use pulse_core::replay::{AlertLine, Replay, Summary};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PULSE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("README.md").exists() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: market data not found at {} (set PULSE_DATA_DIR)",
            dir.display()
        );
        None
    }
}

fn replay(path: &Path) -> Summary {
    let text = std::fs::read_to_string(path).unwrap();
    let mut replay = Replay::new(Config::default());
    let format = Format::detect(text.lines().next().unwrap());
    let mut out = Vec::new();
    let mut written = Vec::new();
    for line in text.lines() {
        replay.feed_line(format, line, &mut out);
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
    pulse_core::record::format_utc(a.timestamp / 1000)[..10].to_string()
}

fn of<'a>(s: &'a Summary, key: &str) -> Vec<&'a AlertLine> {
    s.alerts.iter().filter(|a| a.key == key).collect()
}

fn per_series_month(s: &Summary) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for a in &s.alerts {
        *counts
            .entry((a.key.clone(), day(a)[..7].to_string()))
            .or_default() += 1;
    }
    counts
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
    let Some(dir) = data_dir() else { return };
    let s = replay(&dir.join("usdc-depeg-2023-03.prices.ndjson"));
    assert_eq!(s.records, 13_560);
    let first = &s.alerts[0];
    assert_eq!(
        (first.rule.as_str(), first.severity, first.timestamp),
        ("peg_deviation", Severity::Critical, 1_678_543_259_000)
    );
    // Ten days of minute data after the depeg: the episode, its recovery, nothing else.
    assert!(s.alerts.len() <= 3, "{:?}", s.alerts);
}

#[test]
fn daily_stablecoins_ust_collapse_and_the_usdc_dai_wobble() {
    let Some(dir) = data_dir() else { return };
    let s = replay(&dir.join("stablecoins-2020-2023.prices.ndjson"));
    let ust = of(&s, "price:coingecko:terrausd");
    let may_2022: Vec<_> = ust
        .iter()
        .filter(|a| day(a).starts_with("2022-05"))
        .collect();
    assert!(
        may_2022
            .iter()
            .any(|a| day(a) == "2022-05-08" && a.severity == Severity::Critical),
        "{may_2022:?}"
    );
    assert!(
        may_2022
            .iter()
            .any(|a| a.value < 0.5 && a.severity == Severity::Critical),
        "the fall past 25 % alerts again"
    );
    for token in ["usd-coin", "dai"] {
        let hit = of(&s, &format!("price:coingecko:{token}"))
            .into_iter()
            .find(|a| day(a) == "2023-03-11");
        let hit = hit.unwrap_or_else(|| panic!("{token} not alerted on 2023-03-11"));
        assert_eq!(
            (hit.rule.as_str(), hit.severity),
            ("peg_deviation", Severity::Warning)
        );
    }
}

#[test]
fn daily_stablecoins_quiet_stretches_stay_quiet() {
    let Some(dir) = data_dir() else { return };
    let s = replay(&dir.join("stablecoins-2020-2023.prices.ndjson"));
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
}

#[test]
fn terra_chain_tvl_collapse_is_critical() {
    let Some(dir) = data_dir() else { return };
    let s = replay(&dir.join("chains-2018-2023.tvl.ndjson"));
    assert_eq!(s.records, 93_558);
    let terra = of(&s, "tvl:chain-terra");
    assert!(
        terra.iter().any(|a| day(a).starts_with("2022-05")
            && a.severity == Severity::Critical
            && a.rule == "tvl_drop"),
        "{terra:?}"
    );
    // Daily data, one alert per episode: no chain sees more than 8 alerts in a month (the
    // worst months are collapses: Terra in May 2022), and most alerting months have one.
    let counts = per_series_month(&s);
    let worst = counts.values().max().copied().unwrap_or(0);
    assert!(worst <= 8, "worst series-month: {worst}");
    let ones = counts.values().filter(|n| **n == 1).count();
    assert!(
        ones * 2 > counts.len(),
        "most alerting series-months have a single alert"
    );
}

#[test]
fn uniswap_export_and_plain_agree() {
    let Some(dir) = data_dir() else { return };
    let plain = replay(&dir.join("uniswap-2018-2023.tvl.ndjson"));
    let export = replay(&dir.join("uniswap-2018-2023.tvl.ddb-export.json"));
    assert_eq!(plain.records, 1728);
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
