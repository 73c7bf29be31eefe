//! Slack incoming webhook: Block Kit (header, text, context with the link and event id) and a
//! plain `text` fallback for notifications; a resolve is one short section.

use super::{Notification, Outgoing, Receiver, cut, group_heading, title};
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
        if n.view.is_resolve() {
            let body = json!({
                "text": format!("{title}\n{}", n.text.body),
                "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                    "text": format!("*{}*\n{}", escape(&title), escape(&n.text.body))}}],
            });
            return Outgoing::json(self.url.clone(), &body);
        }
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

    /// A header (`3 alerts`), one section per alert (title, text, link; at most
    /// [`GROUP_SECTIONS`], then a line saying how many more), and the event ids.
    fn group_request(&self, group: &[Notification<'_>]) -> Option<Outgoing> {
        let heading = group_heading(group);
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": heading, "emoji": true}}),
        ];
        let mut fallback = heading.clone();
        for n in group.iter().take(GROUP_SECTIONS) {
            let title = title(n);
            let mut text = format!("*{}*\n{}", escape(&title), escape(&n.text.body));
            if let Some(link) = &n.text.link {
                text.push_str(&format!("\n<{link}|details>"));
            }
            blocks.push(
                json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&text, 3000)}}),
            );
            fallback.push_str(&format!("\n{title}"));
        }
        let more = group.len().saturating_sub(GROUP_SECTIONS);
        let ids: Vec<String> = group.iter().map(|n| n.view.event_id.to_string()).collect();
        let mut context = format!("events `{}`", ids.join("`, `"));
        if more > 0 {
            context = format!("and {more} more; {context}");
        }
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(&context, 3000)}]}));
        let body = json!({ "text": cut(&fallback, 3000), "blocks": blocks });
        Some(Outgoing::json(self.url.clone(), &body))
    }
}

/// Sections of one grouped message (Slack allows 50 blocks).
pub const GROUP_SECTIONS: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::{event, view_and_text};
    use pulse_core::event::{AlertRule, Severity};

    #[test]
    fn blocks() {
        let e = event(AlertRule::PegDeviation, Severity::Critical, "ethereum");
        let (v, t) = view_and_text(&e);
        let out = Slack {
            url: Secret::new("http://x"),
        }
        .request(&Notification {
            view: &v,
            event: &e,
            text: &t,
            escalation: true,
            late: None,
            sent_at_ms: 0,
        });
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap_or_default();
        assert_eq!(body["blocks"][0]["type"], "header");
        assert_eq!(
            body["blocks"][0]["text"]["text"],
            "[CRITICAL] USDC: peg deviation (escalated)"
        );
        assert_eq!(body["blocks"][2]["type"], "context");
    }

    #[test]
    fn a_resolve_is_one_short_section() {
        let e = crate::alerting::fixtures::resolved(event(
            AlertRule::PriceMove,
            Severity::Critical,
            "ethereum",
        ));
        let (v, t) = view_and_text(&e);
        let out = Slack {
            url: Secret::new("http://x"),
        }
        .request(&Notification {
            view: &v,
            event: &e,
            text: &t,
            escalation: false,
            late: None,
            sent_at_ms: 0,
        });
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap_or_default();
        assert_eq!(body["blocks"].as_array().map(Vec::len), Some(1));
        assert!(
            body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("[RESOLVED] USDC: price move\n"))
        );
    }
}
