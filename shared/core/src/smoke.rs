//! The smoke test every function answers after a deploy: the payload `{"smoke": true}` makes
//! the function check each real dependency it needs (Redis, DynamoDB, SQS, SSM, its files)
//! with its own role, instead of doing its job. Each function runs its checks; this module
//! holds what they share: recognising the payload and the report, which is an error naming
//! every dependency that failed (unreachable, unauthorized, missing), so `scripts/smoke.sh`
//! and the deploy workflow fail with the reason.

use crate::ports::PortError;
use serde::Serialize;
use serde_json::Value;

/// Whether a payload asks for the smoke test.
pub fn requested(payload: &Value) -> bool {
    payload.get("smoke").and_then(Value::as_bool) == Some(true)
}

/// The payload that asks for the smoke test.
pub fn payload() -> Value {
    serde_json::json!({ "smoke": true })
}

/// One dependency checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `redis` or `dynamodb table pulse-dev-coins`.
    pub name: String,
    /// `ok`, or why it failed (the adapter's error).
    pub result: String,
    pub ok: bool,
}

/// Every check of one smoke test, in the order run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub function: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(function: &str) -> Self {
        Report {
            function: function.to_string(),
            checks: Vec::new(),
        }
    }

    /// Records the outcome of one check.
    pub fn record<T>(&mut self, name: impl Into<String>, outcome: &Result<T, PortError>) {
        let (ok, result) = match outcome {
            Ok(_) => (true, "ok".to_string()),
            Err(e) => (false, with_causes(e)),
        };
        self.checks.push(Check {
            name: name.into(),
            result,
            ok,
        });
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }

    /// The report as the invocation's answer when every check passed, else an error naming
    /// each failed dependency (not retryable: a deploy is wrong until fixed).
    pub fn into_result(self) -> Result<Value, PortError> {
        if self.checks.is_empty() {
            return Err(PortError::permanent(format!(
                "smoke test of {} checked nothing",
                self.function
            )));
        }
        let failed: Vec<String> = self
            .failures()
            .map(|c| format!("{}: {}", c.name, c.result))
            .collect();
        if failed.is_empty() {
            serde_json::to_value(&self)
                .map_err(|e| PortError::permanent("serialise smoke report").with_source(e))
        } else {
            Err(PortError::permanent(format!(
                "smoke test of {} failed: {}",
                self.function,
                failed.join("; ")
            )))
        }
    }
}

/// An error and its chain of causes on one line (the SDK's "service error" says little
/// without the code and message underneath).
fn with_causes(error: &PortError) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        let line = c.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn payload_is_recognised() {
        assert!(requested(&payload()));
        assert!(!requested(&serde_json::json!({"smoke": "yes"})));
        assert!(!requested(&serde_json::json!({"Records": []})));
    }

    #[test]
    fn failures_are_named_and_success_is_the_report() {
        let mut report = Report::new("detector");
        report.record("redis", &Ok::<(), PortError>(()));
        assert_eq!(
            report.clone().into_result().unwrap()["checks"][0]["ok"],
            true
        );
        report.record("ssm", &Err::<(), _>(PortError::permanent("AccessDenied")));
        let err = report.into_result().unwrap_err().to_string();
        assert!(
            err.contains("ssm: AccessDenied") && !err.contains("redis"),
            "{err}"
        );
        assert!(
            Report::new("x").into_result().is_err(),
            "no check is a failure"
        );
    }
}
