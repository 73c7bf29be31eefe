//! Email through SES (API v2 `SendEmail`, a plain-text message): the alert consumer's email
//! receiver. Failures are classified by the one AWS classifier ([`crate::aws`]): throttles
//! (`TooManyRequestsException`), 5xx and network failures are retryable; a rejected message
//! (`MessageRejected`), an unverified sender domain (`MailFromDomainNotVerifiedException`),
//! a paused account and every other 4xx are permanent.

use crate::aws::sdk_error;
use aws_config::SdkConfig;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::Region;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use pulse_core::ports::PortError;

/// One plain-text email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    /// SES configuration set (event publishing, dedicated IPs), when one is used.
    pub configuration_set: Option<String>,
}

/// An SES v2 client in one region.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
}

fn content(what: &str, data: &str) -> Result<Content, PortError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| {
            PortError::permanent(format!("ses SendEmail: cannot build the {what}: {e}"))
                .with_source(e)
        })
}

impl SesMailer {
    /// A client from `aws`, in `region` when given (SES identities are per region).
    pub fn new(aws: &SdkConfig, region: Option<&str>) -> Self {
        let mut config = aws_sdk_sesv2::config::Builder::from(aws);
        if let Some(region) = region {
            config = config.region(Region::new(region.to_string()));
        }
        SesMailer {
            client: Client::from_conf(config.build()),
        }
    }

    /// Sends `email`; returns SES's message id.
    pub async fn send(&self, email: &Email) -> Result<String, PortError> {
        let message = Message::builder()
            .subject(content("subject", &email.subject)?)
            .body(Body::builder().text(content("body", &email.text)?).build())
            .build();
        let destination = Destination::builder()
            .set_to_addresses(Some(email.to.clone()))
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(destination)
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(email.configuration_set.clone())
            .send()
            .await
            .map_err(|e| sdk_error("ses SendEmail", e))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::operation::send_email::SendEmailError;
    use aws_smithy_runtime_api::client::result::{SdkError, ServiceError};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn answer(status: u16, code: &str) -> SdkError<SendEmailError, Response> {
        let meta = ErrorMetadata::builder().code(code).message("why").build();
        SdkError::ServiceError(
            ServiceError::builder()
                .source(SendEmailError::generic(meta))
                .raw(Response::new(
                    StatusCode::try_from(status).unwrap_or_else(|e| panic!("{e}")),
                    SdkBody::empty(),
                ))
                .build(),
        )
    }

    #[test]
    fn throttles_and_5xx_are_retryable_rejections_are_permanent() {
        let class = |status, code| super::sdk_error("ses SendEmail", answer(status, code));
        assert!(class(429, "TooManyRequestsException").retryable);
        assert!(class(400, "ThrottlingException").retryable);
        assert!(class(500, "InternalFailure").retryable);
        assert!(class(503, "ServiceUnavailable").retryable);
        let rejected = class(400, "MessageRejected");
        assert!(!rejected.retryable);
        assert_eq!(rejected.to_string(), "ses SendEmail: MessageRejected: why");
        assert!(!class(400, "MailFromDomainNotVerifiedException").retryable);
        assert!(!class(400, "AccountSuspendedException").retryable);
    }
}
