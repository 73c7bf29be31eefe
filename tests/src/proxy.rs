//! A loopback HTTP proxy in front of the emulator, for faults and records moto cannot give:
//! an [`Intercept`] sees each request (and may answer it itself or rewrite it) and each answer.
//! One request per connection (moto closes after each answer).

use crate::servers::read_request;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// One HTTP request: the head (request line and headers, ending in a blank line) and body.
#[derive(Debug, Clone)]
pub struct Request {
    pub head: String,
    pub body: Vec<u8>,
}

impl Request {
    /// Whether this is an AWS JSON-protocol call of `target`, e.g. `AmazonSQS.SendMessageBatch`.
    pub fn is_target(&self, target: &str) -> bool {
        self.head
            .to_ascii_lowercase()
            .contains(&format!("x-amz-target: {}", target.to_ascii_lowercase()))
    }
}

/// One HTTP answer: status, headers without `Content-Length`/`Connection` (the proxy sets
/// those), body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// An AWS JSON-protocol answer.
    pub fn aws_json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.0".into())],
            body: body.to_string().into_bytes(),
        }
    }

    fn parse(raw: &[u8]) -> Response {
        let at = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(raw.len());
        let head = String::from_utf8_lossy(&raw[..at]);
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                k != "content-length" && k != "connection" && k != "transfer-encoding"
            })
            .collect();
        let body = raw.get(at + 4..).unwrap_or_default().to_vec();
        Response {
            status,
            headers,
            body,
        }
    }

    fn write(&self, to: &mut impl Write) -> std::io::Result<()> {
        let mut head = format!("HTTP/1.1 {} X\r\n", self.status);
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        to.write_all(head.as_bytes())?;
        to.write_all(&self.body)
    }
}

/// What the proxy does with one request.
pub enum Step {
    /// Forward it to the emulator (as the intercept may have rewritten it).
    Forward,
    /// Answer with this, without asking the emulator.
    Answer(Response),
    /// Forward it, then rewrite the emulator's answer with this.
    Rewrite(Box<dyn FnOnce(&mut Response) + Send>),
}

/// What the proxy does with the traffic. Both methods default to passing it through.
pub trait Intercept: Send + Sync + 'static {
    /// Sees (and may rewrite) a request and says what to do with it.
    fn request(&self, _request: &mut Request) -> Step {
        Step::Forward
    }
    /// Sees every answer of the emulator, after any [`Step::Rewrite`].
    fn response(&self, _request: &Request, _response: &mut Response) {}
}

/// The proxy: forwards to the emulator on `upstream` through the intercept `I`.
pub struct Proxy<I> {
    pub port: u16,
    pub intercept: Arc<I>,
}

impl<I: Intercept> Proxy<I> {
    pub fn start(upstream: u16, intercept: I) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let intercept = Arc::new(intercept);
        let hook = intercept.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let hook = hook.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, upstream, &*hook);
                });
            }
        });
        Proxy { port, intercept }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn serve(mut client: TcpStream, upstream: u16, hook: &impl Intercept) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&client)? else {
        return Ok(());
    };
    let mut request = Request { head, body };
    let response = match hook.request(&mut request) {
        Step::Answer(answer) => answer,
        step => {
            let mut response = Response::parse(&forward(&request, upstream)?);
            if let Step::Rewrite(rewrite) = step {
                rewrite(&mut response);
            }
            hook.response(&request, &mut response);
            response
        }
    };
    response.write(&mut client)
}

/// Sends `request` to the emulator with its body's length and `Connection: close`.
fn forward(request: &Request, upstream: u16) -> std::io::Result<Vec<u8>> {
    let head: String = request
        .head
        .lines()
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let k = l.split(':').next().unwrap_or("").to_ascii_lowercase();
            k != "content-length" && k != "connection"
        })
        .map(|l| format!("{l}\r\n"))
        .collect();
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(
        format!(
            "{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
            request.body.len()
        )
        .as_bytes(),
    )?;
    up.write_all(&request.body)?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    Ok(raw)
}

/// One call that went through a [`Recorder`].
#[derive(Debug, Clone)]
pub struct Recorded {
    pub head: String,
    pub body: Vec<u8>,
    pub status: u16,
    /// The start of the emulator's answer, for failure messages.
    pub answer: String,
}

/// Keeps every request and the status the emulator answered with.
#[derive(Default)]
pub struct Recorder {
    calls: std::sync::Mutex<Vec<Recorded>>,
}

impl Recorder {
    /// The calls recorded so far, and forgets them.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl Intercept for Recorder {
    fn response(&self, request: &Request, response: &mut Response) {
        let body = &response.body[..response.body.len().min(600)];
        self.calls.lock().unwrap().push(Recorded {
            head: request.head.clone(),
            body: request.body.clone(),
            status: response.status,
            answer: format!("HTTP {} {}", response.status, String::from_utf8_lossy(body)),
        });
    }
}
