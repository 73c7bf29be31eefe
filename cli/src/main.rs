//! `pulse`: replay market history through the engine locally, and on-call tools (dlq, silence).
//! Each subcommand lives in its own module of the library (`lib.rs`); this file only parses
//! arguments and dispatches.

use clap::{Parser, Subcommand};
use pulse_cli::{dlq, local, replay, silence};
use std::process::ExitCode;

// A replay makes millions of small strings; mimalloc halves their cost against glibc's malloc.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pulse",
    version,
    about = "Real-time change detection for DeFi data: local replay and on-call tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay record files (NDJSON, DynamoDB export or stream lines) through the engine, with no services.
    Replay(replay::Args),
    /// Use the local stack (scripts/local-stack.sh up): load records, run a detection tick, tail events.
    Local(local::Args),
    /// The alerts dead-letter queue: inspect, redrive (filtered, rate-limited), SQS move tasks, status.
    Dlq(dlq::Args),
    /// Silences the alert consumer applies (stored in its Redis): add, list, expire.
    Silence(silence::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => replay::run(args),
        Command::Local(args) => local::run(args),
        Command::Dlq(args) => dlq::run(args),
        Command::Silence(args) => silence::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
