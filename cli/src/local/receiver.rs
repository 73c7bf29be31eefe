//! `pulse local receiver`: a webhook receiver on a loopback port for the local stack. It
//! answers every POST (200 by default, or the status `--status` gives, to try failures) and
//! prints what it got: the notification's title and text (webhook, Slack, Discord, Telegram
//! and PagerDuty bodies), its status and event id, or the whole JSON body with `--json`.

use anyhow::Context as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The port `functions/alert-consumer/routes.local.toml` points at.
pub const DEFAULT_PORT: u16 = 9180;

/// Bodies larger than this are refused (a notification is a few KB).
const MAX_BODY: usize = 1 << 20;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// How the receiver behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The status every request gets.
    pub status: u16,
    /// Print the whole JSON body.
    pub json: bool,
    /// Stop after this many requests.
    pub count: Option<usize>,
}

/// Binds the port, with an error that says what to do when it is taken.
pub async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{port}: pick a free port with --port N and put \
             http://127.0.0.1:N/webhook in the routes file's receiver url"
            )
        })
}

/// Serves until `count` requests were printed (forever without it).
pub async fn serve(listener: TcpListener, options: &Options) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Received>();
    let status = options.status;
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, status, tx.clone()));
        }
    });
    let mut seen = 0usize;
    while let Some(request) = rx.recv().await {
        seen += 1;
        let mut out = std::io::stdout().lock();
        // A closed stdout (a pipe whose reader left) ends the receiver.
        if out
            .write_all(describe(&request, status, options.json).as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
        if options.count.is_some_and(|c| seen >= c) {
            break;
        }
    }
    accept.abort();
    Ok(())
}

/// One keep-alive connection: requests in, `status` out.
async fn connection(stream: TcpStream, status: u16, tx: mpsc::UnboundedSender<Received>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let Some(request) = read_request(&mut reader).await else {
            return;
        };
        let _ = tx.send(request);
        let body = if (200..300).contains(&status) {
            "{\"ok\":true}".to_string()
        } else {
            format!("{{\"error\":\"pulse local receiver answers {status} (--status)\"}}")
        };
        let response = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            reason(status),
            body.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200..=299 => "OK",
        429 => "Too Many Requests",
        400..=499 => "Client Error",
        _ => "Server Error",
    }
}

/// Reads one HTTP/1.1 request (content-length bodies); `None` at the end of the connection.
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Option<Received> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).await.ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        return None;
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await.ok()?;
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// The notification's title and text, from whichever channel's body this is.
fn title_and_text(body: &Value) -> (Option<String>, Option<String>) {
    // webhook
    if let Some(title) = text(body.get("title")) {
        return (Some(title), text(body.get("text")));
    }
    // Discord: one embed
    if let Some(embed) = body.get("embeds").and_then(|e| e.get(0)) {
        return (text(embed.get("title")), text(embed.get("description")));
    }
    // PagerDuty Events API v2
    if let Some(action) = text(body.get("event_action")) {
        let key = text(body.get("dedup_key")).unwrap_or_default();
        return (
            Some(format!("PagerDuty {action} (dedup_key {key})")),
            text(body.pointer("/payload/summary")),
        );
    }
    // Slack (its fallback text) and Telegram
    (text(body.get("text")), None)
}

/// What the receiver prints for one request.
pub fn describe(r: &Received, status: u16, json: bool) -> String {
    let mut out = format!("=== {} {} → {status}\n", r.method, r.path);
    match serde_json::from_slice::<Value>(&r.body) {
        Ok(body) => {
            let signed = r.headers.contains_key("x-pulse-signature");
            // A grouped webhook: `{status, count, alerts: [...]}`, each alert as a single body.
            if let Some(alerts) = body.get("alerts").and_then(Value::as_array) {
                out.push_str(&format!(
                    "{} alerts in one notification{}\n",
                    alerts.len(),
                    if signed {
                        " (signed (X-Pulse-Signature))"
                    } else {
                        ""
                    }
                ));
                for alert in alerts {
                    out.push_str("--- ");
                    describe_alert(&mut out, alert, false);
                }
            } else {
                describe_alert(&mut out, &body, signed);
            }
            if json {
                let pretty = serde_json::to_string_pretty(&body).unwrap_or_default();
                out.push_str(&pretty);
                out.push('\n');
            }
        }
        Err(_) => {
            out.push_str(&String::from_utf8_lossy(&r.body));
            out.push('\n');
        }
    }
    out
}

/// One alert's title, text and facts.
fn describe_alert(out: &mut String, body: &Value, signed: bool) {
    let (title, text) = title_and_text(body);
    if let Some(t) = title {
        out.push_str(&format!("{t}\n"));
    }
    if let Some(t) = text {
        out.push_str(&format!("{t}\n"));
    }
    let mut facts = Vec::new();
    for field in ["status", "severity", "rule", "key", "eventId"] {
        if let Some(v) = body.get(field).and_then(Value::as_str) {
            facts.push(format!("{field} {v}"));
        }
    }
    if let Some(true) = body.get("late").and_then(Value::as_bool) {
        facts.push("late".into());
    }
    if signed {
        facts.push("signed (X-Pulse-Signature)".into());
    }
    if !facts.is_empty() {
        out.push_str(&format!("({})\n", facts.join(" · ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_body_prints_its_title_text_and_facts() {
        let body = serde_json::json!({
            "eventId": "e-1", "severity": "critical", "status": "firing",
            "rule": "peg_deviation", "key": "price:coingecko:usd-coin", "late": false,
            "title": "[CRITICAL] USDC: peg deviation", "text": "USDC is 8.8% off its peg",
        });
        let r = Received {
            method: "POST".into(),
            path: "/webhook".into(),
            headers: BTreeMap::new(),
            body: body.to_string().into_bytes(),
        };
        let text = describe(&r, 200, false);
        assert!(text.starts_with("=== POST /webhook → 200\n"), "{text}");
        assert!(text.contains("[CRITICAL] USDC: peg deviation\nUSDC is 8.8% off its peg\n"));
        assert!(text.contains("eventId e-1"), "{text}");
        assert!(!text.contains('{'), "no JSON without --json: {text}");
        assert!(describe(&r, 200, true).contains("\"eventId\": \"e-1\""));
    }

    #[test]
    fn a_grouped_webhook_prints_each_alert() {
        let alert = |id: &str, severity: &str| {
            serde_json::json!({"eventId": id, "severity": severity, "status": "firing",
                "title": format!("[{severity}] USDC: peg deviation"), "text": "off its peg"})
        };
        let body = serde_json::json!({"status": "firing", "count": 2,
            "alerts": [alert("e-1", "warning"), alert("e-2", "critical")]});
        let mut headers = BTreeMap::new();
        headers.insert("x-pulse-signature".to_string(), "t=1,v1=00".to_string());
        let r = Received {
            method: "POST".into(),
            path: "/webhook".into(),
            headers,
            body: body.to_string().into_bytes(),
        };
        let text = describe(&r, 200, false);
        assert!(
            text.contains("2 alerts in one notification (signed (X-Pulse-Signature))\n"),
            "{text}"
        );
        assert_eq!(text.matches("--- [").count(), 2, "{text}");
        assert!(
            text.contains("[critical] USDC: peg deviation\noff its peg\n"),
            "{text}"
        );
        assert!(text.contains("eventId e-2"), "{text}");
    }

    #[test]
    fn pagerduty_and_discord_bodies_print_their_summary() {
        let pd = serde_json::json!({"event_action": "trigger", "dedup_key": "k:r",
            "payload": {"summary": "USDC off peg"}});
        let (t, x) = title_and_text(&pd);
        assert_eq!(t.as_deref(), Some("PagerDuty trigger (dedup_key k:r)"));
        assert_eq!(x.as_deref(), Some("USDC off peg"));
        let d = serde_json::json!({"embeds": [{"title": "T", "description": "D"}]});
        assert_eq!(title_and_text(&d), (Some("T".into()), Some("D".into())));
    }
}
