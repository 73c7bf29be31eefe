//! The one place that decides whether an AWS SDK error is worth retrying, for every SDK
//! (the error types are smithy's, shared by all `aws_sdk_*` crates), and the SDK config of a
//! variable lookup.

pub use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use pulse_core::ports::PortError;

/// Error codes that a later call may not meet (throttles, internal errors), for every service
/// pulse calls. SQS names some in its own way.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "AWS.SimpleQueueService.RequestThrottled",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "KmsThrottled",
    "KMS.ThrottlingException",
];

/// The error code from the wire, else the modelled error's name (`RequestThrottled: ...`).
fn code_of<E: ProvideErrorMetadata + std::fmt::Display>(err: &E) -> Option<String> {
    err.code().map(str::to_string).or_else(|| {
        let text = err.to_string();
        let name = text.split(':').next().unwrap_or_default().trim();
        (!name.is_empty() && !name.contains(' ')).then(|| name.to_string())
    })
}

/// Whether an SDK error may go away on retry: timeouts, connection failures, unreadable
/// responses, 5xx, 429 and throttles are retryable; a request that could not be built,
/// validation errors, missing resources and access denials are not.
pub fn is_retryable<E>(err: &SdkError<E, Response>) -> bool
where
    E: ProvideErrorMetadata + std::fmt::Display,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            status >= 500
                || status == 429
                || code_of(service.err()).is_some_and(|c| RETRYABLE_CODES.contains(&c.as_str()))
        }
        _ => false,
    }
}

/// The innermost cause of an error, in one line (`connection refused`, not a chain of debug
/// dumps).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The port error for an SDK error: `{what}: {code}: {message}` for a service's answer,
/// `{what}: {cause}` for a failure to reach it; the SDK error is kept as its source.
pub fn sdk_error<E>(what: &str, err: SdkError<E, Response>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let text = match &err {
        SdkError::ServiceError(service) => {
            let code = code_of(service.err()).unwrap_or_else(|| "error".to_string());
            match service.err().message() {
                Some(m) => format!("{what}: {code}: {m}"),
                None => format!("{what}: {code}"),
            }
        }
        other => format!("{what}: {}", root_cause(other)),
    };
    let error = if is_retryable(&err) {
        PortError::retryable(text)
    } else {
        PortError::permanent(text)
    };
    error.with_source(err)
}

/// The SDK config of a Lambda function: region, credentials and `AWS_ENDPOINT_URL` (an
/// emulator, locally) from the environment.
pub async fn config_from_env() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// An SDK config from a variable lookup (process environment merged with a file, as
/// `pulse local` does with `.local-stack/env`): `AWS_ENDPOINT_URL`, `AWS_REGION` and static
/// keys when the lookup has them; the default chain for everything else.
pub async fn sdk_config(lookup: impl Fn(&str) -> Option<String>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = lookup("AWS_ENDPOINT_URL") {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(region) = lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION")) {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let (Some(id), Some(secret)) = (lookup("AWS_ACCESS_KEY_ID"), lookup("AWS_SECRET_ACCESS_KEY"))
    {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            id,
            secret,
            lookup("AWS_SESSION_TOKEN"),
            None,
            "pulse-lookup",
        ));
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::send_message::SendMessageError;
    use aws_smithy_runtime_api::client::result::ServiceError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn answer(status: u16, code: &str) -> SdkError<SendMessageError, Response> {
        let meta = ErrorMetadata::builder().code(code).message("why").build();
        SdkError::ServiceError(
            ServiceError::builder()
                .source(SendMessageError::generic(meta))
                .raw(Response::new(
                    StatusCode::try_from(status).unwrap(),
                    SdkBody::empty(),
                ))
                .build(),
        )
    }

    #[test]
    fn throttles_and_5xx_are_retryable_denials_are_not() {
        assert!(is_retryable(&answer(
            400,
            "AWS.SimpleQueueService.RequestThrottled"
        )));
        assert!(is_retryable(&answer(400, "ThrottlingException")));
        assert!(is_retryable(&answer(503, "Whatever")));
        assert!(is_retryable(&answer(429, "TooMany")));
        assert!(!is_retryable(&answer(400, "AccessDenied")));
        assert!(!is_retryable(&answer(400, "ResourceNotFoundException")));
        let e = sdk_error("sqs SendMessage", answer(403, "AccessDenied"));
        assert_eq!(e.to_string(), "sqs SendMessage: AccessDenied: why");
        assert!(!e.retryable);
    }
}
