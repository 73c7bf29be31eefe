//! The Terraform under `terraform/`, checked two ways.
//!
//! 1. Static invariants read from the HCL (hcl-rs): every queue has a dead-letter queue or is
//!    one, every function has a log group with retention and its alarms, no IAM statement
//!    allows every action, the SQS mapping reports batch item failures, and the environment
//!    variable names Terraform sets are those of `pulse_core::env` (the one list in `shared`).
//! 2. An apply rehearsal: `terraform apply` of `terraform/rehearsal` (the pulse module with
//!    dev-like settings) against `moto_server`, checks through the AWS SDK, then `destroy`.
//!    Skipped with a message when terraform or /opt/tf-plugins is missing; opt out with
//!    `PULSE_SKIP_TF_REHEARSAL=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl::{Block, Body, Expression, ObjectKey};
use pulse_core::env::{ALERT_CONSUMER, DETECTOR, DLQ_REDRIVE, EnvVar};

// ---------------------------------------------------------------------------------------
// Loading the HCL
// ---------------------------------------------------------------------------------------

fn terraform_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("terraform")
}

/// The `.tf` files of one directory (one Terraform module), parsed.
struct Module {
    dir: PathBuf,
    files: Vec<(PathBuf, String, Body)>,
}

impl Module {
    fn load(dir: &Path) -> Module {
        let mut files = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "tf"))
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path).unwrap();
            let body =
                hcl::parse(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
            files.push((path, text, body));
        }
        assert!(!files.is_empty(), "no .tf file in {}", dir.display());
        Module {
            dir: dir.to_path_buf(),
            files,
        }
    }

    fn named(name: &str) -> Module {
        Module::load(&terraform_dir().join("modules").join(name))
    }

    fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.files.iter().flat_map(|(_, _, body)| body.blocks())
    }

    /// `resource "<kind>" "<name>"` blocks as (name, block).
    fn resources(&self, kind: &str) -> Vec<(String, &Block)> {
        self.labelled("resource", kind)
    }

    fn labelled(&self, identifier: &str, kind: &str) -> Vec<(String, &Block)> {
        self.blocks()
            .filter(|b| b.identifier() == identifier && label(b, 0) == kind)
            .map(|b| (label(b, 1), b))
            .collect()
    }

    fn resource(&self, kind: &str, name: &str) -> &Block {
        self.resources(kind)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("{}: no {kind}.{name}", self.dir.display()))
    }

    /// `module "<name>"` blocks as (name, block).
    fn module_calls(&self) -> Vec<(String, &Block)> {
        self.blocks()
            .filter(|b| b.identifier() == "module")
            .map(|b| (label(b, 0), b))
            .collect()
    }

    fn module_call(&self, name: &str) -> &Block {
        self.module_calls()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("{}: no module.{name}", self.dir.display()))
    }

    fn local(&self, name: &str) -> &Expression {
        self.blocks()
            .filter(|b| b.identifier() == "locals")
            .find_map(|b| attr(b, name))
            .unwrap_or_else(|| panic!("{}: no local.{name}", self.dir.display()))
    }

    fn variable_default(&self, name: &str) -> Option<&Expression> {
        self.blocks()
            .find(|b| b.identifier() == "variable" && label(b, 0) == name)
            .unwrap_or_else(|| panic!("{}: no variable {name}", self.dir.display()))
            .body()
            .attributes()
            .find(|a| a.key() == "default")
            .map(|a| a.expr())
    }
}

fn label(block: &Block, i: usize) -> String {
    block
        .labels()
        .get(i)
        .map(|l| l.as_str().to_string())
        .unwrap_or_default()
}

fn attr<'a>(block: &'a Block, key: &str) -> Option<&'a Expression> {
    block
        .body()
        .attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr())
}

fn attr_text(block: &Block, key: &str) -> String {
    attr(block, key).map(text).unwrap_or_default()
}

fn child<'a>(block: &'a Block, identifier: &str) -> Option<&'a Block> {
    block.body().blocks().find(|b| b.identifier() == identifier)
}

/// An expression as HCL text, for reference checks such as "uses aws_sqs_queue.dlq.arn".
fn text(expr: &Expression) -> String {
    hcl::format::to_string(expr).unwrap()
}

fn object_key(key: &ObjectKey) -> String {
    match key {
        ObjectKey::Identifier(id) => id.to_string(),
        ObjectKey::Expression(Expression::String(s)) => s.clone(),
        ObjectKey::Expression(e) => text(e),
        other => format!("{other:?}"),
    }
}

fn number(expr: &Expression) -> Option<f64> {
    match expr {
        Expression::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn strings(expr: &Expression) -> Vec<String> {
    match expr {
        Expression::String(s) => vec![s.clone()],
        Expression::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

fn every_module() -> Vec<Module> {
    let mut dirs = Vec::new();
    for parent in ["modules", "envs"] {
        for entry in std::fs::read_dir(terraform_dir().join(parent)).unwrap() {
            dirs.push(entry.unwrap().path());
        }
    }
    dirs.push(terraform_dir().join("rehearsal"));
    dirs.sort();
    dirs.iter().map(|d| Module::load(d)).collect()
}

// ---------------------------------------------------------------------------------------
// Static invariants
// ---------------------------------------------------------------------------------------

#[test]
fn every_queue_has_a_dead_letter_queue_or_is_one() {
    let mut queues_seen = 0;
    for module in every_module() {
        let queues = module.resources("aws_sqs_queue");
        let all_text: String = module.files.iter().map(|(_, t, _)| t.as_str()).collect();
        for (name, queue) in &queues {
            queues_seen += 1;
            let here = format!("{}: aws_sqs_queue.{name}", module.dir.display());
            assert!(
                attr(queue, "sqs_managed_sse_enabled").is_some()
                    || attr(queue, "kms_master_key_id").is_some(),
                "{here} has no server-side encryption"
            );
            if let Some(policy) = attr(queue, "redrive_policy") {
                let policy = text(policy);
                let target = queues
                    .iter()
                    .filter(|(other, _)| other != name)
                    .find(|(other, _)| policy.contains(&format!("aws_sqs_queue.{other}.arn")));
                assert!(
                    target.is_some(),
                    "{here}: redrive_policy names no dead-letter queue of the module: {policy}"
                );
                assert!(
                    policy.contains("maxReceiveCount"),
                    "{here}: redrive_policy without maxReceiveCount"
                );
            } else {
                // No redrive policy: it must itself be a dead-letter destination, of another
                // queue or of an event source mapping, and keep messages 14 days.
                let reference = format!("aws_sqs_queue.{name}");
                let is_target = queues.iter().any(|(_, other)| {
                    attr_text(other, "redrive_policy").contains(&format!("{reference}.arn"))
                }) || module
                    .resources("aws_lambda_event_source_mapping")
                    .iter()
                    .any(|(_, m)| {
                        child(m, "destination_config")
                            .and_then(|d| child(d, "on_failure"))
                            .is_some_and(|f| attr_text(f, "destination_arn").contains(&reference))
                    });
                assert!(
                    is_target,
                    "{here} has no redrive_policy and is no dead-letter queue"
                );
                let retention = attr(queue, "message_retention_seconds")
                    .map(|e| {
                        number(e).unwrap_or_else(|| {
                            let var = text(e);
                            let var = var.trim_start_matches("var.");
                            module
                                .variable_default(var)
                                .and_then(number)
                                .unwrap_or_default()
                        })
                    })
                    .unwrap_or_default();
                assert_eq!(
                    retention, 1_209_600.0,
                    "{here}: a dead-letter queue keeps messages 14 days"
                );
                assert!(all_text.contains(&reference), "{here} is never referenced");
            }
        }
    }
    assert!(
        queues_seen >= 3,
        "expected the alerts queue, its DLQ and the stream failure queue"
    );

    // The pulse module redrives after exactly 3 receives, alarms on every dead-letter queue,
    // and no environment turns the redrive-allow policy off (only the emulator rehearsal may).
    let pulse = Module::named("pulse");
    let queues = pulse.module_call("queues");
    assert_eq!(
        attr(queues, "max_receive_count").and_then(number),
        Some(3.0)
    );
    let dead_letters = attr_text(pulse.module_call("alarms"), "dead_letter_queue_names");
    for dlq in ["module.queues.dlq_name", "aws_sqs_queue.stream_failures"] {
        assert!(
            dead_letters.contains(dlq),
            "no not-empty alarm for {dlq}: {dead_letters}"
        );
    }
    for env in ["dev", "staging", "prod"] {
        let module = Module::load(&terraform_dir().join("envs").join(env));
        let pulse_call = module.module_call("pulse");
        assert!(
            attr(pulse_call, "create_dlq_redrive_allow_policy").is_none(),
            "{env} must keep the DLQ's redrive-allow policy"
        );
    }
}

#[test]
fn alerts_queue_visibility_is_at_least_six_consumer_timeouts() {
    let queues = Module::named("queues");
    let computed = text(queues.local("visibility_timeout_seconds"));
    assert!(
        computed.contains("6 * var.consumer_timeout_seconds"),
        "visibility timeout is not derived from 6x the consumer timeout: {computed}"
    );
    for (name, queue) in queues.resources("aws_sqs_queue") {
        assert_eq!(
            attr_text(queue, "visibility_timeout_seconds"),
            "local.visibility_timeout_seconds",
            "aws_sqs_queue.{name} does not use the computed visibility timeout"
        );
    }
    assert_eq!(
        queues
            .variable_default("dlq_message_retention_seconds")
            .and_then(number),
        Some(1_209_600.0)
    );
    let pulse = Module::named("pulse");
    assert_eq!(
        attr_text(pulse.module_call("queues"), "consumer_timeout_seconds"),
        attr_text(pulse.module_call("alert_consumer"), "timeout"),
        "the queue must be sized on the alert consumer's own timeout"
    );
}

/// Names of the `module` calls in `pulse` that instantiate the function module.
fn function_calls(pulse: &Module) -> Vec<(String, &Block)> {
    pulse
        .module_calls()
        .into_iter()
        .filter(|(_, b)| attr_text(b, "source") == "\"../function\"")
        .collect()
}

#[test]
fn every_function_has_a_log_group_with_retention_and_alarms() {
    let function = Module::named("function");
    let lambda = function.resource("aws_lambda_function", "this");
    assert_eq!(attr_text(lambda, "runtime"), "\"provided.al2023\"");
    assert_eq!(attr_text(lambda, "handler"), "\"bootstrap\"");
    assert_eq!(attr_text(lambda, "architectures"), "var.architectures");
    assert_eq!(
        function
            .variable_default("architectures")
            .map(strings)
            .unwrap_or_default(),
        vec!["arm64".to_string()]
    );
    let logging = child(lambda, "logging_config").expect("logging_config");
    assert_eq!(attr_text(logging, "log_format"), "\"JSON\"");
    assert_eq!(
        attr_text(logging, "log_group"),
        "aws_cloudwatch_log_group.this.name"
    );
    let log_group = function.resource("aws_cloudwatch_log_group", "this");
    assert_eq!(
        attr_text(log_group, "retention_in_days"),
        "var.log_retention_days"
    );
    assert!(
        function
            .variable_default("log_retention_days")
            .and_then(number)
            .is_some_and(|d| d > 0.0),
        "log_retention_days needs a positive default"
    );

    let pulse = Module::named("pulse");
    let calls = function_calls(&pulse);
    let names: BTreeSet<String> = calls.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "alert_consumer".into(),
            "detector".into(),
            "dlq_redrive".into()
        ])
    );
    for (name, call) in &calls {
        assert!(
            attr(call, "zip_path").is_some_and(|e| text(e).starts_with("var.")),
            "module.{name}: the zip path must be a variable"
        );
        assert!(
            attr(call, "log_retention_days").is_some(),
            "module.{name}: no log retention"
        );
    }
    assert_eq!(
        attr(
            pulse.module_call("detector"),
            "reserved_concurrent_executions"
        )
        .and_then(number),
        Some(1.0),
        "detector ticks must never overlap"
    );

    // Every function is watched, and the alarms module alarms on each function it is given.
    let alarms_call = pulse.module_call("alarms");
    let Some(Expression::Object(watched)) = attr(alarms_call, "functions") else {
        panic!("module.alarms: functions must be an object literal");
    };
    let watched: BTreeMap<String, String> = watched
        .iter()
        .map(|(k, v)| (object_key(k), text(v)))
        .collect();
    for name in &names {
        let value = watched
            .get(name)
            .unwrap_or_else(|| panic!("module.{name} has no alarms"));
        assert!(
            value.contains(&format!("module.{name}.function_name"))
                && value.contains(&format!("module.{name}.timeout")),
            "alarms for {name} watch another function: {value}"
        );
    }
    let alarms = Module::named("alarms");
    for kind in ["errors", "throttles", "duration"] {
        let alarm = alarms.resource("aws_cloudwatch_metric_alarm", kind);
        assert_eq!(
            attr_text(alarm, "for_each"),
            "var.functions",
            "the {kind} alarm must cover every function"
        );
        assert_eq!(attr_text(alarm, "alarm_actions"), "local.actions");
    }
    let lag = alarms.resource("aws_cloudwatch_metric_alarm", "detector_lag");
    assert_eq!(attr_text(lag, "treat_missing_data"), "\"breaching\"");
    assert_eq!(
        attr_text(pulse.module_call("alarms"), "detector_lag_minutes"),
        "5"
    );
}

/// Every string under an `actions` / `Action` attribute or object key, anywhere.
fn collect_actions(expr: &Expression, under_actions: bool, out: &mut Vec<String>) {
    match expr {
        Expression::String(s) if under_actions => out.push(s.clone()),
        Expression::Array(items) => items
            .iter()
            .for_each(|e| collect_actions(e, under_actions, out)),
        Expression::Object(object) => {
            for (k, v) in object {
                let key = object_key(k);
                collect_actions(v, under_actions || is_action_key(&key), out);
            }
        }
        Expression::FuncCall(call) => call
            .args
            .iter()
            .for_each(|e| collect_actions(e, under_actions, out)),
        Expression::Parenthesis(e) => collect_actions(e, under_actions, out),
        Expression::Conditional(c) => {
            collect_actions(&c.true_expr, under_actions, out);
            collect_actions(&c.false_expr, under_actions, out);
        }
        Expression::ForExpr(f) => {
            collect_actions(&f.collection_expr, under_actions, out);
            collect_actions(&f.value_expr, under_actions, out);
        }
        _ => {}
    }
}

fn is_action_key(key: &str) -> bool {
    matches!(key, "actions" | "Action" | "not_actions" | "NotAction")
}

fn collect_body_actions(body: &Body, out: &mut Vec<String>) {
    for a in body.attributes() {
        collect_actions(a.expr(), is_action_key(a.key()), out);
    }
    for b in body.blocks() {
        collect_body_actions(b.body(), out);
    }
}

#[test]
fn no_iam_statement_allows_every_action() {
    let mut actions = Vec::new();
    let modules = every_module();
    for module in &modules {
        for (_, _, body) in &module.files {
            collect_body_actions(body, &mut actions);
        }
    }
    assert!(
        actions.iter().any(|a| a == "sqs:StartMessageMoveTask"),
        "the action walk found nothing: {actions:?}"
    );
    for action in &actions {
        assert!(
            action != "*" && !action.ends_with(":*"),
            "IAM action {action:?} allows every action (of a service)"
        );
    }

    // A "*" resource carries a comment saying why AWS has nothing narrower.
    for module in &modules {
        for (path, text, _) in &module.files {
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if line.contains("resources") && line.contains("[\"*\"]") {
                    let commented = lines[i.saturating_sub(3)..=i]
                        .iter()
                        .any(|l| l.contains('#'));
                    assert!(
                        commented,
                        "{}:{}: \"*\" resource without a comment saying why",
                        path.display(),
                        i + 1
                    );
                }
            }
        }
    }

    // PutMetricData (no resource type) is limited to pulse's namespace.
    let pulse = Module::named("pulse");
    let put_metrics = text(pulse.local("put_metrics"));
    assert!(put_metrics.contains("cloudwatch:PutMetricData"));
    assert!(
        put_metrics.contains("cloudwatch:namespace")
            && put_metrics.contains("var.metrics_namespace"),
        "PutMetricData without the namespace condition: {put_metrics}"
    );
    assert_eq!(
        pulse.variable_default("metrics_namespace"),
        Some(&Expression::String(
            pulse_core::env::DEFAULT_METRICS_NAMESPACE.into()
        ))
    );

    // The DLQ redrive role can run message move tasks on the DLQ.
    let redrive = text(pulse.local("dlq_redrive_statement_candidates"));
    for action in [
        "sqs:StartMessageMoveTask",
        "sqs:ListMessageMoveTasks",
        "sqs:CancelMessageMoveTask",
        "sqs:ListDeadLetterSourceQueues",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:SendMessage",
    ] {
        assert!(redrive.contains(action), "dlq redrive role lacks {action}");
    }
}

#[test]
fn sqs_mapping_reports_batch_item_failures() {
    let pulse = Module::named("pulse");
    let sqs = pulse.resource("aws_lambda_event_source_mapping", "alert_consumer_queue");
    assert_eq!(
        attr_text(sqs, "event_source_arn"),
        "module.queues.queue_arn"
    );
    assert_eq!(
        attr_text(sqs, "function_name"),
        "module.alert_consumer.function_arn"
    );
    assert_eq!(
        attr(sqs, "function_response_types").map(strings),
        Some(vec!["ReportBatchItemFailures".to_string()])
    );
    assert_eq!(
        attr_text(sqs, "batch_size"),
        "var.alert_consumer_batch_size"
    );
    let scaling = child(sqs, "scaling_config").expect("scaling_config");
    assert_eq!(
        attr_text(scaling, "maximum_concurrency"),
        "var.alert_consumer_maximum_concurrency"
    );

    let stream = pulse.resource("aws_lambda_event_source_mapping", "detector_stream");
    assert!(attr_text(stream, "for_each").contains("var.enable_stream_trigger"));
    assert_eq!(
        attr(stream, "function_response_types").map(strings),
        Some(vec!["ReportBatchItemFailures".to_string()])
    );
    assert_eq!(
        attr(stream, "bisect_batch_on_function_error"),
        Some(&Expression::Bool(true))
    );
    let on_failure = child(stream, "destination_config")
        .and_then(|d| child(d, "on_failure"))
        .expect("destination_config.on_failure");
    assert!(attr_text(on_failure, "destination_arn").contains("aws_sqs_queue.stream_failures"));

    let schedule = pulse.resource("aws_cloudwatch_event_rule", "detector_schedule");
    assert_eq!(
        attr_text(schedule, "schedule_expression"),
        "var.detector_schedule_expression"
    );
    assert_eq!(
        pulse.variable_default("detector_schedule_expression"),
        Some(&Expression::String("rate(1 minute)".into()))
    );
}

/// Names a `merge({required...}, {for k, v in {optional...} : k => v if v != ""})` sets:
/// (set unconditionally, set only when non-empty).
fn environment_names(expr: &Expression) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut always = BTreeSet::new();
    let mut sometimes = BTreeSet::new();
    let parts: Vec<&Expression> = match expr {
        Expression::FuncCall(call) if call.name.name.as_str() == "merge" => {
            call.args.iter().collect()
        }
        other => vec![other],
    };
    for part in parts {
        match part {
            Expression::Object(object) => always.extend(object.keys().map(object_key)),
            Expression::ForExpr(f) => match &f.collection_expr {
                Expression::Object(object) => sometimes.extend(object.keys().map(object_key)),
                other => panic!(
                    "environment for-expression over a non-literal: {}",
                    text(other)
                ),
            },
            other => panic!("unexpected environment part: {}", text(other)),
        }
    }
    (always, sometimes)
}

#[test]
fn environment_variable_names_match_shared_env() {
    let pulse = Module::named("pulse");
    let cases: [(&str, &[EnvVar]); 3] = [
        ("detector", DETECTOR),
        ("alert_consumer", ALERT_CONSUMER),
        ("dlq_redrive", DLQ_REDRIVE),
    ];
    for (function, list) in cases {
        let local = format!("{function}_environment");
        assert_eq!(
            attr_text(pulse.module_call(function), "environment"),
            format!("local.{local}"),
            "module.{function} does not get its environment from local.{local}"
        );
        let (always, sometimes) = environment_names(pulse.local(&local));
        let known: BTreeSet<String> = list.iter().map(|v| v.name.to_string()).collect();
        for name in always.iter().chain(&sometimes) {
            assert!(
                known.contains(name),
                "{function}: Terraform sets {name}, which the function does not read"
            );
        }
        for var in list.iter().filter(|v| v.required) {
            assert!(
                always.contains(var.name),
                "{function}: required {} is not always set by Terraform",
                var.name
            );
        }
        assert!(
            !always.contains(pulse_core::env::AWS_ENDPOINT_URL)
                && !sometimes.contains(pulse_core::env::AWS_ENDPOINT_URL),
            "Terraform never sets AWS_ENDPOINT_URL"
        );
    }
}

#[test]
fn environments_pin_the_provider_and_use_an_s3_backend() {
    for env in ["dev", "staging", "prod"] {
        let module = Module::load(&terraform_dir().join("envs").join(env));
        let terraform = module
            .blocks()
            .find(|b| b.identifier() == "terraform")
            .expect("terraform block");
        let backend = child(terraform, "backend").expect("backend block");
        assert_eq!(label(backend, 0), "s3", "{env}");
        let providers = child(terraform, "required_providers").expect("required_providers");
        assert!(attr_text(providers, "aws").contains("~> 5.100"), "{env}");
        assert_eq!(module.module_calls().len(), 1, "{env}: one module call");
        assert_eq!(
            attr_text(module.module_call("pulse"), "source"),
            "\"../../modules/pulse\""
        );
        assert!(
            module.dir.join("terraform.tfvars").is_file(),
            "{env}: no terraform.tfvars"
        );
    }
}

#[test]
fn every_variable_is_typed_described_and_documented() {
    let readme = std::fs::read_to_string(terraform_dir().join("README.md")).unwrap();
    for dir in [
        terraform_dir().join("modules/pulse"),
        terraform_dir().join("envs/dev"),
        terraform_dir().join("rehearsal"),
    ] {
        let module = Module::load(&dir);
        for block in module.blocks().filter(|b| b.identifier() == "variable") {
            let name = label(block, 0);
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "terraform/README.md does not document {name} of {}",
                dir.display()
            );
        }
    }
    for module in every_module() {
        for block in module.blocks() {
            let what = match block.identifier() {
                "variable" => ["type", "description"].as_slice(),
                "output" => ["description"].as_slice(),
                _ => continue,
            };
            for key in what {
                assert!(
                    attr(block, key).is_some(),
                    "{}: {} {} has no {key}",
                    module.dir.display(),
                    block.identifier(),
                    label(block, 0)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Apply rehearsal against moto_server
// ---------------------------------------------------------------------------------------

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

const PLUGIN_DIR: &str = "/opt/tf-plugins";

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == ".terraform" || name.ends_with(".tfstate") || name.contains(".tfstate.") {
            continue;
        }
        let target = to.join(&*name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else if name.ends_with(".tf") {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip holding one stored (uncompressed) executable file `bootstrap`.
fn placeholder_zip(content: &[u8]) -> Vec<u8> {
    let name = b"bootstrap";
    let crc = crc32(content);
    let size = u32::try_from(content.len()).unwrap();
    let mut zip = Vec::new();
    // local file header
    zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]); // version, flags, stored, time, date
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(name);
    zip.extend_from_slice(content);
    let central = zip.len() as u32;
    // central directory header (made by unix 3.0, file mode 0755)
    zip.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[30, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // extra, comment, disk, internal attrs
    zip.extend_from_slice(&(0o100_755u32 << 16).to_le_bytes());
    zip.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    zip.extend_from_slice(name);
    let central_size = zip.len() as u32 - central;
    // end of central directory
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    zip.extend_from_slice(&central_size.to_le_bytes());
    zip.extend_from_slice(&central.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

/// Real zips from `cargo lambda build` when present, placeholders otherwise.
fn artifacts(dir: &Path) -> PathBuf {
    let built = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("lambda");
    let out = dir.join("artifacts");
    for name in ["detector", "alert-consumer", "dlq-redrive"] {
        std::fs::create_dir_all(out.join(name)).unwrap();
        let zip = out.join(name).join("bootstrap.zip");
        let real = built.join(name).join("bootstrap.zip");
        if real.is_file() {
            std::fs::copy(&real, &zip).unwrap();
        } else {
            let script = format!("#!/bin/sh\necho placeholder for {name}\n");
            std::fs::write(&zip, placeholder_zip(script.as_bytes())).unwrap();
        }
    }
    out
}

struct Terraform {
    root: PathBuf,
    envs: Vec<(String, String)>,
}

impl Terraform {
    fn run(&self, args: &[&str]) -> (bool, String) {
        let output = Command::new("terraform")
            .arg(format!("-chdir={}", self.root.display()))
            .args(args)
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .output()
            .expect("spawn terraform");
        let mut all = String::from_utf8_lossy(&output.stdout).into_owned();
        all.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status.success(), all)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, output) = self.run(args);
        let tail: String = {
            let lines: Vec<&str> = output.lines().collect();
            lines[lines.len().saturating_sub(60)..].join("\n")
        };
        assert!(ok, "terraform {} failed:\n{tail}", args.join(" "));
        output
    }
}

fn rehearsal_skip_reason() -> Option<String> {
    if std::env::var("PULSE_SKIP_TF_REHEARSAL").is_ok_and(|v| v == "1") {
        return Some("PULSE_SKIP_TF_REHEARSAL=1".into());
    }
    if !on_path("terraform") {
        return Some("terraform is not on PATH".into());
    }
    if !Path::new(PLUGIN_DIR).is_dir() {
        return Some(format!("{PLUGIN_DIR} (offline aws provider) is missing"));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_rehearsal_against_moto() {
    if let Some(reason) = rehearsal_skip_reason() {
        println!("SKIP apply rehearsal: {reason}");
        return;
    }
    let moto = pulse_tests::MotoServer::start();
    let endpoint = moto.endpoint();

    let work = TempDir::new("pulse-tf-rehearsal");
    copy_tree(&terraform_dir().join("modules"), &work.0.join("modules"));
    copy_tree(
        &terraform_dir().join("rehearsal"),
        &work.0.join("rehearsal"),
    );
    let artifacts = artifacts(&work.0);
    let cli_config = work.0.join("empty.tfrc");
    std::fs::write(&cli_config, "").unwrap();
    let tf = Terraform {
        root: work.0.join("rehearsal"),
        envs: vec![
            (
                "TF_CLI_CONFIG_FILE".into(),
                cli_config.display().to_string(),
            ),
            (
                "TF_DATA_DIR".into(),
                work.0.join("tf-data").display().to_string(),
            ),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ],
    };
    let vars = [
        "-var".to_string(),
        format!("endpoint={endpoint}"),
        "-var".to_string(),
        format!("artifacts_dir={}", artifacts.display()),
    ];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();

    tf.ok(&[
        "init",
        "-backend=false",
        &format!("-plugin-dir={PLUGIN_DIR}"),
        "-no-color",
    ]);
    let mut apply = vec!["apply", "-auto-approve", "-no-color"];
    apply.extend(&vars);
    tf.ok(&apply);

    let outputs: serde_json::Value =
        serde_json::from_str(&tf.ok(&["output", "-json", "-no-color"])).unwrap();
    let output = |name: &str| outputs[name]["value"].clone();
    let functions = output("function_names");
    let fname = |key: &str| functions[key].as_str().unwrap().to_string();

    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "rehearsal",
        ))
        .load()
        .await;

    // Queues: redrive after 3 receives to the DLQ, 14 days in the DLQ, SSE, visibility >= 6x30 s.
    let sqs = aws_sdk_sqs::Client::new(&config);
    let attributes = |url: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect::<BTreeMap<String, String>>()
        }
    };
    let alerts = attributes(output("alerts_queue_url").as_str().unwrap().to_string()).await;
    let dlq = attributes(
        output("dead_letter_queue_url")
            .as_str()
            .unwrap()
            .to_string(),
    )
    .await;
    let redrive: serde_json::Value = serde_json::from_str(
        alerts
            .get("RedrivePolicy")
            .expect("alerts queue RedrivePolicy"),
    )
    .unwrap();
    assert_eq!(redrive["maxReceiveCount"].as_u64(), Some(3), "{redrive}");
    assert_eq!(
        redrive["deadLetterTargetArn"].as_str(),
        dlq.get("QueueArn").map(String::as_str)
    );
    assert_eq!(dlq["MessageRetentionPeriod"], "1209600");
    assert!(alerts["VisibilityTimeout"].parse::<u32>().unwrap() >= 6 * 30);
    assert_eq!(alerts["SqsManagedSseEnabled"], "true");
    assert_eq!(dlq["SqsManagedSseEnabled"], "true");
    let queue_urls = sqs
        .list_queues()
        .queue_name_prefix("pulse-rehearsal")
        .send()
        .await
        .unwrap()
        .queue_urls
        .unwrap_or_default();
    assert_eq!(
        queue_urls.len(),
        3,
        "alerts, its DLQ, stream failures: {queue_urls:?}"
    );

    // Alarms and their thresholds.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let alarms: BTreeMap<String, aws_sdk_cloudwatch::types::MetricAlarm> = cloudwatch
        .describe_alarms()
        .alarm_name_prefix("pulse-rehearsal")
        .max_records(100)
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.alarm_name.clone().unwrap_or_default(), a))
        .collect();
    for key in ["detector", "alert_consumer", "dlq_redrive"] {
        for kind in ["errors", "throttles", "duration"] {
            let name = format!("{}-{kind}", fname(key));
            assert!(
                alarms.contains_key(&name),
                "missing alarm {name}: {:?}",
                alarms.keys()
            );
        }
    }
    let threshold = |name: &str| {
        alarms
            .get(name)
            .unwrap_or_else(|| panic!("missing alarm {name}"))
            .threshold
    };
    assert_eq!(
        threshold("pulse-rehearsal-detector-duration"),
        Some(44_000.0)
    ); // 80 % of 55 s
    assert_eq!(threshold("pulse-rehearsal-alerts-depth"), Some(500.0));
    assert_eq!(threshold("pulse-rehearsal-alerts-age"), Some(300.0));
    assert_eq!(threshold("pulse-rehearsal-alerts-dlq-not-empty"), Some(1.0));
    assert!(alarms.contains_key("pulse-rehearsal-detector-stream-failures-not-empty"));
    let lag = &alarms["pulse-rehearsal-detector-lag"];
    assert_eq!(lag.threshold, Some(1.0));
    assert_eq!(lag.treat_missing_data.as_deref(), Some("breaching"));
    assert_eq!(
        lag.comparison_operator,
        Some(aws_sdk_cloudwatch::types::ComparisonOperator::LessThanThreshold)
    );
    let periods: Vec<i32> = lag
        .metrics
        .iter()
        .flatten()
        .filter_map(|m| m.metric_stat.as_ref().and_then(|s| s.period))
        .collect();
    assert_eq!(periods, vec![300, 300], "lag looks at 5-minute windows");

    // The schedule rule and its target.
    let lambda = aws_sdk_lambda::Client::new(&config);
    let detector = lambda
        .get_function()
        .function_name(fname("detector"))
        .send()
        .await
        .unwrap()
        .configuration
        .unwrap();
    let events = aws_sdk_eventbridge::Client::new(&config);
    let rule = events
        .describe_rule()
        .name("pulse-rehearsal-detector-schedule")
        .send()
        .await
        .unwrap();
    assert_eq!(rule.schedule_expression.as_deref(), Some("rate(1 minute)"));
    let targets = events
        .list_targets_by_rule()
        .rule("pulse-rehearsal-detector-schedule")
        .send()
        .await
        .unwrap()
        .targets
        .unwrap_or_default();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        Some(targets[0].arn.as_str()),
        detector.function_arn.as_deref()
    );

    // The functions.
    assert_eq!(
        detector.runtime,
        Some(aws_sdk_lambda::types::Runtime::Providedal2023)
    );
    assert_eq!(detector.handler.as_deref(), Some("bootstrap"));
    assert_eq!(
        detector.architectures,
        Some(vec![aws_sdk_lambda::types::Architecture::Arm64])
    );
    let names: BTreeSet<String> = detector
        .environment
        .and_then(|e| e.variables)
        .unwrap_or_default()
        .into_keys()
        .collect();
    let known: BTreeSet<String> = DETECTOR.iter().map(|v| v.name.to_string()).collect();
    assert!(names.is_subset(&known), "{names:?}");
    let concurrency = lambda
        .get_function_concurrency()
        .function_name(fname("detector"))
        .send()
        .await
        .unwrap();
    assert_eq!(concurrency.reserved_concurrent_executions, Some(1));

    // The SQS mapping of the alert consumer.
    // (moto ignores the FunctionName filter of ListEventSourceMappings: filter here.)
    let every_mapping = lambda
        .list_event_source_mappings()
        .send()
        .await
        .unwrap()
        .event_source_mappings
        .unwrap_or_default();
    let mappings_of = |function: String| {
        let suffix = format!(":function:{function}");
        every_mapping
            .iter()
            .filter(|m| {
                m.function_arn
                    .as_deref()
                    .is_some_and(|a| a.ends_with(&suffix))
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let mappings = mappings_of(fname("alert_consumer"));
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    let mapping = &mappings[0];
    assert_eq!(
        mapping.event_source_arn.as_deref(),
        alerts.get("QueueArn").map(String::as_str)
    );
    assert_eq!(mapping.batch_size, Some(7));
    assert_eq!(
        mapping.function_response_types,
        Some(vec![
            aws_sdk_lambda::types::FunctionResponseType::ReportBatchItemFailures
        ])
    );
    assert_eq!(
        mapping
            .scaling_config
            .as_ref()
            .and_then(|s| s.maximum_concurrency),
        Some(3)
    );

    // The detector's stream mappings: one per dev table, bisecting, with a failure queue.
    let streams = mappings_of(fname("detector"));
    assert_eq!(streams.len(), 2, "{streams:?}");
    for stream in &streams {
        assert_eq!(stream.bisect_batch_on_function_error, Some(true));
        let destination = stream
            .destination_config
            .as_ref()
            .and_then(|d| d.on_failure.as_ref())
            .and_then(|f| f.destination.as_deref())
            .unwrap_or_default();
        assert!(
            destination.ends_with(":pulse-rehearsal-detector-stream-failures"),
            "{destination}"
        );
    }

    // And it all goes away again.
    let mut destroy = vec!["destroy", "-auto-approve", "-no-color"];
    destroy.extend(&vars);
    tf.ok(&destroy);
    let left = sqs
        .list_queues()
        .queue_name_prefix("pulse-rehearsal")
        .send()
        .await
        .unwrap()
        .queue_urls
        .unwrap_or_default();
    assert!(left.is_empty(), "destroy left queues behind: {left:?}");
}
