//! Discord webhook: one embed (title, description, link, colour by severity, fields, time);
//! a resolve's embed is green, without fields.

use super::{Notification, Outgoing, Receiver, colour, cut, group_heading, title};
use crate::alerting::template::fields;
use crate::config::ReceiverKind;
use crate::secrets::Secret;
use pulse_core::event::Severity;
use pulse_core::time::Timestamp;
use serde_json::json;

#[derive(Debug)]
pub struct Discord {
    pub url: Secret,
}

impl Receiver for Discord {
    fn kind(&self) -> ReceiverKind {
        ReceiverKind::Discord
    }

    fn request(&self, n: &Notification<'_>) -> Outgoing {
        let body = json!({ "embeds": [embed(n)], "allowed_mentions": {"parse": []} });
        Outgoing::json(self.url.clone(), &body)
    }

    /// The heading as content and one embed per alert (Discord takes 10 per message: past
    /// that, the tenth lists the titles of the rest).
    fn group_request(&self, group: &[Notification<'_>]) -> Option<Outgoing> {
        let mut embeds: Vec<_> = group.iter().take(GROUP_EMBEDS).map(embed).collect();
        if group.len() > GROUP_EMBEDS {
            embeds.truncate(GROUP_EMBEDS - 1);
            let rest = &group[GROUP_EMBEDS - 1..];
            let titles: Vec<String> = rest.iter().map(|n| format!("• {}", title(n))).collect();
            embeds.push(json!({
                "title": format!("and {} more", rest.len()),
                "description": cut(&titles.join("\n"), 4096),
                "color": colour(rest[0].view.severity),
            }));
        }
        let body = json!({
            "content": group_heading(group),
            "embeds": embeds,
            "allowed_mentions": {"parse": []},
        });
        Some(Outgoing::json(self.url.clone(), &body))
    }
}

/// Embeds of one message (Discord's limit).
pub const GROUP_EMBEDS: usize = 10;

/// One alert's embed: title, description, link, colour by severity, fields, time; a resolve's
/// is green, without fields.
fn embed(n: &Notification<'_>) -> serde_json::Value {
    let v = n.view;
    let field = |name: &str, key: &str| json!({"name": name, "value": fields(v, key).unwrap_or_default(), "inline": true});
    if v.is_resolve() {
        return json!({
            "title": title(n),
            "description": n.text.body,
            "color": colour(Severity::Info),
            "timestamp": Timestamp(v.timestamp_ms).to_rfc3339(),
            "footer": {"text": format!("event {}", v.event_id)},
        });
    }
    let mut embed = json!({
        "title": title(n),
        "description": n.text.body,
        "color": colour(v.severity),
        "timestamp": Timestamp(v.timestamp_ms).to_rfc3339(),
        "fields": [
            field("Value", "value"),
            field("Change", "change"),
            field("Severity", "severity"),
        ],
        "footer": {"text": format!("event {}", v.event_id)},
    });
    if let Some(link) = &n.text.link {
        embed["url"] = json!(link);
    }
    embed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::{event, view_and_text};
    use pulse_core::event::AlertRule;

    #[test]
    fn embeds() {
        let e = event(AlertRule::PegDeviation, Severity::Critical, "ethereum");
        let (v, t) = view_and_text(&e);
        let out = Discord {
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
        let embed = &body["embeds"][0];
        assert_eq!(embed["color"], 0xe0_1e_5a);
        assert_eq!(embed["timestamp"], "2026-12-01T00:00:00.000Z");
        assert_eq!(embed["fields"][1]["value"], "-3.00%");
    }
}
