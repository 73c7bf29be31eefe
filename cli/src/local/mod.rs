//! `pulse local`: use the local stack (`scripts/local-stack.sh up`). Settings come from the
//! environment, falling back to `.local-stack/env`, so no `source` is needed.
//!
//! - `pulse local load FILE`: write a record file (NDJSON or DynamoDB export lines) to the
//!   local tables: prices to the coins table, everything else to the events table;
//! - `pulse local tick`: one scheduled detection tick, exactly as the Lambda runs it;
//! - `pulse local tail`: print events as they are published on the Redis channels;
//! - `pulse local receiver`: a webhook receiver on 127.0.0.1 printing what it gets
//!   ([`receiver`]);
//! - `pulse local alert`: the alert consumer on the local queue's alerts, delivering to it
//!   ([`alert`]).

pub mod alert;
pub mod receiver;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use detector::handler::{build, scheduled_event, system_now};
use detector::settings::Settings;
use pulse_adapters::dynamodb::{JsonItem, TableWriter};
use pulse_adapters::redis::{RedisSettings, tail};
use pulse_core::env;
use pulse_core::parse::Format;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: LocalCommand,
    /// The local stack's environment file (written by `scripts/local-stack.sh up`).
    #[arg(long, default_value = ".local-stack/env", global = true)]
    env_file: PathBuf,
}

#[derive(Subcommand)]
enum LocalCommand {
    /// Write a record file (NDJSON or DynamoDB export lines) to the local tables.
    Load {
        file: PathBuf,
        /// Shift every record's SK (and timestamp) so the newest is one minute ago, so the
        /// next tick reads them.
        #[arg(long)]
        shift_to_now: bool,
    },
    /// Run one scheduled detection tick against the local stack.
    Tick,
    /// Print events as they are published (channel, then the event JSON).
    Tail {
        /// Channel pattern.
        #[arg(long, default_value = "events:*")]
        pattern: String,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<usize>,
    },
    /// A webhook receiver on 127.0.0.1 that prints every notification it gets (leave it
    /// running in another terminal while `pulse local alert` delivers).
    Receiver {
        /// The port (the local routes file points at 9180).
        #[arg(long, default_value_t = receiver::DEFAULT_PORT)]
        port: u16,
        /// The HTTP status every request gets (e.g. 500 or 429, to see failures and retries).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(200..600))]
        status: u16,
        /// Also print each request's whole JSON body.
        #[arg(long)]
        json: bool,
        /// Stop after this many requests.
        #[arg(long)]
        count: Option<usize>,
    },
    /// Run the alert consumer on the alerts waiting on the local queue (after `tick`), as the
    /// Lambda does: routes file, Redis idempotency and repeat intervals, then the receivers.
    Alert {
        /// The routes file (default: $PULSE_ROUTES_FILE, else
        /// functions/alert-consumer/routes.local.toml, which sends everything to
        /// `pulse local receiver`).
        #[arg(long)]
        routes: Option<PathBuf>,
        /// Handle at most this many messages.
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
}

/// `export NAME=value` lines of the env file.
pub(crate) fn read_env_file(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("export ").unwrap_or(l);
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let file = read_env_file(&args.env_file);
    let lookup = move |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| file.get(name).cloned())
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
        .context("start the async runtime")?;
    runtime.block_on(async move {
        match args.command {
            LocalCommand::Load { file, shift_to_now } => load(&lookup, &file, shift_to_now).await,
            LocalCommand::Tick => tick(&lookup).await,
            LocalCommand::Tail { pattern, count } => tail_events(&lookup, &pattern, count).await,
            LocalCommand::Receiver {
                port,
                status,
                json,
                count,
            } => {
                let listener = receiver::bind(port).await?;
                eprintln!(
                    "receiving on http://127.0.0.1:{port}/ (answering {status}; Ctrl-C to stop)"
                );
                let options = receiver::Options {
                    status,
                    json,
                    count,
                };
                receiver::serve(listener, &options).await
            }
            LocalCommand::Alert { routes, max } => {
                pulse_adapters::telemetry::init_cli("warn");
                alert::run(&lookup, routes.as_deref(), max).await
            }
        }
    })
}

fn is_price(pk: &str) -> bool {
    pk.starts_with("coingecko#") || pk.starts_with("asset#")
}

/// A line as an item to write, with its PK and SK, or why not.
fn item_of_line(line: &str) -> anyhow::Result<(String, f64, Value, bool)> {
    let value: Value = serde_json::from_str(line).context("not JSON")?;
    match Format::detect(line) {
        Format::DdbExport => {
            let item = value.get("Item").cloned().context("no Item")?;
            let pk = item["PK"]["S"].as_str().context("no PK")?.to_string();
            let sk = match &item["SK"]["N"] {
                Value::String(s) => s.parse::<f64>().ok(),
                other => other.as_f64(),
            }
            .context("no SK")?;
            Ok((pk, sk, item, true))
        }
        Format::Plain => {
            let pk = value["PK"].as_str().context("no PK")?.to_string();
            let sk = value["SK"].as_f64().context("no SK")?;
            Ok((pk, sk, value, false))
        }
        Format::Stream => bail!("stream records cannot be loaded: use plain or export lines"),
    }
}

fn shift(item: &mut Value, ddb: bool, by: i64) {
    for field in ["SK", "timestamp"] {
        let slot = if ddb {
            item.get_mut(field).and_then(|v| v.get_mut("N"))
        } else {
            item.get_mut(field)
        };
        let Some(slot) = slot else { continue };
        let n = match &*slot {
            Value::String(s) => s.trim().parse::<f64>().ok(),
            other => other.as_f64(),
        };
        // SK 0 marks a latest-price row: it stays 0.
        if let Some(n) = n.filter(|n| *n > 0.0) {
            let shifted = (n as i64) + by;
            *slot = if ddb {
                Value::String(shifted.to_string())
            } else {
                Value::from(shifted)
            };
        }
    }
}

async fn load(
    lookup: &(impl Fn(&str) -> Option<String> + Sync),
    path: &Path,
    shift_to_now: bool,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut items = Vec::new();
    let mut bad = 0usize;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match item_of_line(line) {
            Ok(item) => items.push(item),
            Err(e) => {
                bad += 1;
                eprintln!("line {}: skipped: {e:#}", n + 1);
            }
        }
    }
    if shift_to_now {
        let newest = items
            .iter()
            .map(|(_, sk, _, _)| *sk as i64)
            .max()
            .unwrap_or(0);
        let by = system_now() - 60 - newest;
        for (_, sk, item, ddb) in &mut items {
            shift(item, *ddb, by);
            *sk += by as f64;
        }
    }
    let events_table = lookup(env::EVENTS_TABLE).context("PULSE_EVENTS_TABLE is not set")?;
    let coins_table = lookup(env::COINS_TABLE).context("PULSE_COINS_TABLE is not set")?;
    let mut by_table: HashMap<String, Vec<_>> = HashMap::new();
    for (pk, _, item, ddb) in items {
        let json = if ddb {
            JsonItem::Ddb(item)
        } else {
            JsonItem::Plain(item)
        };
        match json.attributes() {
            Ok(attrs) => {
                let table = if is_price(&pk) {
                    &coins_table
                } else {
                    &events_table
                };
                by_table.entry(table.clone()).or_default().push(attrs);
            }
            Err(e) => {
                bad += 1;
                eprintln!("{pk}: skipped: {e}");
            }
        }
    }
    let aws = pulse_adapters::aws::sdk_config(lookup).await;
    let writer = TableWriter::new(&aws);
    for (table, items) in by_table {
        let n = writer.put(&table, items).await?;
        println!("{n} items written to {table}");
    }
    if bad > 0 {
        println!("{bad} lines skipped");
    }
    Ok(())
}

async fn tick(lookup: &(impl Fn(&str) -> Option<String> + Sync)) -> anyhow::Result<()> {
    let settings = Settings::from_lookup(lookup)?;
    let aws = pulse_adapters::aws::sdk_config(lookup).await;
    let detector = build(&settings, &aws).await?;
    let summary = detector.handle(&scheduled_event()).await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

async fn tail_events(
    lookup: &(impl Fn(&str) -> Option<String> + Sync),
    pattern: &str,
    count: Option<usize>,
) -> anyhow::Result<()> {
    let url = lookup(env::REDIS_URL).context("PULSE_REDIS_URL is not set")?;
    eprintln!("listening on {pattern} (Ctrl-C to stop)");
    let mut seen = 0usize;
    tail(&RedisSettings::new(url), pattern, |channel, payload| {
        println!("{channel} {payload}");
        seen += 1;
        count.is_none_or(|c| seen < c)
    })
    .await?;
    Ok(())
}
