//! Logging set-up, one for every function and one for the command line.

use tracing_subscriber::EnvFilter;

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// A Lambda function's logs: one JSON object per line on stdout (CloudWatch Logs indexes the
/// fields), the current span's fields (request id, message id) on each line, no timestamp
/// (CloudWatch adds its own), `RUST_LOG` as the filter (default `info`).
pub fn init_lambda() {
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter("info"))
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .try_init();
}

/// A command-line tool's logs: readable lines on stderr, `RUST_LOG` as the filter, else
/// `default` (for example `warn,dlq_redrive=info`).
pub fn init_cli(default: &str) {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter(default))
        .try_init();
}
