//! Generic webhook: the event and the rendered text as JSON, with `status` (`firing` or
//! `resolved`) and `late`; `Idempotency-Key` carries the event id, so the far side can drop a
//! retried delivery. With a `secret`, two signature headers:
//!
//! - `X-Pulse-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`: each `v1` is the hex
//!   HMAC-SHA256 of `"<t>." + body` (the exact body bytes) under one key, the current
//!   `secret` first, then `previous_secret` while a rotation is under way; a receiver accepts
//!   the request when any `v1` matches under its key and `t` is recent (replays are refused);
//! - `X-Signature`: the hex HMAC-SHA256 of the body alone under `secret` (the first version's
//!   header, kept for receivers that check it; it has no timestamp, so move to the one above).

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
    /// The key being rotated out, still signing.
    pub previous_key: Option<Secret>,
}

/// Hex HMAC-SHA256 of `body` under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    signature_of_parts(key, &[body])
}

fn signature_of_parts(key: &[u8], parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The `X-Pulse-Signature` value: `t=<secs>,v1=<hex>` per key.
pub fn timestamped_signature(keys: &[&[u8]], t_secs: i64, body: &[u8]) -> String {
    let t = t_secs.to_string();
    let mut header = format!("t={t}");
    for key in keys {
        header.push_str(",v1=");
        header.push_str(&signature_of_parts(key, &[t.as_bytes(), b".", body]));
    }
    header
}

impl Receiver for Webhook {
    fn kind(&self) -> ReceiverKind {
        ReceiverKind::Webhook
    }

    fn request(&self, n: &Notification<'_>) -> Outgoing {
        let mut out = Outgoing::json(self.url.clone(), &item(n));
        out.headers
            .push(("idempotency-key", n.view.event_id.to_string()));
        self.sign(out, n.sent_at_ms)
    }

    /// `{status, count, alerts: [...]}`, each alert as a single request's body (as
    /// Alertmanager's webhook lists its alerts); `Idempotency-Key`: `group-` and the hex
    /// SHA-256 of the sorted event ids.
    fn group_request(&self, group: &[Notification<'_>]) -> Option<Outgoing> {
        let first = group.first()?;
        let body = json!({
            "status": first.view.status,
            "count": group.len(),
            "alerts": group.iter().map(item).collect::<Vec<_>>(),
        });
        let mut ids: Vec<String> = group.iter().map(|n| n.view.event_id.to_string()).collect();
        ids.sort();
        let mut out = Outgoing::json(self.url.clone(), &body);
        let digest = <Sha256 as sha2::Digest>::digest(ids.join(",").as_bytes());
        out.headers
            .push(("idempotency-key", format!("group-{}", hex::encode(digest))));
        Some(self.sign(out, first.sent_at_ms))
    }
}

/// One alert as the webhook body carries it.
fn item(n: &Notification<'_>) -> serde_json::Value {
    let v = n.view;
    json!({
        "eventId": v.event_id,
        "severity": v.severity,
        "status": v.status,
        "rule": v.rule_name(),
        "key": v.key,
        "escalation": n.escalation,
        "late": n.late.is_some(),
        "title": title(n),
        "text": n.text.body,
        "link": n.text.link,
        "event": n.event,
    })
}

impl Webhook {
    /// The signature headers over the exact body, when a key is configured.
    fn sign(&self, mut out: Outgoing, sent_at_ms: i64) -> Outgoing {
        if let Some(key) = &self.hmac_key {
            let mut keys = vec![key.expose().as_bytes()];
            if let Some(previous) = &self.previous_key {
                keys.push(previous.expose().as_bytes());
            }
            let t = sent_at_ms.div_euclid(1000);
            let header = timestamped_signature(&keys, t, &out.body);
            out.headers.push(("x-pulse-signature", header));
            let sig = signature(key.expose().as_bytes(), &out.body);
            out.headers.push(("x-signature", sig));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::{T0, event, view_and_text};
    use pulse_core::event::{AlertRule, Severity};

    #[test]
    fn signs_the_exact_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let e = event(AlertRule::PegDeviation, Severity::Critical, "ethereum");
        let (v, t) = view_and_text(&e);
        let w = Webhook {
            url: Secret::new("http://127.0.0.1:1/hook"),
            hmac_key: Some(Secret::new("new")),
            previous_key: Some(Secret::new("old")),
        };
        let out = w.request(&Notification {
            view: &v,
            event: &e,
            text: &t,
            escalation: false,
            late: None,
            sent_at_ms: T0 + 999,
        });
        let header = |name: &str| {
            out.headers
                .iter()
                .find(|(h, _)| *h == name)
                .map(|(_, s)| s.clone())
        };
        assert_eq!(header("x-signature"), Some(signature(b"new", &out.body)));
        // A receiver's check, as docs/alert-consumer.md writes it.
        let value = header("x-pulse-signature").unwrap_or_default();
        let t_part = value.split(',').next().unwrap_or_default();
        assert_eq!(t_part, format!("t={}", T0 / 1000));
        let signed = [t_part.trim_start_matches("t=").as_bytes(), b".", &out.body].concat();
        let v1: Vec<&str> = value
            .split(',')
            .filter_map(|p| p.strip_prefix("v1="))
            .collect();
        assert_eq!(
            v1,
            vec![signature(b"new", &signed), signature(b"old", &signed)]
        );
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap_or_default();
        assert_eq!(body["event"]["eventType"], "alert");
        assert_eq!(body["rule"], "peg_deviation");
        assert_eq!(body["status"], "firing");
        assert_eq!(body["late"], false);
    }
}
