//! Environment variable names, defined once. The functions read them, Terraform sets them
//! (a test checks that both agree), and the local stack exports them.

/// One environment variable a function reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub required: bool,
    pub help: &'static str,
}

const fn required(name: &'static str, help: &'static str) -> EnvVar {
    EnvVar {
        name,
        required: true,
        help,
    }
}
const fn optional(name: &'static str, help: &'static str) -> EnvVar {
    EnvVar {
        name,
        required: false,
        help,
    }
}

pub const EVENTS_TABLE: &str = "PULSE_EVENTS_TABLE";
pub const COINS_TABLE: &str = "PULSE_COINS_TABLE";
pub const TIME_BUCKET_INDEX: &str = "PULSE_TIME_BUCKET_INDEX";
pub const SCAN_SEGMENTS: &str = "PULSE_SCAN_SEGMENTS";
pub const READ_MODE: &str = "PULSE_READ_MODE";
pub const WATCH_KEYS: &str = "PULSE_WATCH_KEYS";
pub const DISCOVERY_PERIOD_SECS: &str = "PULSE_DISCOVERY_PERIOD_SECS";
pub const DISCOVERY_FIRST_PASS_ITEMS: &str = "PULSE_DISCOVERY_FIRST_PASS_ITEMS";
pub const ALERTS_QUEUE_URL: &str = "PULSE_ALERTS_QUEUE_URL";
pub const REDIS_URL: &str = "PULSE_REDIS_URL";
pub const REDIS_AUTH_PARAMETER: &str = "PULSE_REDIS_AUTH_PARAMETER";
pub const THRESHOLDS_FILE: &str = "PULSE_THRESHOLDS_FILE";
pub const METRICS_NAMESPACE: &str = "PULSE_METRICS_NAMESPACE";
pub const METRICS_MODE: &str = "PULSE_METRICS_MODE";
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
pub const ROUTES_FILE: &str = "PULSE_ROUTES_FILE";
pub const SECRETS_PARAMETER_PATH: &str = "PULSE_SECRETS_PARAMETER_PATH";
pub const DEAD_LETTER_QUEUE_URL: &str = "PULSE_DEAD_LETTER_QUEUE_URL";
pub const MAX_REDRIVE_COUNT: &str = "PULSE_MAX_REDRIVE_COUNT";
pub const SCAN_OVERLAP_SECS: &str = "PULSE_SCAN_OVERLAP_SECS";
pub const INITIAL_LOOKBACK_SECS: &str = "PULSE_INITIAL_LOOKBACK_SECS";
pub const DLQ_RETENTION_SECS: &str = "PULSE_DLQ_RETENTION_SECS";
pub const MAX_RECEIVE_COUNT: &str = "PULSE_MAX_RECEIVE_COUNT";
pub const TICK_MAX_RECORDS: &str = "PULSE_TICK_MAX_RECORDS";
pub const TICK_CHUNK_RECORDS: &str = "PULSE_TICK_CHUNK_RECORDS";
pub const TICK_BUDGET_SECS: &str = "PULSE_TICK_BUDGET_SECS";

/// Default CloudWatch namespace for every pulse metric.
pub const DEFAULT_METRICS_NAMESPACE: &str = "Pulse";

/// Read by `pulse dlq` (not by a function): the redrive function to invoke, name or ARN.
pub const DLQ_FUNCTION: &str = "PULSE_DLQ_FUNCTION";

/// The environments Terraform deploys (`terraform/envs/<environment>`).
pub const ENVIRONMENTS: &[&str] = &["dev", "staging", "prod"];

/// The alias every trigger and `pulse dlq` invoke (`terraform/modules/function`).
pub const LIVE_ALIAS: &str = "live";

/// The deployed name of a function of an environment, with its alias: Terraform names each
/// function `${name_prefix}-${package}` with `name_prefix = "pulse-<environment>"` (a test
/// checks this against `terraform/`), e.g. `pulse-prod-dlq-redrive:live`.
pub fn deployed_function(environment: &str, package: &str) -> String {
    format!("pulse-{environment}-{package}:{LIVE_ALIAS}")
}

/// Variables the detector reads.
pub const DETECTOR: &[EnvVar] = &[
    required(
        EVENTS_TABLE,
        "DynamoDB table with TVL and dimensions records",
    ),
    required(
        COINS_TABLE,
        "DynamoDB table with token prices (may equal the events table)",
    ),
    optional(
        READ_MODE,
        "keys (default: Query each watched key, rolling discovery Scan), scan (whole-table Scan every tick) or time-bucket (needs writers that set timeBucket)",
    ),
    optional(
        WATCH_KEYS,
        "partition keys always queried, comma-separated; a trailing * makes a prefix that limits what discovery watches",
    ),
    optional(
        DISCOVERY_PERIOD_SECS,
        "the rolling discovery Scan covers each table once per this many seconds (default 86400)",
    ),
    optional(
        DISCOVERY_FIRST_PASS_ITEMS,
        "items examined per tick by the first full discovery, and the most a rolling slice examines (default 20000)",
    ),
    optional(
        TIME_BUCKET_INDEX,
        "GSI to Query by time bucket (read mode time-bucket; the writers must set timeBucket)",
    ),
    optional(
        SCAN_SEGMENTS,
        "parallel Scan segments of read mode scan (default 4)",
    ),
    required(ALERTS_QUEUE_URL, "SQS queue for high-priority alerts"),
    required(
        REDIS_URL,
        "redis:// or rediss:// URL of the state and pub/sub Redis",
    ),
    optional(
        REDIS_AUTH_PARAMETER,
        "SSM SecureString holding the Redis AUTH token",
    ),
    optional(
        THRESHOLDS_FILE,
        "TOML file overriding the built-in detection thresholds",
    ),
    optional(METRICS_NAMESPACE, "CloudWatch namespace (default Pulse)"),
    optional(
        METRICS_MODE,
        "emf (default, log lines) or api (PutMetricData)",
    ),
    optional(
        SCAN_OVERLAP_SECS,
        "seconds re-read before the watermark, for late writes (default 300)",
    ),
    optional(
        INITIAL_LOOKBACK_SECS,
        "seconds read back on the first tick, with no watermark yet (default 3600)",
    ),
    optional(
        TICK_MAX_RECORDS,
        "new records a scheduled tick processes at most, all tables together; the rest waits for the next tick (default 20000)",
    ),
    optional(
        TICK_CHUNK_RECORDS,
        "records per commit of a scheduled tick: the table's watermark advances after each (default 1000)",
    ),
    optional(
        TICK_BUDGET_SECS,
        "seconds after which a scheduled tick starts no further chunk; keep well under the function timeout (default 40)",
    ),
];

/// Variables the alert consumer reads.
pub const ALERT_CONSUMER: &[EnvVar] = &[
    required(
        REDIS_URL,
        "redis:// or rediss:// URL for idempotency records",
    ),
    optional(
        REDIS_AUTH_PARAMETER,
        "SSM SecureString holding the Redis AUTH token",
    ),
    required(ROUTES_FILE, "TOML routing tree and receivers"),
    optional(
        SECRETS_PARAMETER_PATH,
        "SSM path under which receiver secrets live",
    ),
    optional(METRICS_NAMESPACE, "CloudWatch namespace (default Pulse)"),
    optional(
        DLQ_RETENTION_SECS,
        "the DLQ's retention: delivered-records live at least this plus a day (Terraform sets it)",
    ),
    optional(
        ALERTS_QUEUE_URL,
        "the alerts queue: deferred messages (Retry-After, rate limits) go back to it delayed",
    ),
    optional(
        DEAD_LETTER_QUEUE_URL,
        "the DLQ: a message failing on its final receive goes there with its failureReason",
    ),
    optional(
        MAX_RECEIVE_COUNT,
        "the alerts queue's maxReceiveCount (default 3): which receive is the final one",
    ),
];

/// Variables the DLQ redrive function reads.
pub const DLQ_REDRIVE: &[EnvVar] = &[
    required(DEAD_LETTER_QUEUE_URL, "the alerts dead-letter queue"),
    optional(
        ALERTS_QUEUE_URL,
        "default destination when the redrive relationship is not used",
    ),
    optional(
        MAX_REDRIVE_COUNT,
        "messages redriven more often than this stay put (default 3)",
    ),
    optional(METRICS_NAMESPACE, "CloudWatch namespace (default Pulse)"),
];
