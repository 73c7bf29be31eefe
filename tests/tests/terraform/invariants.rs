//! Static invariants read from the HCL: every queue has a dead-letter queue or is one,
//! every function has a log group with retention, an alias and its alarms, no IAM statement
//! allows every action, the mappings report batch item failures, the environment variable
//! names Terraform sets are those of `pulse_core::env`, the environments are literal calls of one
//! module with committed lock files and validated inputs, and every variable is documented.

use crate::hcl::*;
use hcl::{Body, Expression, ObjectKey};
use pulse_core::env::{ALERT_CONSUMER, DETECTOR, DLQ_REDRIVE, EnvVar};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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
    for env_name in ENVIRONMENTS {
        let module = env(env_name);
        let pulse_call = module.module_call("pulse");
        assert!(
            attr(pulse_call, "create_dlq_redrive_allow_policy").is_none(),
            "{env_name} must keep the DLQ's redrive-allow policy"
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
        function_field(&pulse, "alert_consumer", "timeout"),
        "the queue must be sized on the alert consumer's own timeout"
    );
}

/// The functions of `local.functions` in `modules/pulse`: key → its object literal.
fn functions(pulse: &Module) -> BTreeMap<String, &hcl::Object<ObjectKey, Expression>> {
    let Expression::Object(all) = pulse.local("functions") else {
        panic!("local.functions must be an object literal");
    };
    all.iter()
        .map(|(k, v)| {
            let Expression::Object(f) = v else {
                panic!(
                    "local.functions.{} must be an object literal",
                    object_key(k)
                )
            };
            (object_key(k), f)
        })
        .collect()
}

/// One field of one function in `local.functions`, as HCL text.
fn function_field(pulse: &Module, function: &str, field: &str) -> String {
    let all = functions(pulse);
    let f = all
        .get(function)
        .unwrap_or_else(|| panic!("local.functions has no {function}"));
    f.iter()
        .find(|(k, _)| object_key(k) == field)
        .map(|(_, v)| text(v))
        .unwrap_or_else(|| panic!("local.functions.{function} has no {field}"))
}

#[test]
fn every_function_has_a_log_group_with_retention_an_alias_and_alarms() {
    let function = Module::named("function");
    let lambda = function.resource("aws_lambda_function", "this");
    assert_eq!(attr_text(lambda, "runtime"), "\"provided.al2023\"");
    assert_eq!(attr_text(lambda, "handler"), "\"bootstrap\"");
    assert_eq!(attr_text(lambda, "architectures"), "var.architectures");
    assert_eq!(
        attr(lambda, "publish"),
        Some(&Expression::Bool(true)),
        "every apply publishes a version (the alias points at it; rollback moves it back)"
    );
    let alias = function.resource("aws_lambda_alias", "live");
    assert_eq!(attr_text(alias, "name"), "\"live\"");
    assert_eq!(
        attr_text(alias, "function_version"),
        "aws_lambda_function.this.version"
    );
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

    let pulse = Module::named("pulse");
    let names: BTreeSet<String> = functions(&pulse).into_keys().collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "alert_consumer".into(),
            "detector".into(),
            "dlq_redrive".into()
        ])
    );
    let call = pulse.module_call("function");
    assert_eq!(attr_text(call, "source"), "\"../function\"");
    assert_eq!(
        attr_text(call, "for_each"),
        "local.functions",
        "one module, for_each"
    );
    assert!(
        attr_text(call, "zip_path").contains("var.artifacts_dir"),
        "the zips come from artifacts_dir"
    );
    assert!(
        attr(call, "log_retention_days").is_some(),
        "no log retention"
    );
    assert_eq!(
        function_field(&pulse, "detector", "reserved_concurrent_executions"),
        "-1",
        "unreserved: the stream path must not share a cap with the schedule (the lease keeps ticks apart)"
    );
    // Only the functions that need Redis run in the VPC; dlq-redrive only calls SQS.
    assert_eq!(function_field(&pulse, "detector", "in_vpc"), "true");
    assert_eq!(function_field(&pulse, "alert_consumer", "in_vpc"), "true");
    assert_eq!(function_field(&pulse, "dlq_redrive", "in_vpc"), "false");

    // Triggers invoke the alias, so a rollback of the alias rolls back what runs.
    let target = pulse.resource("aws_cloudwatch_event_target", "detector_schedule");
    assert_eq!(
        attr_text(target, "arn"),
        "module.function[\"detector\"].alias_arn"
    );
    let permission = pulse.resource("aws_lambda_permission", "detector_schedule");
    assert_eq!(
        attr_text(permission, "qualifier"),
        "module.function[\"detector\"].alias_name"
    );

    // Every function is watched, and the alarms module alarms on each function it is given.
    let alarms_call = pulse.module_call("alarms");
    let watched = attr_text(alarms_call, "functions");
    assert!(
        watched.contains("module.function") && watched.contains("f.function_name"),
        "module.alarms must watch every function of module.function: {watched}"
    );
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

/// Actions of every Allow statement (a Deny may be broad: `s3:*` without TLS).
fn collect_body_actions(body: &Body, out: &mut Vec<String>) {
    for a in body.attributes() {
        collect_actions(a.expr(), is_action_key(a.key()), out);
    }
    for b in body.blocks() {
        if b.identifier() == "statement" && attr_text(b, "effect") == "\"Deny\"" {
            continue;
        }
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
        "module.function[\"alert_consumer\"].alias_arn",
        "the SQS mapping invokes the alias"
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
    assert_eq!(
        attr_text(stream, "function_name"),
        "module.function[\"detector\"].alias_arn",
        "the stream mappings invoke the alias"
    );
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
            function_field(&pulse, function, "environment"),
            format!("local.{local}"),
            "{function} does not get its environment from local.{local}"
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
fn environments_are_literal_calls_of_one_module_with_a_locked_provider() {
    let common = terraform_dir().join("envs/common.tf");
    for env_name in ENVIRONMENTS {
        let dir = terraform_dir().join("envs").join(env_name);
        let module = env(env_name);
        let terraform = module
            .blocks()
            .find(|b| b.identifier() == "terraform")
            .expect("terraform block");
        let backend = child(terraform, "backend").expect("backend block");
        assert_eq!(label(backend, 0), "s3", "{env_name}");
        assert_eq!(
            attr(backend, "use_lockfile"),
            Some(&Expression::Bool(true)),
            "{env_name}: S3 native locking"
        );
        assert!(attr(backend, "dynamodb_table").is_none(), "{env_name}");
        assert_eq!(
            attr_text(backend, "key"),
            format!("\"pulse/{env_name}/terraform.tfstate\"")
        );
        let providers = child(terraform, "required_providers").expect("required_providers");
        assert!(
            attr_text(providers, "aws").contains("~> 5.100"),
            "{env_name}"
        );
        let lock = std::fs::read_to_string(dir.join(".terraform.lock.hcl"))
            .unwrap_or_else(|e| panic!("{env_name}: .terraform.lock.hcl is not committed: {e}"));
        assert!(lock.contains("registry.terraform.io/hashicorp/aws") && lock.contains("h1:"));

        // One literal call of modules/pulse; the shared inputs are one file, linked.
        assert_eq!(
            module.module_calls().len(),
            1,
            "{env_name}: one module call"
        );
        let call = module.module_call("pulse");
        assert_eq!(attr_text(call, "source"), "\"../../modules/pulse\"");
        assert_eq!(
            attr_text(call, "name_prefix"),
            format!("\"pulse-{env_name}\""),
            "{env_name}: literal name prefix"
        );
        assert_eq!(attr_text(call, "environment"), "local.environment");
        assert_eq!(text(module.local("environment")), format!("\"{env_name}\""));
        let link = std::fs::read_link(dir.join("common.tf"))
            .unwrap_or_else(|e| panic!("{env_name}/common.tf must link to ../common.tf: {e}"));
        assert_eq!(link, Path::new("../common.tf"), "{env_name}");
        assert!(common.is_file());
        assert!(
            !dir.join("variables.tf").exists(),
            "{env_name}: variables live in envs/common.tf, once"
        );

        // What only the operator knows is required (no default, validated) and named in
        // terraform.tfvars.example; what differs between environments is a literal.
        let example = std::fs::read_to_string(dir.join("terraform.tfvars.example"))
            .unwrap_or_else(|e| panic!("{env_name}: no terraform.tfvars.example: {e}"));
        for block in module.blocks().filter(|b| b.identifier() == "variable") {
            let name = label(block, 0);
            if attr(block, "default").is_some() {
                continue;
            }
            assert!(
                block
                    .body()
                    .blocks()
                    .any(|b| b.identifier() == "validation"),
                "required variable {name} has no validation block"
            );
            assert!(
                example.contains(&format!("\n{name} ")) || example.contains(&format!("\n{name}=")),
                "{env_name}/terraform.tfvars.example does not name {name}"
            );
        }

        // The routes the consumer reads in this environment ship in the zip; they parse,
        // and their SSM secrets live under the environment's receivers path.
        let routes = std::fs::read_to_string(dir.join("routes.toml"))
            .unwrap_or_else(|e| panic!("{env_name}: no routes.toml: {e}"));
        let parsed = alert_consumer::config::RoutesFile::parse(&routes)
            .unwrap_or_else(|e| panic!("{env_name}/routes.toml: {e}"));
        assert!(!parsed.receivers.is_empty());
        assert_eq!(
            attr_text(call, "secrets_parameter_path"),
            format!("\"/pulse/{env_name}/receivers\"")
        );
        assert_eq!(
            attr_text(call, "redis_auth_parameter_name"),
            format!("\"/pulse/{env_name}/redis-auth\"")
        );
        assert_eq!(
            attr_text(call, "permissions_boundary_name"),
            format!("\"pulse-{env_name}-boundary\"")
        );
    }
    let prod = env("prod");
    let prod_call = prod.module_call("pulse");
    assert_eq!(attr_text(prod_call, "nat_gateway_per_zone"), "true");
    assert!(attr_text(prod_call, "interface_endpoints").contains("\"sqs\""));
    let pulse = Module::named("pulse");
    let alarms_variable = pulse
        .files
        .iter()
        .map(|(_, t, _)| t.as_str())
        .collect::<String>();
    assert!(
        alarms_variable
            .contains("var.environment != \"prod\" || length(var.alarm_email_endpoints) > 0"),
        "prod must require alarm subscribers"
    );
}

#[test]
fn every_variable_is_typed_described_and_documented() {
    let readme = std::fs::read_to_string(terraform_dir().join("README.md")).unwrap();
    for dir in [
        terraform_dir().join("modules/pulse"),
        terraform_dir().join("envs/dev"),
        terraform_dir().join("bootstrap"),
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

/// `pulse dlq --env <env>` invokes `pulse_core::env::deployed_function(env, "dlq-redrive")`:
/// that must be the name and alias Terraform gives the function in that environment.
#[test]
fn pulse_dlq_env_names_the_function_terraform_deploys() {
    assert_eq!(pulse_core::env::ENVIRONMENTS, ENVIRONMENTS.as_slice());
    let pulse = Module::named("pulse");
    let functions = text(pulse.local("functions"));
    let (key, _) = functions
        .split_once("package = \"dlq-redrive\"")
        .expect("modules/pulse: a function packaged as dlq-redrive");
    assert!(key.trim_end().ends_with('{'), "{functions}");
    let call = pulse.module_call("function");
    let name = attr_text(call, "function_name");
    let alias = Module::named("function");
    let alias = attr_text(alias.resource("aws_lambda_alias", "live"), "name");
    for environment in ENVIRONMENTS {
        let root = env(environment);
        let prefix = attr(root.module_call("pulse"), "name_prefix")
            .and_then(|e| strings(e).pop())
            .unwrap_or_else(|| panic!("envs/{environment}: name_prefix is not a literal"));
        let deployed = format!(
            "{}:{}",
            name.trim_matches('"')
                .replace("${var.name_prefix}", &prefix)
                .replace("${each.value.package}", "dlq-redrive"),
            alias.trim_matches('"')
        );
        assert_eq!(
            pulse_core::env::deployed_function(environment, "dlq-redrive"),
            deployed,
            "envs/{environment}"
        );
    }
}
