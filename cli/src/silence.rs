//! `pulse silence add | list | expire`: silences as data, as Alertmanager's `amtool silence`
//! does them, in the Redis the alert consumer reads (`consumer:silences`, see
//! docs/redis-keys.md). The consumer picks a change up within 30 s. The model (matchers,
//! expiry) is `pulse_core::silence`; the store `pulse_adapters::redis::RedisSilences`.

use anyhow::{Context as _, bail};
use pulse_adapters::redis::RedisSilences;
use pulse_core::silence::{self, Matcher, StoredSilence};
use pulse_core::time::{Timestamp, format_span, parse_duration, parse_time};
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
    /// The consumer's Redis (default: $PULSE_REDIS_URL, else the local stack's, from --env-file).
    #[arg(long, global = true)]
    redis_url: Option<String>,
    /// The local stack's environment file (written by `scripts/local-stack.sh up`).
    #[arg(long, default_value = ".local-stack/env", global = true)]
    env_file: PathBuf,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Silence the alerts every --match matches, for a while.
    Add {
        /// FIELD=VALUE, FIELD!=VALUE, FIELD=~REGEX or FIELD!~REGEX (repeat: all must hold).
        /// Fields: eventType, severity, rule, chain, protocolId, tokenId, key, tag.
        #[arg(long = "match", short = 'm', required = true, value_parser = Matcher::parse)]
        matchers: Vec<Matcher>,
        /// How long from now (90m, 2h, 1d).
        #[arg(
            long = "for",
            conflicts_with = "until",
            required_unless_present = "until"
        )]
        duration: Option<String>,
        /// Until this time (RFC 3339 or unix seconds).
        #[arg(long)]
        until: Option<String>,
        /// Why (shown by list and in the consumer's logs).
        #[arg(long, required = true)]
        comment: String,
        /// Who (default: $USER).
        #[arg(long)]
        author: Option<String>,
    },
    /// Active and pending silences, with how many deliveries each suppressed.
    List {
        /// Also those that ended (kept 7 days).
        #[arg(long)]
        expired: bool,
    },
    /// End a silence now.
    Expire {
        /// The id `add` printed (see `list`).
        id: String,
    },
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A new silence id: 16 random hex digits.
fn new_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now_ms());
    format!("{:016x}", h.finish())
}

fn redis_url(args: &Args) -> anyhow::Result<String> {
    if let Some(u) = &args.redis_url {
        return Ok(u.clone());
    }
    if let Some(u) = std::env::var(pulse_core::env::REDIS_URL)
        .ok()
        .filter(|v| !v.is_empty())
    {
        return Ok(u);
    }
    crate::local::read_env_file(&args.env_file)
        .remove(pulse_core::env::REDIS_URL)
        .with_context(|| {
            format!(
                "which Redis? pass --redis-url, set {}, or start the local stack (scripts/local-stack.sh up)",
                pulse_core::env::REDIS_URL
            )
        })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<()> {
    let store = RedisSilences::connect(&redis_url(&args)?)?;
    let now = now_ms();
    match &args.command {
        Cmd::Add {
            matchers,
            duration,
            until,
            comment,
            author,
        } => {
            let ends_at_ms = match (duration, until) {
                (Some(d), _) => {
                    let d = parse_duration(d, None).map_err(anyhow::Error::msg)?;
                    now + d.as_millis() as i64
                }
                (None, Some(t)) => parse_time(t).map_err(anyhow::Error::msg)? * 1000,
                (None, None) => bail!("say how long: --for 2h or --until 2026-12-04T08:00:00Z"),
            };
            let s = StoredSilence {
                id: new_id(),
                matchers: matchers.clone(),
                starts_at_ms: now,
                ends_at_ms,
                created_at_ms: now,
                author: author
                    .clone()
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_else(|| "unknown".into()),
                comment: comment.clone(),
            };
            silence::validate(&s).map_err(anyhow::Error::msg)?;
            store.add(&s).await?;
            store.purge(now).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("{}", s.id);
                eprintln!(
                    "silenced {} until {} (the consumer applies it within 30 s)",
                    s.matchers_text(),
                    Timestamp(s.ends_at_ms).to_rfc3339()
                );
            }
        }
        Cmd::List { expired } => {
            let hits = store.hits().await?;
            let shown: Vec<StoredSilence> = store
                .all()
                .await?
                .into_iter()
                .filter(|s| *expired || !s.is_expired(now))
                .collect();
            print_list(&shown, &hits, now, args.json)?;
        }
        Cmd::Expire { id } => match store.expire(id, now).await? {
            Some(s) => println!("expired {} ({})", s.id, s.matchers_text()),
            None => bail!("no silence {id}: see `pulse silence list --expired`"),
        },
    }
    Ok(())
}

fn print_list(
    shown: &[StoredSilence],
    hits: &BTreeMap<String, u64>,
    now: i64,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let rows: Vec<serde_json::Value> = shown
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["suppressed"] = hits.get(&s.id).copied().unwrap_or(0).into();
                v["state"] = state(s, now).into();
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if shown.is_empty() {
        println!("no silences");
        return Ok(());
    }
    println!(
        "{:<16}  {:<7}  {:<24}  {:<10}  {:>10}  {:<12}  matchers / comment",
        "id", "state", "ends", "left", "suppressed", "author"
    );
    for s in shown {
        let left = if s.is_expired(now) {
            "-".to_string()
        } else {
            format_span((s.ends_at_ms - now) / 1000)
        };
        println!(
            "{:<16}  {:<7}  {:<24}  {:<10}  {:>10}  {:<12}  {}  # {}",
            s.id,
            state(s, now),
            Timestamp(s.ends_at_ms).to_rfc3339(),
            left,
            hits.get(&s.id).copied().unwrap_or(0),
            s.author,
            s.matchers_text(),
            s.comment
        );
    }
    Ok(())
}

fn state(s: &StoredSilence, now: i64) -> &'static str {
    if s.is_expired(now) {
        "expired"
    } else if s.is_active(now) {
        "active"
    } else {
        "pending"
    }
}
