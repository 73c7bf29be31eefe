//! A receiver on a loopback port (a webhook, Slack, Discord, Telegram or PagerDuty
//! endpoint): records every request and answers as told (a status, `Retry-After`, slowly, or
//! never). Connections are kept alive, as real receivers do.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the fake receiver answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(u16),
    /// Status with a `Retry-After` header (seconds).
    RetryAfter(u16, u64),
    /// Status with this body (an error answer that explains itself).
    Body(u16, String),
    /// A redirect (status) to this `Location`.
    Redirect(u16, String),
    /// Answer 200 after a delay.
    Slow(Duration),
    /// Never answer.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// When the request arrived (rate-limit tests count them per second).
    pub at: std::time::Instant,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[derive(Debug, Default)]
struct ServerState {
    requests: Vec<Recorded>,
    /// Replies used in order, before `default`.
    script: VecDeque<Reply>,
    /// A reply for requests whose body contains the text.
    when_body_contains: Vec<(String, Reply)>,
    default: Option<Reply>,
}

/// A receiver on a loopback port.
pub struct FakeReceiver {
    pub port: u16,
    state: Arc<Mutex<ServerState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_string();
                        let path = parts.next().unwrap_or_default().to_string();
                        let mut headers = BTreeMap::new();
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                                return;
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
                        let mut body = vec![0u8; len];
                        if reader.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let reply = {
                            let mut s = state.lock().unwrap();
                            let text = String::from_utf8_lossy(&body).into_owned();
                            let reply = s
                                .when_body_contains
                                .iter()
                                .find(|(needle, _)| text.contains(needle.as_str()))
                                .map(|(_, r)| r.clone())
                                .or_else(|| s.script.pop_front())
                                .or_else(|| s.default.clone())
                                .unwrap_or(Reply::Status(200));
                            s.requests.push(Recorded {
                                method,
                                path,
                                headers,
                                body,
                                at: std::time::Instant::now(),
                            });
                            reply
                        };
                        let mut content = "{\"ok\":true}".to_string();
                        let (status, extra) = match reply {
                            Reply::Status(s) => (s, String::new()),
                            Reply::RetryAfter(s, secs) => (s, format!("retry-after: {secs}\r\n")),
                            Reply::Body(s, text) => {
                                content = text;
                                (s, String::new())
                            }
                            Reply::Redirect(s, location) => {
                                (s, format!("location: {location}\r\n"))
                            }
                            Reply::Slow(d) => {
                                tokio::time::sleep(d).await;
                                (200, String::new())
                            }
                            Reply::Hang => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                return;
                            }
                        };
                        let response = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n{content}",
                            content.len()
                        );
                        if write.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeReceiver { port, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }
    pub fn answer(&self, reply: Reply) {
        self.state.lock().unwrap().default = Some(reply);
    }
    pub fn then(&self, reply: Reply) {
        self.state.lock().unwrap().script.push_back(reply);
    }
    pub fn answer_when_body_contains(&self, needle: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .when_body_contains
            .push((needle.to_string(), reply));
    }
    /// Requests whose body mentions `text` (an event id, say).
    pub fn mentioning(&self, text: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(text))
            .count()
    }
}
