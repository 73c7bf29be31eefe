//! The apply rehearsal: `terraform apply` of `terraform/envs/dev` itself (with its
//! `terraform.tfvars.example`) against `moto_server`, with an emulator-only override file
//! written into a temporary copy (local backend, emulator endpoints, a local Redis instead of
//! ElastiCache, no redrive-allow policy: moto drops it). Then:
//! - the resources, read back through the AWS SDK (queues, alarms, schedule, mappings on the
//!   alias, functions, VPC placement);
//! - IAM: each function's policy as Terraform rendered it (`terraform show -json`) against
//!   the inventory of SDK operations ([`crate::iam`]), both ways;
//! - each function's smoke mode and a real workload (a detector tick that sends alerts, a
//!   redrive), run in-process with the settings Terraform gave the function and credentials of
//!   the function's own role (STS AssumeRole), with moto enforcing IAM, through a recording
//!   proxy whose every call is evaluated against the rendered policy;
//! - `terraform destroy`.
//!
//! Skipped with a message when terraform or /opt/tf-plugins is missing; opt out with
//! `PULSE_SKIP_TF_REHEARSAL=1`.

use crate::emulator::*;
use crate::hcl::terraform_dir;
use crate::iam::{self, OPERATIONS, Request, Target, USED_BY_LAMBDA};
use aws_sdk_dynamodb::types::AttributeValue;
use pulse_core::env::DETECTOR;
use pulse_tests::aws::{sdk_config, sdk_config_as};
use pulse_tests::proxy::{Proxy, Recorded, Recorder};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const REDIS_TOKEN: &str = "rehearsal-redis-auth-token-0123456789";
/// The identity the rehearsal's email receiver sends from.
const SES_IDENTITY: &str = "arn:aws:ses:{region}:{account}:identity/alerts.example.org";

fn ses_identity() -> String {
    SES_IDENTITY
        .replace("{region}", REGION)
        .replace("{account}", ACCOUNT)
}

fn override_file(endpoint: &str, redis_url: &str) -> String {
    let services = [
        "cloudwatch",
        "cloudwatchlogs",
        "dynamodb",
        "ec2",
        "elasticache",
        "eventbridge",
        "iam",
        "kms",
        "lambda",
        "sns",
        "sqs",
        "ssm",
        "sts",
    ];
    let endpoints: String = services
        .iter()
        .map(|s| format!("    {s} = \"{endpoint}\"\n"))
        .collect();
    let ses_identity = ses_identity();
    format!(
        r#"# Emulator only: written by tests/tests/terraform/rehearsal.rs into a temporary copy.
terraform {{
  backend "local" {{}}
}}

provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {{
{endpoints}  }}
}}

module "pulse" {{
  # A local Redis instead of ElastiCache (moto's has no server behind it).
  redis_url = "{redis_url}"
  # moto drops RedriveAllowPolicy and the provider would wait for it forever.
  create_dlq_redrive_allow_policy = false
  # Passed through: checked below.
  alert_consumer_batch_size          = 7
  alert_consumer_maximum_concurrency = 3
  queue_depth_threshold              = 500
  # An email receiver's sending identity: the consumer's role may send from it only.
  ses_identity_arns = ["{ses_identity}"]
}}
"#
    )
}

/// Rendered IAM policy of each function's role, from `terraform show -json`.
fn rendered_policies(state: &Value) -> BTreeMap<String, Value> {
    fn walk(module: &Value, out: &mut BTreeMap<String, Value>) {
        for r in module["resources"].as_array().into_iter().flatten() {
            let address = r["address"].as_str().unwrap_or_default();
            if r["type"] == "aws_iam_role_policy" {
                for (key, _) in iam::FUNCTIONS {
                    if address.contains(&format!("module.function[\"{key}\"]")) {
                        let policy: Value =
                            serde_json::from_str(r["values"]["policy"].as_str().unwrap()).unwrap();
                        out.insert(key.to_string(), policy);
                    }
                }
            }
        }
        for child in module["child_modules"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(&state["values"]["root_module"], &mut out);
    out
}

/// The ARNs the functions call their operations on.
struct Targets {
    alerts_queue: String,
    dead_letter_queue: String,
    tables: Vec<String>,
    redis_auth: String,
    secret: String,
    ses_identity: String,
}

impl Targets {
    fn requests(&self, sdk: &str, op: &str, target: Target) -> Vec<Request> {
        let action = iam::iam_action(sdk, &iam::pascal(op));
        let mut context = BTreeMap::new();
        let resources: Vec<String> = match target {
            Target::AlertsQueue => vec![self.alerts_queue.clone()],
            Target::DeadLetterQueue => vec![self.dead_letter_queue.clone()],
            Target::Tables => self.tables.clone(),
            Target::RedisAuthParameter => vec![self.redis_auth.clone()],
            Target::SecretParameter => vec![self.secret.clone()],
            Target::SesIdentity => vec![self.ses_identity.clone()],
            Target::MetricsNamespace => {
                context.insert("cloudwatch:namespace".into(), "Pulse".into());
                vec!["*".into()]
            }
        };
        resources
            .into_iter()
            .map(|resource| Request {
                action: action.clone(),
                resource,
                context: context.clone(),
            })
            .collect()
    }
}

fn queue_arn(url: &str) -> String {
    format!(
        "arn:aws:sqs:{REGION}:{ACCOUNT}:{}",
        url.rsplit('/').next().unwrap()
    )
}

fn parameter_arn(name: &str) -> String {
    format!(
        "arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{}",
        name.trim_start_matches('/')
    )
}

/// One recorded call as (sdk, operation, the authorization requests it makes).
fn recorded_requests(call: &Recorded) -> (String, String, Vec<Request>) {
    let head = call.head.to_ascii_lowercase();
    let scope = call
        .head
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or_default()
        .to_string();
    let service = scope.split('/').nth(3).unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&call.body).into_owned();
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let operation = head
        .lines()
        .find_map(|l| l.strip_prefix("x-amz-target:"))
        .and_then(|t| {
            call.head
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("x-amz-target:"))
                .and_then(|l| l.rsplit('.').next())
                .map(|s| s.trim().to_string())
                .filter(|_| !t.is_empty())
        })
        .or_else(|| {
            body.split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .map(str::to_string)
        })
        .unwrap_or_default();
    let sdk = if service == "monitoring" {
        "cloudwatch".to_string()
    } else {
        service.clone()
    };
    let action = iam::iam_action(&service, &operation);
    let mut context = BTreeMap::new();
    let resources: Vec<String> = match sdk.as_str() {
        "sqs" => {
            vec![queue_arn(json["QueueUrl"].as_str().unwrap_or_else(|| {
                json["SourceArn"].as_str().unwrap_or_default()
            }))]
        }
        "ssm" => json["Names"]
            .as_array()
            .map(|n| {
                n.iter()
                    .filter_map(Value::as_str)
                    .map(parameter_arn)
                    .collect()
            })
            .unwrap_or_else(|| vec![parameter_arn(json["Name"].as_str().unwrap_or_default())]),
        "dynamodb" => {
            let table = format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}",
                json["TableName"].as_str().unwrap_or_default()
            );
            match json["IndexName"].as_str() {
                Some(index) => vec![format!("{table}/index/{index}")],
                None => vec![table],
            }
        }
        "cloudwatch" => {
            if let Some(ns) = body.split('&').find_map(|kv| kv.strip_prefix("Namespace=")) {
                context.insert("cloudwatch:namespace".to_string(), ns.to_string());
            }
            vec!["*".into()]
        }
        _ => vec!["*".into()],
    };
    let requests = resources
        .into_iter()
        .map(|resource| Request {
            action: action.clone(),
            resource,
            context: context.clone(),
        })
        .collect();
    (sdk, snake(&operation), requests)
}

fn snake(pascal: &str) -> String {
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn env_of(config: &aws_sdk_lambda::types::FunctionConfiguration) -> HashMap<String, String> {
    config
        .environment
        .as_ref()
        .and_then(|e| e.variables.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_dev_against_moto_then_smoke_and_iam() {
    if let Some(reason) = skip_reason() {
        println!("SKIP apply rehearsal: {reason}");
        return;
    }
    let moto = pulse_tests::MotoServer::start();
    let endpoint = moto.endpoint();
    let redis = pulse_tests::RedisServer::start();
    assert_eq!(
        redis.command(&format!("CONFIG SET requirepass {REDIS_TOKEN}")),
        "+OK"
    );
    let redis_url = format!("redis://127.0.0.1:{}", redis.port);
    let admin = sdk_config(&endpoint);

    // What Terraform reads but does not own: the Redis AUTH token and the receivers'
    // secrets (README: Before the first apply), created as an operator would.
    let ssm = aws_sdk_ssm::Client::new(&admin);
    let routes_text =
        std::fs::read_to_string(terraform_dir().join("envs/dev/routes.toml")).unwrap();
    let routes = alert_consumer::config::RoutesFile::parse(&routes_text).unwrap();
    let mut parameters = vec![("/pulse/dev/redis-auth".to_string(), REDIS_TOKEN.to_string())];
    for receiver in routes.receivers.values() {
        for r in receiver.secret_refs() {
            if let alert_consumer::secrets::SecretRef::Ssm(name) = r {
                let full = alert_consumer::secrets::full_name(name, Some("/pulse/dev/receivers"));
                parameters.push((full, "https://receiver.invalid/hook".into()));
            }
        }
    }
    for (name, value) in &parameters {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }

    // envs/dev, unchanged, in a temporary copy with the emulator override beside it.
    let work = TempDir::new("pulse-tf-rehearsal");
    copy_tree(&terraform_dir(), &work.0.join("terraform"));
    let root = work.0.join("terraform/envs/dev");
    std::fs::write(
        root.join("emulator_override.tf"),
        override_file(&endpoint, &redis_url),
    )
    .unwrap();
    let artifacts = artifacts(&work.0, &terraform_dir());
    let cli_config = work.0.join("empty.tfrc");
    std::fs::write(&cli_config, "").unwrap();
    let tf = Terraform {
        root: root.clone(),
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
            ("AWS_REGION".into(), REGION.into()),
        ],
    };
    let vars = [
        "-var-file=terraform.tfvars.example".to_string(),
        "-var".to_string(),
        format!("artifacts_dir={}", artifacts.display()),
    ];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
    tf.ok(&[
        "init",
        "-lockfile=readonly",
        &format!("-plugin-dir={PLUGIN_DIR}"),
        "-no-color",
    ]);
    let mut apply = vec!["apply", "-auto-approve", "-no-color"];
    apply.extend(&vars);
    tf.ok(&apply);

    let outputs: Value = serde_json::from_str(&tf.ok(&["output", "-json", "-no-color"])).unwrap();
    let output = |name: &str| outputs[name]["value"].clone();
    let functions = output("function_names");
    let fname = |key: &str| functions[key].as_str().unwrap().to_string();
    let alerts_url = output("alerts_queue_url").as_str().unwrap().to_string();
    let dlq_url = output("dead_letter_queue_url")
        .as_str()
        .unwrap()
        .to_string();
    let state: Value = serde_json::from_str(&tf.ok(&["show", "-json", "-no-color"])).unwrap();
    let policies = rendered_policies(&state);
    assert_eq!(
        policies.len(),
        3,
        "a policy per function: {:?}",
        policies.keys()
    );

    check_resources(&admin, &output, &fname, &alerts_url, &dlq_url).await;

    // --- IAM, statically: the inventory against the rendered policies, both ways ----------
    let targets = Targets {
        alerts_queue: queue_arn(&alerts_url),
        dead_letter_queue: queue_arn(&dlq_url),
        tables: vec![
            format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/pulse-dev-events"),
            format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/pulse-dev-coins"),
        ],
        redis_auth: parameter_arn("/pulse/dev/redis-auth"),
        secret: parameter_arn("/pulse/dev/receivers/webhook-url"),
        ses_identity: ses_identity(),
    };
    let mut denied = Vec::new();
    for (function, sdk, op, on) in OPERATIONS {
        let policy = &policies[*function];
        if on.is_empty() {
            // Compiled in, never called by the function: its role must not allow it.
            let action = iam::iam_action(sdk, &iam::pascal(op));
            assert!(
                !iam::granted_actions(policy).contains(&action),
                "{function} is granted {action}, which it never calls"
            );
        }
        for target in on.iter() {
            for request in targets.requests(sdk, op, *target) {
                if let Err(why) = iam::evaluate(policy, &request) {
                    denied.push(format!("{function} {sdk}::{op}: {why}"));
                }
            }
        }
    }
    assert!(
        denied.is_empty(),
        "the code calls operations its role does not allow (terraform/modules/pulse/iam.tf):\n{}",
        denied.join("\n")
    );
    for (function, _) in iam::FUNCTIONS {
        let used: BTreeSet<String> = OPERATIONS
            .iter()
            .filter(|(f, _, _, on)| *f == function && !on.is_empty())
            .map(|(_, sdk, op, _)| iam::iam_action(sdk, &iam::pascal(op)))
            .chain(USED_BY_LAMBDA.iter().map(|(a, _)| a.to_string()))
            .collect();
        let extra: Vec<String> = iam::granted_actions(&policies[function])
            .into_iter()
            .filter(|a| !used.contains(a))
            .collect();
        assert!(
            extra.is_empty(),
            "{function}'s role grants {extra:?}, which neither its code nor Lambda uses"
        );
    }

    // --- data for the workloads, written with the emulator's admin credentials -----------
    let now = detector::handler::system_now();
    let dynamo = aws_sdk_dynamodb::Client::new(&admin);
    for (k, price) in [(600, 1.0), (60, 0.9)] {
        let item = HashMap::from([
            (
                "PK".to_string(),
                AttributeValue::S("coingecko#usd-coin".into()),
            ),
            ("SK".to_string(), AttributeValue::N((now - k).to_string())),
            ("price".to_string(), AttributeValue::N(price.to_string())),
            ("symbol".to_string(), AttributeValue::S("USDC".into())),
            ("decimals".to_string(), AttributeValue::N("6".into())),
            (
                "timestamp".to_string(),
                AttributeValue::N((now - k).to_string()),
            ),
            ("confidence".to_string(), AttributeValue::N("0.99".into())),
        ]);
        dynamo
            .put_item()
            .table_name("pulse-dev-coins")
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let sqs = aws_sdk_sqs::Client::new(&admin);
    sqs.send_message()
        .queue_url(&dlq_url)
        .message_body(r#"{"not":"an alert"}"#)
        .send()
        .await
        .unwrap();

    // The functions' settings, as Terraform gave them.
    let lambda = aws_sdk_lambda::Client::new(&admin);
    let mut settings = BTreeMap::new();
    for (key, _) in iam::FUNCTIONS {
        let config = lambda
            .get_function()
            .function_name(fname(key))
            .send()
            .await
            .unwrap()
            .configuration
            .unwrap();
        settings.insert(key, env_of(&config));
    }
    // The consumer's routes file, where its zip puts it.
    let unpacked = work.0.join("alert-consumer");
    zip::ZipArchive::new(
        std::fs::File::open(artifacts.join("alert-consumer/bootstrap.zip")).unwrap(),
    )
    .unwrap()
    .extract(&unpacked)
    .unwrap();

    // moto would run the alert consumer (in Docker, which is not here) for each alert sent
    // to its queue: its mapping (checked above) is disabled.
    for mapping in lambda
        .list_event_source_mappings()
        .send()
        .await
        .unwrap()
        .event_source_mappings
        .unwrap_or_default()
    {
        if mapping.event_source_arn.as_deref() == Some(targets.alerts_queue.as_str()) {
            lambda
                .update_event_source_mapping()
                .uuid(mapping.uuid.unwrap_or_default())
                .enabled(false)
                .send()
                .await
                .unwrap();
        }
    }

    // --- IAM, dynamically: each function's role, moto enforcing, every call recorded -----
    let mut roles = BTreeMap::new();
    for (key, _) in iam::FUNCTIONS {
        let role = format!("{}-role", fname(key));
        let arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
        roles.insert(key, assume_role(moto.port, &arn));
        let projection = iam::moto_projection(&policies[key]);
        put_role_policy(
            moto.port,
            &role,
            &format!("{}-policy", fname(key)),
            &projection.to_string(),
        );
    }
    let proxy = Proxy::start(moto.port, Recorder::default());
    enforce_iam(moto.port, true);
    let mut failures = Vec::new();
    let mut recorded = BTreeMap::new();
    for (key, _) in iam::FUNCTIONS {
        let (id, secret, token) = &roles[key];
        let aws = sdk_config_as(&proxy.endpoint(), id, secret, Some(token));
        let env = &settings[key];
        let lookup = |name: &str| env.get(name).cloned();
        match key {
            "detector" => {
                let s = detector::settings::Settings::from_lookup(lookup).unwrap();
                if let Err(e) = detector::smoke::run(&s, &aws).await {
                    failures.push(format!("detector smoke: {e}"));
                }
            }
            "alert_consumer" => {
                let mut s = alert_consumer::config::Settings::from_lookup(lookup).unwrap();
                assert_eq!(s.routes_file, "routes/dev.toml");
                s.routes_file = unpacked.join(&s.routes_file).display().to_string();
                let ssm = pulse_adapters::ssm::SsmSecrets::new(&aws);
                if let Err(e) = alert_consumer::smoke::run(&s, &ssm).await {
                    failures.push(format!("alert consumer smoke: {e}"));
                }
            }
            _ => {
                let c = dlq_redrive::Config::from_lookup(lookup).unwrap();
                let queue = pulse_adapters::sqs::SqsQueue::from_config(&aws);
                if let Err(e) = dlq_redrive::smoke::run(&queue, &c).await {
                    failures.push(format!("dlq-redrive smoke: {e}"));
                }
            }
        }
        recorded.insert(key, proxy.intercept.take());
    }
    // The workloads: a tick that sends alerts, a redrive.
    for (key, _) in iam::FUNCTIONS {
        let (id, secret, token) = &roles[key];
        let aws = sdk_config_as(&proxy.endpoint(), id, secret, Some(token));
        let env = &settings[key];
        let lookup = |name: &str| env.get(name).cloned();
        match key {
            "detector" => {
                let s = detector::settings::Settings::from_lookup(lookup).unwrap();
                match detector::handler::build(&s, &aws).await {
                    Ok(d) => match d.tick().await {
                        Ok(summary) => assert!(summary.alerts_sent >= 1, "{summary:?}"),
                        Err(e) => failures.push(format!("detector tick: {e}")),
                    },
                    Err(e) => failures.push(format!("detector start-up: {e}")),
                }
            }
            "dlq_redrive" => {
                let c = dlq_redrive::Config::from_lookup(lookup).unwrap();
                let queue = pulse_adapters::sqs::SqsQueue::from_config(&aws);
                let redrive: dlq_redrive::Request =
                    serde_json::from_value(json!({"action": "redrive", "reason": "rehearsal"}))
                        .unwrap();
                match dlq_redrive::handle(&queue, &c, &redrive, dlq_redrive::Budget::unlimited())
                    .await
                {
                    Ok(_) => {}
                    Err(e) => failures.push(format!("dlq-redrive redrive: {e}")),
                }
            }
            _ => {}
        }
        recorded
            .get_mut(key)
            .unwrap()
            .extend(proxy.intercept.take());
    }
    enforce_iam(moto.port, false);
    let refused: Vec<String> = recorded
        .iter()
        .flat_map(|(key, calls)| calls.iter().map(move |c| (key, c)))
        .filter(|(_, c)| c.status != 200)
        .map(|(key, c)| format!("{key}: {}", c.answer.replace("\r\n", " ")))
        .collect();
    assert!(
        failures.is_empty(),
        "with their own roles and moto enforcing IAM, the functions failed:\n{}\nrefused calls:\n{}",
        failures.join("\n"),
        refused.join("\n")
    );
    let mut denied = Vec::new();
    for (key, calls) in &recorded {
        assert!(
            !calls.is_empty(),
            "{key} made no AWS call through the proxy"
        );
        for call in calls {
            let (sdk, op, requests) = recorded_requests(call);
            assert!(
                call.status == 200,
                "{key} {sdk}::{op} answered {}",
                call.status
            );
            assert!(
                OPERATIONS
                    .iter()
                    .any(|(f, s, o, _)| f == key && *s == sdk && *o == op),
                "{key} called {sdk}::{op}, which the inventory does not list"
            );
            for request in requests {
                if let Err(why) = iam::evaluate(&policies[*key], &request) {
                    denied.push(format!("{key} {sdk}::{op}: {why}"));
                }
            }
        }
    }
    assert!(
        denied.is_empty(),
        "recorded calls the rendered policies do not allow:\n{}",
        denied.join("\n")
    );
    let ops_of = |key: &str| -> BTreeSet<String> {
        recorded[key]
            .iter()
            .map(|c| recorded_requests(c).1)
            .collect()
    };
    for (key, op) in [
        ("detector", "send_message_batch"),
        ("detector", "scan"),
        ("detector", "get_parameters"),
        ("alert_consumer", "get_parameters"),
        ("dlq_redrive", "receive_message"),
        ("dlq_redrive", "get_queue_attributes"),
    ] {
        assert!(
            ops_of(key).contains(op),
            "{key} never called {op}: {:?}",
            ops_of(key)
        );
    }

    // --- and it all goes away again ------------------------------------------------------
    let mut destroy = vec!["destroy", "-auto-approve", "-no-color"];
    destroy.extend(&vars);
    tf.ok(&destroy);
    let left = sqs
        .list_queues()
        .queue_name_prefix("pulse-dev")
        .send()
        .await
        .unwrap()
        .queue_urls
        .unwrap_or_default();
    assert!(left.is_empty(), "destroy left queues behind: {left:?}");
}

/// The applied resources, read back through the SDK.
async fn check_resources(
    admin: &aws_config::SdkConfig,
    output: &impl Fn(&str) -> Value,
    fname: &impl Fn(&str) -> String,
    alerts_url: &str,
    dlq_url: &str,
) {
    // Queues: redrive after 3 receives to the DLQ, 14 days in the DLQ, SSE, visibility >= 6x30 s.
    let sqs = aws_sdk_sqs::Client::new(admin);
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
    let alerts = attributes(alerts_url.to_string()).await;
    let dlq = attributes(dlq_url.to_string()).await;
    let redrive: Value = serde_json::from_str(
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
        .queue_name_prefix("pulse-dev")
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
    let cloudwatch = aws_sdk_cloudwatch::Client::new(admin);
    let alarms: BTreeMap<String, aws_sdk_cloudwatch::types::MetricAlarm> = cloudwatch
        .describe_alarms()
        .alarm_name_prefix("pulse-dev")
        .max_records(100)
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.alarm_name.clone().unwrap_or_default(), a))
        .collect();
    let names: BTreeSet<String> = output("alarm_names")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        names.iter().all(|n| alarms.contains_key(n)),
        "{names:?} vs {:?}",
        alarms.keys()
    );
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
            .unwrap_or_else(|| panic!("missing alarm {name}: {:?}", alarms.keys()))
            .threshold
    };
    assert_eq!(threshold("pulse-dev-detector-duration"), Some(44_000.0)); // 80 % of 55 s
    assert_eq!(threshold("pulse-dev-alerts-depth"), Some(500.0));
    assert_eq!(threshold("pulse-dev-alerts-age"), Some(300.0));
    assert_eq!(threshold("pulse-dev-alerts-dlq-not-empty"), Some(1.0));
    assert!(alarms.contains_key("pulse-dev-detector-stream-failures-not-empty"));
    for (name, metric) in [
        ("pulse-dev-alert-consumer-deliveries-failed", "Failed"),
        (
            "pulse-dev-alert-consumer-deliveries-failed-permanent",
            "FailedPermanent",
        ),
    ] {
        let query = alarms[name]
            .metrics
            .iter()
            .flatten()
            .find_map(|m| m.expression.clone())
            .unwrap_or_default();
        assert!(
            query.contains(&format!("SUM({metric})"))
                && query.contains("Function = 'alert-consumer'"),
            "{name}: {query}"
        );
    }
    let lag = &alarms["pulse-dev-detector-lag"];
    assert_eq!(lag.threshold, Some(1.0));
    assert_eq!(lag.treat_missing_data.as_deref(), Some("breaching"));
    let periods: Vec<i32> = lag
        .metrics
        .iter()
        .flatten()
        .filter_map(|m| m.metric_stat.as_ref().and_then(|s| s.period))
        .collect();
    assert_eq!(periods, vec![300, 300], "lag looks at 5-minute windows");

    // The schedule invokes the detector's alias.
    let lambda = aws_sdk_lambda::Client::new(admin);
    let detector = lambda
        .get_function()
        .function_name(fname("detector"))
        .send()
        .await
        .unwrap()
        .configuration
        .unwrap();
    let alias = lambda
        .get_alias()
        .function_name(fname("detector"))
        .name("live")
        .send()
        .await
        .unwrap();
    let alias_arn = alias.alias_arn.clone().unwrap_or_default();
    assert_eq!(
        alias.function_version.as_deref(),
        output("function_versions")["detector"].as_str()
    );
    let events = aws_sdk_eventbridge::Client::new(admin);
    let rule = events
        .describe_rule()
        .name("pulse-dev-detector-schedule")
        .send()
        .await
        .unwrap();
    assert_eq!(rule.schedule_expression.as_deref(), Some("rate(1 minute)"));
    let targets = events
        .list_targets_by_rule()
        .rule("pulse-dev-detector-schedule")
        .send()
        .await
        .unwrap()
        .targets
        .unwrap_or_default();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        targets[0].arn.as_str(),
        alias_arn,
        "the schedule invokes the alias"
    );

    // The functions: runtime, architecture, environment names, VPC placement.
    assert_eq!(
        detector.runtime,
        Some(aws_sdk_lambda::types::Runtime::Providedal2023)
    );
    assert_eq!(detector.handler.as_deref(), Some("bootstrap"));
    assert_eq!(
        detector.architectures,
        Some(vec![aws_sdk_lambda::types::Architecture::Arm64])
    );
    let names: BTreeSet<String> = env_of(&detector).into_keys().collect();
    let known: BTreeSet<String> = DETECTOR.iter().map(|v| v.name.to_string()).collect();
    assert!(names.is_subset(&known), "{names:?}");
    for (key, in_vpc) in [
        ("detector", true),
        ("alert_consumer", true),
        ("dlq_redrive", false),
    ] {
        let config = lambda
            .get_function_configuration()
            .function_name(fname(key))
            .send()
            .await
            .unwrap();
        let subnets = config
            .vpc_config
            .and_then(|v| v.subnet_ids)
            .unwrap_or_default();
        assert_eq!(!subnets.is_empty(), in_vpc, "{key} in the VPC: {subnets:?}");
    }
    let concurrency = lambda
        .get_function_concurrency()
        .function_name(fname("detector"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        concurrency.reserved_concurrent_executions, None,
        "the detector is unreserved (the stream path shares no cap with the schedule)"
    );

    // The mappings invoke the aliases. (moto ignores the FunctionName filter: filter here.)
    let every_mapping = lambda
        .list_event_source_mappings()
        .send()
        .await
        .unwrap()
        .event_source_mappings
        .unwrap_or_default();
    let mappings_of = |function: String| {
        every_mapping
            .iter()
            .filter(|m| {
                m.function_arn
                    .as_deref()
                    .is_some_and(|a| a.contains(&format!(":function:{function}")))
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let mappings = mappings_of(fname("alert_consumer"));
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    let mapping = &mappings[0];
    // The alias (moto reports the version the alias points at, AWS the alias ARN), never
    // the unqualified function ($LATEST).
    let consumer_version = output("function_versions")["alert_consumer"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        mapping.function_arn.as_deref().is_some_and(|a| {
            a.ends_with(":live") || a.ends_with(&format!(":{consumer_version}"))
        }),
        "the SQS mapping invokes the alias: {:?}",
        mapping.function_arn
    );
    assert_eq!(
        mapping.event_source_arn.as_deref(),
        Some(queue_arn(alerts_url).as_str())
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
    let streams = mappings_of(fname("detector"));
    assert_eq!(streams.len(), 2, "{streams:?}");
    let detector_version = output("function_versions")["detector"]
        .as_str()
        .unwrap()
        .to_string();
    for stream in &streams {
        assert!(
            stream.function_arn.as_deref().is_some_and(|a| {
                a.ends_with(":live") || a.ends_with(&format!(":{detector_version}"))
            }),
            "the stream mapping invokes the alias: {:?}",
            stream.function_arn
        );
        assert_eq!(stream.bisect_batch_on_function_error, Some(true));
        let destination = stream
            .destination_config
            .as_ref()
            .and_then(|d| d.on_failure.as_ref())
            .and_then(|f| f.destination.as_deref())
            .unwrap_or_default();
        assert!(
            destination.ends_with(":pulse-dev-detector-stream-failures"),
            "{destination}"
        );
    }
}
