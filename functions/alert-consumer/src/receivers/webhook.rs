//! Generic webhook: the event and the rendered text as JSON; `X-Signature` is the hex
//! HMAC-SHA256 of the exact body bytes under the shared secret; `Idempotency-Key` carries the
//! event id, so the far side can drop a retried delivery.

use super::{Notification, Outgoing, Receiver, title};
use crate::config::ReceiverKind;
use crate::secrets::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

#[derive(Debug)]
pub struct Webhook {
    pub url: Secret,
    pub hmac_key: Option<Secret>,
}

/// Hex HMAC-SHA256 of `body` under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl Receiver for Webhook {
    fn kind(&self) -> ReceiverKind {
        ReceiverKind::Webhook
    }

    fn request(&self, n: &Notification<'_>) -> Outgoing {
        let v = n.view;
        let body = json!({
            "eventId": v.event_id,
            "severity": v.severity,
            "rule": v.rule_name(),
            "key": v.key,
            "escalation": n.escalation,
            "title": title(n),
            "text": n.text.body,
            "link": n.text.link,
            "event": n.event,
        });
        let mut out = Outgoing::json(self.url.clone(), &body);
        out.headers
            .push(("idempotency-key", v.event_id.to_string()));
        if let Some(key) = &self.hmac_key {
            let sig = signature(key.expose().as_bytes(), &out.body);
            out.headers.push(("x-signature", sig));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receivers::fixtures::{event, view_and_text};
    use pulse_core::event::AlertRule;

    #[test]
    fn signs_the_exact_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let e = event(AlertRule::PegDeviation);
        let (v, t) = view_and_text(&e);
        let w = Webhook {
            url: Secret::new("http://127.0.0.1:1/hook"),
            hmac_key: Some(Secret::new("k")),
        };
        let out = w.request(&Notification {
            view: &v,
            event: &e,
            text: &t,
            escalation: false,
        });
        let sig = out.headers.iter().find(|(h, _)| *h == "x-signature");
        assert_eq!(
            sig.map(|(_, s)| s.clone()),
            Some(signature(b"k", &out.body))
        );
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap_or_default();
        assert_eq!(body["event"]["eventType"], "alert");
        assert_eq!(body["rule"], "peg_deviation");
    }
}
