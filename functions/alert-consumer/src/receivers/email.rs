//! Email through SES: the rendered title as the subject, the body as plain text, then the
//! link and the event id; a resolve is the short resolved text alone. Sent by the SES adapter
//! (`pulse_adapters::ses`), which classifies failures (throttles and 5xx retryable; a rejected
//! message or an unverified sender permanent).

use super::{Notification, title};
use crate::retry::Failure;
use pulse_adapters::ses::{Email, SesMailer};
use std::time::Duration;

#[derive(Debug)]
pub struct EmailReceiver {
    pub mailer: SesMailer,
    pub from: String,
    pub to: Vec<String>,
    pub configuration_set: Option<String>,
}

impl EmailReceiver {
    /// The email that delivers `n`.
    pub fn message(&self, n: &Notification<'_>) -> Email {
        let mut text = n.text.body.clone();
        if !n.view.is_resolve() {
            if let Some(link) = &n.text.link {
                text.push_str(&format!("\n\n{link}"));
            }
            text.push_str(&format!("\n\nevent {}", n.view.event_id));
        }
        Email {
            from: self.from.clone(),
            to: self.to.clone(),
            subject: title(n),
            text,
            configuration_set: self.configuration_set.clone(),
        }
    }

    /// Sends `n` within `timeout` (a timeout is retryable).
    pub async fn send(&self, n: &Notification<'_>, timeout: Duration) -> Result<(), Failure> {
        let email = self.message(n);
        match tokio::time::timeout(timeout, self.mailer.send(&email)).await {
            Ok(Ok(_message_id)) => Ok(()),
            Ok(Err(e)) if e.retryable => Err(Failure::retryable(e.to_string())),
            Ok(Err(e)) => Err(Failure::permanent(e.to_string())),
            Err(_) => Err(Failure::retryable(format!(
                "ses SendEmail timed out after {} ms",
                timeout.as_millis()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::{event, resolved, view_and_text};
    use pulse_core::event::{AlertRule, Severity};

    fn receiver() -> EmailReceiver {
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        EmailReceiver {
            mailer: SesMailer::new(&aws, Some("eu-west-1")),
            from: "pulse@example.org".into(),
            to: vec!["oncall@example.org".into()],
            configuration_set: Some("alerts".into()),
        }
    }

    fn message(e: &pulse_core::event::Event) -> Email {
        let (v, t) = view_and_text(e);
        receiver().message(&Notification {
            view: &v,
            event: e,
            text: &t,
            escalation: false,
            late: None,
            sent_at_ms: 0,
        })
    }

    #[test]
    fn the_title_is_the_subject_and_the_body_ends_with_the_link_and_event() {
        let m = message(&event(
            AlertRule::PegDeviation,
            Severity::Critical,
            "ethereum",
        ));
        assert_eq!(m.subject, "[CRITICAL] USDC: peg deviation");
        assert!(
            m.text.starts_with("USDC is 3.00% off its peg\n"),
            "{}",
            m.text
        );
        assert!(
            m.text
                .contains("https://coins.llama.fi/prices/current/coingecko:usd-coin")
        );
        assert!(
            m.text
                .ends_with(&format!("event {}", uuid::Uuid::from_u128(42)))
        );
        assert_eq!(m.to, ["oncall@example.org"]);
        assert_eq!(m.configuration_set.as_deref(), Some("alerts"));
    }

    #[test]
    fn a_resolve_is_the_short_resolved_text() {
        let e = resolved(event(AlertRule::PriceMove, Severity::Critical, "ethereum"));
        let m = message(&e);
        assert_eq!(m.subject, "[RESOLVED] USDC: price move");
        assert!(
            m.text.starts_with("USDC is back within its thresholds\n"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("event "), "{}", m.text);
    }
}
