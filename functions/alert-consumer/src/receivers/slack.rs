//! Slack incoming webhook: Block Kit (header, text, context with the link and event id) and a
//! plain `text` fallback for notifications.

use super::{Notification, Outgoing, Receiver, title};
use crate::config::ReceiverKind;
use crate::secrets::Secret;
use serde_json::json;

#[derive(Debug)]
pub struct Slack {
    pub url: Secret,
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Receiver for Slack {
    fn kind(&self) -> ReceiverKind {
        ReceiverKind::Slack
    }

    fn request(&self, n: &Notification<'_>) -> Outgoing {
        let title = title(n);
        let mut context =
            vec![json!({"type": "mrkdwn", "text": format!("event `{}`", n.view.event_id)})];
        if let Some(link) = &n.text.link {
            context.insert(
                0,
                json!({"type": "mrkdwn", "text": format!("<{link}|details>")}),
            );
        }
        let body = json!({
            "text": format!("{title}\n{}", n.text.body),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": true}},
                {"type": "section", "text": {"type": "mrkdwn", "text": escape(&n.text.body)}},
                {"type": "context", "elements": context},
            ],
        });
        Outgoing::json(self.url.clone(), &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receivers::fixtures::{event, view_and_text};
    use pulse_core::event::AlertRule;

    #[test]
    fn blocks() {
        let e = event(AlertRule::PegDeviation);
        let (v, t) = view_and_text(&e);
        let out = Slack {
            url: Secret::new("http://x"),
        }
        .request(&Notification {
            view: &v,
            event: &e,
            text: &t,
            escalation: true,
        });
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap_or_default();
        assert_eq!(body["blocks"][0]["type"], "header");
        assert_eq!(
            body["blocks"][0]["text"]["text"],
            "[CRITICAL] USDC: peg deviation (escalated)"
        );
        assert_eq!(body["blocks"][2]["type"], "context");
    }
}
