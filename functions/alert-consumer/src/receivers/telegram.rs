//! Telegram Bot API `sendMessage`: plain text (no parse mode, so nothing needs escaping) to
//! one chat. The bot token is part of the URL, which therefore never prints.

use super::{Notification, Outgoing, Receiver, cut, group_heading, title};
use crate::config::ReceiverKind;
use crate::secrets::Secret;
use serde_json::json;

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

#[derive(Debug)]
pub struct Telegram {
    url: Secret,
    chat_id: String,
}

impl Telegram {
    pub fn new(api_base: Option<&str>, token: &Secret, chat_id: String) -> Self {
        let base = api_base.unwrap_or(DEFAULT_API_BASE).trim_end_matches('/');
        Telegram {
            url: Secret::new(format!("{base}/bot{}/sendMessage", token.expose())),
            chat_id,
        }
    }
}

impl Receiver for Telegram {
    fn kind(&self) -> ReceiverKind {
        ReceiverKind::Telegram
    }

    fn request(&self, n: &Notification<'_>) -> Outgoing {
        self.send(text(n))
    }

    /// The heading (`3 alerts`), then each alert's text, a blank line apart, within
    /// Telegram's 4096 characters.
    fn group_request(&self, group: &[Notification<'_>]) -> Option<Outgoing> {
        let mut all = group_heading(group);
        for n in group {
            all.push_str("\n\n");
            all.push_str(&text(n));
        }
        Some(self.send(cut(&all, 4096)))
    }
}

fn text(n: &Notification<'_>) -> String {
    let mut text = format!("{}\n{}", title(n), n.text.body);
    if let Some(link) = &n.text.link {
        text.push('\n');
        text.push_str(link);
    }
    text
}

impl Telegram {
    fn send(&self, text: String) -> Outgoing {
        let body = json!({
            "chat_id": self.chat_id,
            "text": text,
            "disable_web_page_preview": true,
        });
        Outgoing::json(self.url.clone(), &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::{event, view_and_text};
    use pulse_core::event::{AlertRule, Severity};

    #[test]
    fn send_message() {
        let e = event(AlertRule::PriceMove, Severity::Critical, "ethereum");
        let (v, t) = view_and_text(&e);
        let tg = Telegram::new(
            Some("http://127.0.0.1:9/"),
            &Secret::new("123:abc"),
            "-100".into(),
        );
        let out = tg.request(&Notification {
            view: &v,
            event: &e,
            text: &t,
            escalation: false,
            late: None,
            sent_at_ms: 0,
        });
        assert_eq!(
            out.url.expose(),
            "http://127.0.0.1:9/bot123:abc/sendMessage"
        );
        assert!(!format!("{out:?}").contains("abc"));
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap_or_default();
        assert_eq!(body["chat_id"], "-100");
    }
}
