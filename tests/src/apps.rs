//! The functions as production builds them, on a [`Stack`]'s servers: the detector (metrics
//! off, short SQS retry delays) and the alert consumer (real Redis, a manual clock at `T0`).

use crate::fixtures::T0;
use crate::stack::Stack;
use crate::tables::{COINS_TABLE, EVENTS_TABLE};
use alert_consumer::App;
use alert_consumer::clock::ManualClock;
use alert_consumer::config::RoutesFile;
use alert_consumer::secrets::{NoSsm, Secret};
use detector::handler::{Metrics, RealDetector, build};
use detector::settings::{MetricsMode, Settings};
use pulse_adapters::dynamodb::ReadMode;
use pulse_adapters::redis::RedisStore;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

impl Stack {
    /// The detector's settings for this stack (scan in two segments, EMF metrics, 5 min
    /// overlap, 1 h initial lookback).
    pub fn detector_settings(&self) -> Settings {
        Settings {
            events_table: EVENTS_TABLE.into(),
            coins_table: COINS_TABLE.into(),
            read_mode: ReadMode::Scan { segments: 2 },
            alerts_queue_url: self.queues().url.clone(),
            redis_url: self.redis().url(),
            redis_auth_parameter: None,
            thresholds_file: None,
            metrics_namespace: "PulseTest".into(),
            metrics_mode: MetricsMode::Emf,
            scan_overlap_secs: 300,
            initial_lookback_secs: 3600,
            budget: detector::handler::TickBudget::default(),
        }
    }

    /// The detector as production builds it, with metrics off and short SQS retry delays.
    pub async fn detector(&self) -> RealDetector {
        let mut d = build(&self.detector_settings(), self.aws()).await.unwrap();
        d.metrics = Metrics::Off;
        d.alerts.base_delay = Duration::from_millis(10);
        d.alerts.max_delay = Duration::from_millis(50);
        d
    }
}

/// The alert consumer with these routes on the Redis at `redis_url`, with a manual clock at
/// [`T0`].
pub async fn consumer(routes: &str, redis_url: &str) -> (App<RedisStore>, Arc<ManualClock>) {
    let routes = RoutesFile::parse(routes).unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(ManualClock::new(T0));
    let store = RedisStore::connect(&Secret::new(redis_url)).unwrap();
    // Silences from `pulse silence`, as `startup::from_settings` wires them.
    let silences = alert_consumer::silences::SilenceCache::new(store.silences());
    let mut app =
        alert_consumer::startup::build(routes, None, &NoSsm, store, clock.clone(), "PulseTest")
            .await
            .unwrap();
    app.silences = silences;
    (app, clock)
}

/// `cargo` run from a test as from a shell: without the variables cargo sets for the crate
/// under test (its manifest dir, package name and version, ...). Build scripts that watch
/// them (ring's does) would otherwise see them change and rebuild every crate above them,
/// here and again in the next build from a shell: about two minutes each time.
pub fn cargo_command(cargo: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(cargo);
    for (name, _) in std::env::vars_os() {
        let set_for_the_crate = name.to_str().is_some_and(|n| {
            ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_"]
                .iter()
                .any(|p| n.starts_with(p))
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                    "OUT_DIR",
                ]
                .contains(&n)
        });
        if set_for_the_crate {
            command.env_remove(name);
        }
    }
    command
}

/// The `pulse` binary of this workspace, next to this test's own target directory. Built (a
/// no-op when fresh) before use: a target directory shared with other checkouts may hold
/// another checkout's `pulse`.
pub fn pulse_binary() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let status = cargo_command(cargo)
            .args(["build", "--quiet", "-p", "pulse-cli", "--manifest-path"])
            .arg(manifest)
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p pulse-cli failed");
    });
    let bin = dir.join("pulse");
    assert!(bin.exists(), "no pulse binary at {}", bin.display());
    bin
}
