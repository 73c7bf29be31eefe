//! IAM, proven rather than assumed. Three parts:
//!
//! 1. The inventory ([`OPERATIONS`]): every AWS SDK operation each function's code can call,
//!    the IAM action that authorizes it and the resource it is called on. A static test scans
//!    the code each function is built from (its crate, plus the files of `shared/adapters` that
//!    define what it uses from `pulse_adapters`) for calls of the SDK's operations (their names come from
//!    the SDK crates themselves) and fails when the code and the inventory differ: a new SDK
//!    call without an inventory entry (hence without a policy check) fails the suite.
//! 2. A policy evaluator ([`evaluate`]): Allow/Deny statements, Action/NotAction,
//!    Resource/NotResource with wildcards, and the condition operators pulse's policies use.
//!    The rehearsal evaluates every inventory entry against each function's policy as
//!    Terraform rendered it, and checks the policy grants nothing the code (or Lambda's
//!    event source mappings, [`USED_BY_LAMBDA`]) does not use.
//! 3. What moto can and cannot check ([`moto_projection`]): the rehearsal also runs the
//!    functions' real code with their roles' credentials against moto with IAM enforcement
//!    on, through a recording proxy, and evaluates every recorded call here.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The three functions: key in Terraform, crate folder.
pub const FUNCTIONS: [(&str, &str); 3] = [
    ("detector", "detector"),
    ("alert_consumer", "alert-consumer"),
    ("dlq_redrive", "dlq-redrive"),
];

/// What an operation is called on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    AlertsQueue,
    DeadLetterQueue,
    /// Both tables (and their indexes, for Query).
    Tables,
    RedisAuthParameter,
    /// A parameter under the receivers' secrets path.
    SecretParameter,
    /// No resource type: `*`, with `cloudwatch:namespace` set to pulse's.
    MetricsNamespace,
    /// The SES identity an email receiver sends from.
    SesIdentity,
}

/// (function, SDK crate suffix, operation as the SDK names it, what it is called on).
pub const OPERATIONS: &[(&str, &str, &str, &[Target])] = &[
    // detector: shared/adapters (DynamoDB source, SQS alerts, SSM token, CloudWatch api mode)
    ("detector", "dynamodb", "scan", &[Target::Tables]),
    ("detector", "dynamodb", "query", &[Target::Tables]),
    // the keys read mode sizes its rolling discovery on the table's item count
    ("detector", "dynamodb", "describe_table", &[Target::Tables]),
    // TableWriter (shared/adapters/src/dynamodb.rs) loads sample data for `pulse local`: it is
    // compiled into the detector, which never calls it; no target = its role must not allow it.
    ("detector", "dynamodb", "batch_write_item", &[]),
    (
        "detector",
        "sqs",
        "send_message_batch",
        &[Target::AlertsQueue],
    ),
    (
        "detector",
        "sqs",
        "get_queue_attributes",
        &[Target::AlertsQueue],
    ),
    (
        "detector",
        "ssm",
        "get_parameters",
        &[Target::RedisAuthParameter],
    ),
    (
        "detector",
        "cloudwatch",
        "put_metric_data",
        &[Target::MetricsNamespace],
    ),
    // alert consumer: every secret and the Redis token with GetParameters
    (
        "alert_consumer",
        "ssm",
        "get_parameters",
        &[Target::SecretParameter, Target::RedisAuthParameter],
    ),
    // alert consumer: a deferred message back to the alerts queue (DelaySeconds), a message
    // failing on its final receive to the DLQ with its failureReason (sqs/forward.rs)
    (
        "alert_consumer",
        "sqs",
        "send_message",
        &[Target::AlertsQueue, Target::DeadLetterQueue],
    ),
    // email receivers (shared/adapters/src/ses.rs)
    (
        "alert_consumer",
        "sesv2",
        "send_email",
        &[Target::SesIdentity],
    ),
    // dlq-redrive
    (
        "dlq_redrive",
        "sqs",
        "receive_message",
        &[Target::DeadLetterQueue],
    ),
    (
        "dlq_redrive",
        "sqs",
        "change_message_visibility_batch",
        &[Target::DeadLetterQueue],
    ),
    (
        "dlq_redrive",
        "sqs",
        "send_message_batch",
        &[Target::AlertsQueue],
    ),
    (
        "dlq_redrive",
        "sqs",
        "delete_message_batch",
        &[Target::DeadLetterQueue],
    ),
    (
        "dlq_redrive",
        "sqs",
        "get_queue_attributes",
        &[Target::DeadLetterQueue, Target::AlertsQueue],
    ),
    (
        "dlq_redrive",
        "sqs",
        "list_dead_letter_source_queues",
        &[Target::DeadLetterQueue],
    ),
    (
        "dlq_redrive",
        "sqs",
        "start_message_move_task",
        &[Target::DeadLetterQueue],
    ),
    (
        "dlq_redrive",
        "sqs",
        "list_message_move_tasks",
        &[Target::DeadLetterQueue],
    ),
    (
        "dlq_redrive",
        "sqs",
        "cancel_message_move_task",
        &[Target::DeadLetterQueue],
    ),
];

/// Actions a function's policy grants that its code does not call, with why they are there.
pub const USED_BY_LAMBDA: &[(&str, &str)] = &[
    (
        "logs:CreateLogStream",
        "Lambda writes the function's logs with its role",
    ),
    (
        "logs:PutLogEvents",
        "Lambda writes the function's logs with its role",
    ),
    ("xray:PutTraceSegments", "Lambda's active tracing"),
    ("xray:PutTelemetryRecords", "Lambda's active tracing"),
    ("ec2:CreateNetworkInterface", "Lambda's VPC networking"),
    ("ec2:DescribeNetworkInterfaces", "Lambda's VPC networking"),
    ("ec2:DescribeSubnets", "Lambda's VPC networking"),
    ("ec2:DeleteNetworkInterface", "Lambda's VPC networking"),
    ("ec2:AssignPrivateIpAddresses", "Lambda's VPC networking"),
    ("ec2:UnassignPrivateIpAddresses", "Lambda's VPC networking"),
    ("dynamodb:DescribeStream", "the stream event source mapping"),
    ("dynamodb:GetRecords", "the stream event source mapping"),
    (
        "dynamodb:GetShardIterator",
        "the stream event source mapping",
    ),
    ("dynamodb:ListStreams", "the stream event source mapping"),
    (
        "sqs:ReceiveMessage",
        "the SQS event source mapping / the code",
    ),
    (
        "sqs:DeleteMessage",
        "the SQS event source mapping / DeleteMessageBatch",
    ),
    (
        "sqs:ChangeMessageVisibility",
        "the SQS event source mapping / its batch call",
    ),
    (
        "sqs:GetQueueAttributes",
        "the SQS event source mapping / the code",
    ),
    (
        "sqs:SendMessage",
        "the stream mapping's on-failure destination / SendMessageBatch",
    ),
    (
        "kms:Decrypt",
        "SecureString parameters under a customer managed key",
    ),
];

/// The IAM service prefix of an SDK crate.
pub fn iam_prefix(sdk: &str) -> &str {
    match sdk {
        "monitoring" => "cloudwatch",
        // SES v2 operations are authorized under the ses prefix
        "sesv2" => "ses",
        other => other,
    }
}

/// `send_message_batch` → `SendMessageBatch`.
pub fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The IAM action authorizing an operation: the batch calls are authorized as their
/// single-message actions, Lambda's Invoke as InvokeFunction.
pub fn iam_action(sdk: &str, operation_pascal: &str) -> String {
    let prefix = iam_prefix(sdk);
    let action = match (prefix, operation_pascal) {
        ("sqs", "SendMessageBatch") => "SendMessage",
        ("sqs", "DeleteMessageBatch") => "DeleteMessage",
        ("sqs", "ChangeMessageVisibilityBatch") => "ChangeMessageVisibility",
        ("lambda", "Invoke") => "InvokeFunction",
        (_, other) => other,
    };
    format!("{prefix}:{action}")
}

// ---------------------------------------------------------------------------------------
// The code's SDK calls
// ---------------------------------------------------------------------------------------

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Names defined at the top level of a file: `pub fn name`, `pub struct Name`, ...
fn definitions(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_start();
        for kw in [
            "pub fn ",
            "pub async fn ",
            "pub struct ",
            "pub enum ",
            "pub type ",
            "pub const ",
        ] {
            if let Some(rest) = line.strip_prefix(kw) {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        }
    }
    out
}

/// Identifiers named in `prefix` paths (`pulse_adapters::sqs::{SqsAlerts, SqsQueue}`).
fn path_names(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .flat_map(|(i, _)| {
            let path: String = text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "_:{}, \n".contains(*c))
                .collect();
            path.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The files of `shared/adapters` that code under `roots` uses: each file defining an item it
/// names through `pulse_adapters::`, and what those files use through `crate::`, transitively.
pub fn adapter_files_used(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut adapter_files = Vec::new();
    rust_files(&workspace().join("shared/adapters/src"), &mut adapter_files);
    let defined: Vec<(PathBuf, BTreeSet<String>)> = adapter_files
        .iter()
        .map(|f| (f.clone(), definitions(&std::fs::read_to_string(f).unwrap())))
        .collect();
    let mut own = Vec::new();
    for root in roots {
        rust_files(root, &mut own);
    }
    let mut wanted: BTreeSet<String> = own
        .iter()
        .flat_map(|f| path_names(&std::fs::read_to_string(f).unwrap(), "pulse_adapters::"))
        .collect();
    let mut used: BTreeSet<PathBuf> = BTreeSet::new();
    loop {
        let before = used.len();
        for (file, names) in &defined {
            if !used.contains(file) && names.iter().any(|n| wanted.contains(n)) {
                used.insert(file.clone());
                let text = std::fs::read_to_string(file).unwrap();
                wanted.extend(path_names(&text, "crate::"));
                wanted.extend(path_names(&text, "super::"));
            }
        }
        if used.len() == before {
            return used.into_iter().collect();
        }
    }
}

/// The source files a function's binary is built from that may call the SDK: its own crate
/// and the adapter files it uses.
pub fn source_roots(crate_dir: &str) -> Vec<PathBuf> {
    let own = vec![workspace().join("functions").join(crate_dir).join("src")];
    let adapters = adapter_files_used(&own);
    own.into_iter().chain(adapters).collect()
}

/// The operations of an SDK crate (`aws-sdk-<name>`), read from the crate's own source in
/// the cargo registry (`src/operation/<operation>/`), at the version Cargo.lock pins.
pub fn sdk_operations(sdk: &str) -> BTreeSet<String> {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).unwrap();
    let package = format!("name = \"aws-sdk-{sdk}\"\nversion = \"");
    let version = lock
        .split("[[package]]")
        .find_map(|p| {
            p.trim()
                .strip_prefix(&package)
                .map(|v| v.split('"').next().unwrap_or(""))
        })
        .unwrap_or_else(|| panic!("aws-sdk-{sdk} is not in Cargo.lock"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let registry = cargo_home.join("registry/src");
    for index in std::fs::read_dir(&registry).unwrap() {
        let dir = index
            .unwrap()
            .path()
            .join(format!("aws-sdk-{sdk}-{version}/src/operation"));
        if dir.is_dir() {
            return std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".rs"))
                .collect();
        }
    }
    panic!(
        "aws-sdk-{sdk} {version} source not found under {}",
        registry.display()
    );
}

/// (SDK crate suffix, operation) pairs the files under `roots` call: `.operation()` in a
/// file that names `aws_sdk_<crate>`.
pub fn sdk_calls(roots: &[PathBuf]) -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    for root in roots {
        rust_files(root, &mut files);
    }
    let mut calls = BTreeSet::new();
    let mut operations: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // `aws_sdk_<crate>` paths (docs mentioning `aws_sdk_*` name no crate).
        let sdks: BTreeSet<String> = text
            .match_indices("aws_sdk_")
            .map(|(i, _)| {
                text[i + 8..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
            })
            .filter(|name| !name.is_empty())
            .collect();
        for sdk in sdks {
            let ops = operations
                .entry(sdk.clone())
                .or_insert_with(|| sdk_operations(&sdk));
            for op in ops.iter() {
                if text.contains(&format!(".{op}()")) {
                    calls.insert((sdk.clone(), op.clone()));
                }
            }
        }
    }
    calls
}

/// Every file of the deployed code that names an AWS SDK crate lies in some function's
/// source roots (or the CLI's, which runs with operators' roles), so nothing escapes the scan.
pub fn unscanned_sdk_files() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = FUNCTIONS
        .iter()
        .flat_map(|(_, dir)| source_roots(dir))
        .collect();
    let cli = vec![workspace().join("cli/src")];
    roots.extend(adapter_files_used(&cli));
    roots.extend(cli);
    let mut files = Vec::new();
    for dir in ["shared", "functions", "cli/src"] {
        rust_files(&workspace().join(dir), &mut files);
    }
    files
        .into_iter()
        .filter(|f| {
            let s = f.to_string_lossy();
            !s.contains("/benches/") && !s.contains("/examples/") && !s.contains("/tests/")
        })
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("aws_sdk_"))
        .filter(|f| !roots.iter().any(|r| f.starts_with(r)))
        .collect()
}

#[test]
fn every_sdk_call_of_every_function_is_in_the_iam_inventory() {
    assert!(
        unscanned_sdk_files().is_empty(),
        "files using the AWS SDK outside every function's scanned sources: {:?}",
        unscanned_sdk_files()
    );
    for (function, dir) in FUNCTIONS {
        let found = sdk_calls(&source_roots(dir));
        let listed: BTreeSet<(String, String)> = OPERATIONS
            .iter()
            .filter(|(f, ..)| *f == function)
            .map(|(_, sdk, op, _)| (sdk.to_string(), op.to_string()))
            .collect();
        let missing: Vec<_> = found.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "{function} calls {missing:?}, which tests/tests/terraform/iam.rs OPERATIONS does not list: add each with the resource it is called on, and the IAM action to the function's statements in terraform/modules/pulse/iam.tf"
        );
        let stale: Vec<_> = listed.difference(&found).collect();
        assert!(
            stale.is_empty(),
            "OPERATIONS lists {stale:?} for {function}, which its code no longer calls"
        );
    }
    // The inventory itself is not empty of what matters.
    assert!(
        OPERATIONS
            .iter()
            .any(|(f, sdk, op, _)| *f == "alert_consumer"
                && *sdk == "ssm"
                && *op == "get_parameters")
    );
}

#[test]
fn iam_actions_of_sdk_operations() {
    assert_eq!(
        iam_action("sqs", &pascal("send_message_batch")),
        "sqs:SendMessage"
    );
    assert_eq!(
        iam_action("ssm", &pascal("get_parameters")),
        "ssm:GetParameters"
    );
    assert_eq!(
        iam_action("monitoring", "PutMetricData"),
        "cloudwatch:PutMetricData"
    );
    assert_eq!(iam_action("lambda", "Invoke"), "lambda:InvokeFunction");
    assert_eq!(iam_action("sesv2", &pascal("send_email")), "ses:SendEmail");
}

// ---------------------------------------------------------------------------------------
// Evaluating a policy
// ---------------------------------------------------------------------------------------

/// One authorization question.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, String>,
}

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// Glob match with `*` and `?`, as IAM does for actions (case-insensitive) and resources.
pub fn glob(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_ascii_lowercase().chars().collect(),
            text.to_ascii_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn condition_holds(conditions: &Value, context: &BTreeMap<String, String>) -> bool {
    let Some(ops) = conditions.as_object() else {
        return true;
    };
    ops.iter().all(|(op, keys)| {
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, values)| {
                let values = list(Some(values));
                let Some(actual) = context.get(key) else {
                    return op.ends_with("IfExists");
                };
                match op.trim_end_matches("IfExists") {
                    "StringEquals" | "ArnEquals" => values.iter().any(|v| v == actual),
                    "StringLike" | "ArnLike" => values.iter().any(|v| glob(v, actual, false)),
                    "Bool" => values.iter().any(|v| v.eq_ignore_ascii_case(actual)),
                    // An operator pulse's policies do not use: never assumed to hold.
                    _ => false,
                }
            })
        })
    })
}

/// `Ok(sid)` of the statement that allows the request, or `Err(why not)`.
pub fn evaluate(policy: &Value, request: &Request) -> Result<String, String> {
    let statements = match &policy["Statement"] {
        Value::Array(s) => s.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => return Err("policy has no Statement".into()),
    };
    let mut allowed = None;
    for s in &statements {
        let action_matches = if s.get("NotAction").is_some() {
            !list(s.get("NotAction"))
                .iter()
                .any(|a| glob(a, &request.action, true))
        } else {
            list(s.get("Action"))
                .iter()
                .any(|a| glob(a, &request.action, true))
        };
        let resource_matches = if s.get("NotResource").is_some() {
            !list(s.get("NotResource"))
                .iter()
                .any(|r| glob(r, &request.resource, false))
        } else {
            list(s.get("Resource"))
                .iter()
                .any(|r| glob(r, &request.resource, false))
        };
        let conditions = s
            .get("Condition")
            .is_none_or(|c| condition_holds(c, &request.context));
        if action_matches && resource_matches && conditions {
            let sid = s["Sid"].as_str().unwrap_or("(no sid)").to_string();
            if s["Effect"] == "Deny" {
                return Err(format!("denied explicitly by {sid}"));
            }
            allowed.get_or_insert(sid);
        }
    }
    allowed.ok_or_else(|| {
        format!(
            "no statement allows {} on {} (context {:?})",
            request.action, request.resource, request.context
        )
    })
}

/// The policy as moto can evaluate it. moto 5.2 (moto/iam/access_control.py) authenticates
/// the caller (signature, the assumed role's session token) and matches the *action* of
/// every call, but: it names the action after the API operation and the signing name
/// (`sqs:SendMessageBatch`, `monitoring:PutMetricData`) where IAM uses `sqs:SendMessage` and
/// `cloudwatch:PutMetricData`; it knows the resource only for SQS (the queue's ARN), IAM roles
/// and STS AssumeRole, and passes `*` for every other service, which no scoped statement
/// matches; and it treats a statement whose Condition it cannot fill as an explicit Deny.
/// So: batch and signing-name aliases are added for granted actions, resources are kept for
/// SQS-only statements and widened to `*` otherwise, conditions are dropped. Every action
/// stays exactly as granted: a missing action is still denied by moto. What moto cannot see
/// (resources outside SQS, conditions) [`evaluate`] checks on the recorded calls.
pub fn moto_projection(policy: &Value) -> Value {
    let statements: Vec<Value> = list_statements(policy)
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
        .map(|s| {
            let mut actions = list(s.get("Action"));
            for a in actions.clone() {
                match a.as_str() {
                    "sqs:SendMessage" => actions.push("sqs:SendMessageBatch".into()),
                    "sqs:DeleteMessage" => actions.push("sqs:DeleteMessageBatch".into()),
                    "sqs:ChangeMessageVisibility" => {
                        actions.push("sqs:ChangeMessageVisibilityBatch".into())
                    }
                    other => {
                        if let Some(rest) = other.strip_prefix("cloudwatch:") {
                            actions.push(format!("monitoring:{rest}"));
                        }
                    }
                }
            }
            let sqs_only = actions.iter().all(|a| a.starts_with("sqs:"));
            let resources = if sqs_only {
                s.get("Resource")
                    .cloned()
                    .unwrap_or(Value::String("*".into()))
            } else {
                Value::String("*".into())
            };
            serde_json::json!({
                "Sid": s.get("Sid").cloned().unwrap_or(Value::Null),
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            })
        })
        .collect();
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
}

fn list_statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(s) => s.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// Every action an Allow statement of the policy grants.
pub fn granted_actions(policy: &Value) -> BTreeSet<String> {
    list_statements(policy)
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| list(s.get("Action")))
        .collect()
}

#[test]
fn the_evaluator_matches_actions_resources_and_conditions() {
    let policy = serde_json::json!({"Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": "arn:aws:ssm:r:1:parameter/pulse/dev/*"},
        {"Sid": "M", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "Pulse"}}},
        {"Sid": "D", "Effect": "Deny", "Action": "ssm:*", "Resource": "arn:aws:ssm:r:1:parameter/secret"}
    ]});
    let req = |action: &str, resource: &str, ctx: &[(&str, &str)]| Request {
        action: action.into(),
        resource: resource.into(),
        context: ctx
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    assert_eq!(
        evaluate(
            &policy,
            &req(
                "ssm:GetParameter",
                "arn:aws:ssm:r:1:parameter/pulse/dev/x",
                &[]
            )
        ),
        Ok("A".into())
    );
    assert!(
        evaluate(
            &policy,
            &req(
                "ssm:GetParameters",
                "arn:aws:ssm:r:1:parameter/pulse/dev/x",
                &[]
            )
        )
        .is_err()
    );
    assert!(
        evaluate(
            &policy,
            &req(
                "ssm:GetParameter",
                "arn:aws:ssm:r:1:parameter/pulse/prod/x",
                &[]
            )
        )
        .is_err()
    );
    assert!(
        evaluate(
            &policy,
            &req(
                "cloudwatch:PutMetricData",
                "*",
                &[("cloudwatch:namespace", "Pulse")]
            )
        )
        .is_ok()
    );
    assert!(
        evaluate(
            &policy,
            &req(
                "cloudwatch:PutMetricData",
                "*",
                &[("cloudwatch:namespace", "Other")]
            )
        )
        .is_err()
    );
    assert!(evaluate(&policy, &req("cloudwatch:PutMetricData", "*", &[])).is_err());
    assert!(
        evaluate(
            &policy,
            &req("ssm:GetParameter", "arn:aws:ssm:r:1:parameter/secret", &[])
        )
        .is_err()
    );
    let moto = moto_projection(&policy);
    assert_eq!(
        moto["Statement"][0]["Resource"], "*",
        "moto sees no SSM resource"
    );
    assert_eq!(
        moto["Statement"][0]["Action"],
        serde_json::json!(["ssm:GetParameter"])
    );
    assert!(moto["Statement"][1]["Condition"].is_null());
}
