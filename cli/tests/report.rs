//! `pulse replay --report` as a user runs it: the real binary writes the page, headless
//! Chromium opens it from disk (driven over the DevTools protocol on a pipe: no port, no
//! extra crate), and the test fails on any console error, uncaught exception or failed
//! request, checks each chart's alert markers against the overview, and saves a screenshot
//! that must not be blank. `--compare` on a crafted config pair gives exact alert ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use pulse_core::event::event_id;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

fn pulse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pulse"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pulse-report-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A market data set (../shared/data or $PULSE_DATA_DIR); panics naming both when absent.
fn data(name: &str) -> PathBuf {
    let dir = std::env::var_os("PULSE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "data set {} not found: put the real data sets in ../shared/data beside the repository or set PULSE_DATA_DIR",
        path.display()
    );
    path
}

/// Runs `pulse replay` with `args`, failing with its stderr when it fails.
fn replay(args: &[&std::ffi::OsStr]) -> String {
    let out = pulse()
        .current_dir(repo())
        .arg("replay")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "pulse replay failed:\n{stderr}");
    stderr
}

// ---------------------------------------------------------------------------------------
// --compare

fn price_line(id: &str, t: i64, price: f64) -> String {
    format!(r#"{{"PK":"coingecko#{id}","SK":{t},"price":{price},"symbol":"X"}}"#)
}

/// All `data-id`s of the compare table's rows of one kind (`added`, `removed`, `changed`).
fn compare_ids(html: &str, kind: &str) -> BTreeSet<String> {
    let marker = format!(r#"<tr class="{kind}" data-id=""#);
    html.match_indices(&marker)
        .map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

#[test]
fn compare_gives_the_exact_alerts_that_appear_disappear_and_change() {
    const DAY: i64 = 86_400;
    let (a, b, c) = (
        1_700_000_000,
        1_700_000_000 + 3 * DAY,
        1_700_000_000 + 6 * DAY,
    );
    let lines = [
        // A 7% move in a minute: a warning at 5% (base), nothing at 8% (other).
        price_line("craft", a, 100.0),
        price_line("craft", a + 60, 93.0),
        // A 20% move: critical at 15% (base), a warning when critical is 25% (other).
        price_line("craft", b, 100.0),
        price_line("craft", b + 60, 80.0),
        // 3% off $1: no price move anywhere; a peg warning once the asset is pegged (other).
        price_line("craftusd", c, 1.0),
        price_line("craftusd", c + 60, 0.97),
    ];
    let input = temp("crafted.ndjson");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let other = temp("other.toml");
    std::fs::write(
        &other,
        r#"
[price_alerts]
windows = [
  { window = "1h", warning_percent = 8.0, critical_percent = 25.0 },
  { window = "24h", warning_percent = 10.0, critical_percent = 25.0 },
]
[peg]
assets = ["usd-coin", "tether", "dai", "terrausd", "binance-usd", "frax", "true-usd", "craftusd"]
"#,
    )
    .unwrap();
    let page = temp("compare.html");
    let stderr = replay(&[
        input.as_os_str(),
        "--now".as_ref(),
        "2024-01-01T00:00:00Z".as_ref(),
        "--out".as_ref(),
        "/dev/null".as_ref(),
        "--report".as_ref(),
        page.as_os_str(),
        "--compare".as_ref(),
        other.as_os_str(),
    ]);
    let html = std::fs::read_to_string(&page).unwrap();
    let id = |key: &str, t: i64, rule: &str| event_id(key, t, rule).to_string();
    assert_eq!(
        compare_ids(&html, "added"),
        BTreeSet::from([id(
            "price:coingecko:craftusd",
            c + 60,
            "alert:peg_deviation"
        )]),
    );
    assert_eq!(
        compare_ids(&html, "removed"),
        BTreeSet::from([
            id("price:coingecko:craft", a + 60, "alert:price_move"),
            // Its episode clears when the price is back at 100 three days later.
            id("price:coingecko:craft", b, "alert:price_move:resolved"),
        ]),
    );
    assert_eq!(
        compare_ids(&html, "changed"),
        BTreeSet::from([id("price:coingecko:craft", b + 60, "alert:price_move")]),
    );
    assert!(
        stderr.contains("+1 appear, -2 disappear, 1 change, 0 same"),
        "{stderr}"
    );
    assert!(
        html.contains("critical (level 2) → warning (level 1)"),
        "{html}"
    );
}

#[test]
fn compare_refuses_standard_input_naming_the_fix() {
    let other = temp("same.toml");
    std::fs::write(&other, "").unwrap();
    let out = pulse()
        .args(["replay", "-", "--out", "/dev/null", "--report"])
        .arg(temp("stdin.html"))
        .arg("--compare")
        .arg(&other)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("save it to a file"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// Headless Chromium over the DevTools protocol (`--remote-debugging-pipe`: commands on fd 3,
// replies and events on fd 4, each message ended by a NUL byte).

struct Browser {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    next_id: u64,
    session: String,
    /// Every event seen so far (console, exceptions, log entries, network).
    events: Vec<Value>,
    _profile: PathBuf,
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let found = Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {name}"))
                .output()
                .ok()?;
            let path = String::from_utf8(found.stdout).ok()?;
            let path = path.trim();
            (found.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
}

impl Browser {
    fn start(exe: &Path) -> Browser {
        let profile = temp("chromium-profile");
        // fd 3 is our stdin pipe, fd 4 our stdout pipe; Chromium's own output goes nowhere.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null 2>/dev/null"#)
            .arg(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let to = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, from) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                            && tx.send(v).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        let mut b = Browser {
            child,
            to,
            from,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}), false);
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
            false,
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page", "Runtime", "Log", "Network"] {
            b.call(&format!("{domain}.enable"), json!({}), true);
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
            true,
        );
        b
    }

    fn next(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        self.from
            .recv_timeout(left)
            .expect("Chromium did not answer within 60 s (or exited)")
    }

    /// Sends a command (to the page's session or the browser) and waits for its result,
    /// keeping the events that arrive meanwhile.
    fn call(&mut self, method: &str, params: Value, in_page: bool) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if in_page {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        self.to.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.next(deadline);
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Opens a URL and waits for its load event.
    fn open(&mut self, url: &str) {
        self.events.clear();
        let nav = self.call("Page.navigate", json!({"url": url}), true);
        assert!(nav.get("errorText").is_none(), "cannot open {url}: {nav}");
        let deadline = Instant::now() + Duration::from_secs(60);
        if self
            .events
            .iter()
            .any(|e| e["method"] == "Page.loadEventFired")
        {
            return;
        }
        loop {
            let v = self.next(deadline);
            let loaded = v["method"] == "Page.loadEventFired";
            if v.get("method").is_some() {
                self.events.push(v);
            }
            if loaded {
                return;
            }
        }
    }

    /// Evaluates an expression in the page; its value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
            true,
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expr} threw: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Console errors, uncaught exceptions, error log entries and failed requests so far.
    fn problems(&mut self) -> Vec<String> {
        // A round trip, so events sent before it have arrived.
        self.eval("1");
        self.events
            .iter()
            .filter_map(|e| {
                let p = &e["params"];
                match e["method"].as_str()? {
                    "Runtime.consoleAPICalled"
                        if matches!(p["type"].as_str(), Some("error" | "assert")) =>
                    {
                        Some(format!("console {}: {}", p["type"], p["args"]))
                    }
                    "Runtime.exceptionThrown" => {
                        Some(format!("exception: {}", p["exceptionDetails"]))
                    }
                    "Log.entryAdded" if p["entry"]["level"] == "error" => {
                        Some(format!("log: {}", p["entry"]["text"]))
                    }
                    "Network.loadingFailed" => Some(format!("request failed: {p}")),
                    "Network.responseReceived"
                        if p["response"]["status"].as_u64().is_some_and(|s| s >= 400) =>
                    {
                        Some(format!(
                            "HTTP {} for {}",
                            p["response"]["status"], p["response"]["url"]
                        ))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    fn screenshot(&mut self) -> Vec<u8> {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}), true);
        base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks a screenshot shows something: a PNG of the viewport, of many colours, not almost
/// all one colour. The pixels are counted by the browser itself (a canvas on a blank page),
/// which spares a PNG decoder.
fn assert_not_blank(browser: &mut Browser, png: &[u8], what: &str) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{what}: not a PNG");
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!(
        (size(16), size(20)),
        (1200, 900),
        "{what}: the viewport's size"
    );
    browser.open("about:blank");
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    let r = browser.call(
        "Runtime.evaluate",
        json!({
            "expression": format!(r#"new Promise(function (ok, fail) {{
  var img = new Image();
  img.onerror = function () {{ fail('the screenshot does not decode'); }};
  img.onload = function () {{
    var c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
    var g = c.getContext('2d'); g.drawImage(img, 0, 0);
    var d = g.getImageData(0, 0, c.width, c.height).data, counts = new Map(), top = 0;
    for (var i = 0; i < d.length; i += 4) {{
      var k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
      var n = (counts.get(k) || 0) + 1; counts.set(k, n); if (n > top) top = n;
    }}
    ok({{ colours: counts.size, commonest: top / (d.length / 4) }});
  }};
  img.src = 'data:image/png;base64,{data}';
}})"#),
            "awaitPromise": true,
            "returnByValue": true
        }),
        true,
    );
    assert!(
        r.get("exceptionDetails").is_none(),
        "{what}: {}",
        r["exceptionDetails"]
    );
    let v = &r["result"]["value"];
    let colours = v["colours"].as_u64().unwrap();
    let commonest = v["commonest"].as_f64().unwrap();
    assert!(
        colours >= 16,
        "{what}: the screenshot has only {colours} colours"
    );
    assert!(
        commonest < 0.97,
        "{what}: the screenshot is {:.1}% one colour",
        commonest * 100.0
    );
}

/// Per chart: its series, its alert markers, and the overview's alert count for it.
const MARKER_CHECK: &str = r#"
Array.from(document.querySelectorAll('figure.chart')).map(function (f) {
  var key = f.dataset.series;
  var row = Array.from(document.querySelectorAll('#series-counts tr[data-series]'))
    .find(function (r) { return r.dataset.series === key; });
  return {
    key: key,
    markers: f.querySelectorAll('circle.alert').length,
    overview: row ? parseInt(row.querySelector('td.total').textContent, 10) : 0,
    line: f.querySelectorAll('path.line').length,
    pegBands: f.querySelectorAll('.peg-recovery').length,
    recoveries: f.querySelectorAll('circle.alert.recovery').length,
    added: f.querySelectorAll('path.added').length
  };
})
"#;

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

fn require_browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("PULSE_REQUIRE_BROWSER").is_none(),
            "chromium is not installed and PULSE_REQUIRE_BROWSER is set: apt-get install chromium (scripts/test.sh does)"
        );
        eprintln!(
            "SKIPPED: chromium is not installed; install it with `apt-get install chromium` \
             (scripts/test.sh installs it, and CI sets PULSE_REQUIRE_BROWSER so it never skips)"
        );
    }
    found
}

#[test]
fn the_report_opens_in_chromium_with_a_marker_for_every_alert() {
    let Some(exe) = require_browser() else {
        return;
    };
    // Relative to the repository (the replay runs there), as the README's command names it.
    let sample = PathBuf::from("samples/usdc-depeg-2023-03-11.prices.ndjson");
    let stablecoins = data("stablecoins-2020-2023.prices.ndjson");
    let uniswap = data("uniswap-2018-2023.tvl.ndjson");

    // The shipped sample, as the README shows it.
    let sample_page = temp("sample.html");
    replay(&[
        sample.as_os_str(),
        "--out".as_ref(),
        "/dev/null".as_ref(),
        "--report".as_ref(),
        sample_page.as_os_str(),
    ]);
    // Five years of stablecoins and Uniswap's TVL, compared with looser TVL thresholds.
    let looser = temp("looser-tvl.toml");
    std::fs::write(
        &looser,
        r#"
[tvl_alerts]
windows = [
  { window = "1h", warning_percent = 15.0, critical_percent = 25.0 },
  { window = "24h", warning_percent = 30.0, critical_percent = 40.0 },
]
"#,
    )
    .unwrap();
    let big_page = temp("big.html");
    replay(&[
        stablecoins.as_os_str(),
        uniswap.as_os_str(),
        "--out".as_ref(),
        "/dev/null".as_ref(),
        "--report".as_ref(),
        big_page.as_os_str(),
        "--top".as_ref(),
        "30".as_ref(),
        "--compare".as_ref(),
        looser.as_os_str(),
    ]);

    let mut browser = Browser::start(&exe);

    // The harness sees what it must fail on: a console error and a failed request.
    let bad = temp("bad.html");
    std::fs::write(
        &bad,
        r#"<!doctype html><img src="file:///nonexistent/pulse.png"><script>console.error("boom")</script>"#,
    )
    .unwrap();
    browser.open(&file_url(&bad));
    let problems = browser.problems();
    assert!(
        problems.iter().any(|p| p.contains("boom")),
        "a console error went unseen: {problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("request failed")),
        "a failed request went unseen: {problems:?}"
    );

    for (page, name) in [(&sample_page, "sample"), (&big_page, "stablecoins+uniswap")] {
        browser.open(&file_url(page));
        let charts = browser.eval(MARKER_CHECK);
        let charts = charts.as_array().unwrap();
        assert!(!charts.is_empty(), "{name}: no charts");
        for c in charts {
            assert_eq!(
                c["markers"], c["overview"],
                "{name}: chart {} has {} alert markers, the overview {} alerts",
                c["key"], c["markers"], c["overview"]
            );
            assert_eq!(c["line"], 1, "{name}: chart {} has no line", c["key"]);
        }
        let shot = browser.screenshot();
        // Sorting the alert table by severity, and following a row's link to its marker,
        // raise no error either.
        browser.eval(
            "document.querySelectorAll('#alert-table th')[3].click(); \
             var a = document.querySelector('#alert-table a'); if (a) a.click(); 1",
        );
        assert_eq!(
            browser.eval("document.querySelectorAll('circle.alert.hit').length"),
            1,
            "{name}: a row's link highlights its marker"
        );
        let problems = browser.problems();
        assert!(problems.is_empty(), "{name}: {problems:#?}");
        let out = temp(&format!("{name}.png"));
        std::fs::write(&out, &shot).unwrap();
        eprintln!("{name}: screenshot {}", out.display());
        if name == "sample" {
            assert_not_blank(&mut browser, &shot, name);
            let usdc = &charts[0];
            assert_eq!(usdc["key"], "price:coingecko:usd-coin");
            assert_eq!(
                usdc["pegBands"], 1,
                "USDC is pegged: its chart shows the peg band"
            );
            assert_eq!(usdc["recoveries"], 1, "the sample's recovery is marked");
            // The README's screenshot: PULSE_UPDATE_SCREENSHOT=1 writes it.
            if std::env::var_os("PULSE_UPDATE_SCREENSHOT").is_some() {
                std::fs::write(repo().join("docs/report.png"), &shot).unwrap();
            }
        } else {
            let tvl = charts
                .iter()
                .filter(|c| c["key"].as_str().unwrap().starts_with("tvl:"))
                .count();
            assert!(tvl > 0, "the Uniswap TVL series are charted");
            let compared =
                browser.eval("document.querySelectorAll('#compare-alerts tr[data-id]').length");
            assert!(
                compared.as_u64().unwrap() > 0,
                "looser TVL thresholds change something"
            );
            assert_not_blank(&mut browser, &shot, name);
        }
    }
}
