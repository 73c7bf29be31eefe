//! The HTTP adapter: sends a receiver's [`Outgoing`] request with a timeout and classifies the
//! result ([`crate::retry`]). The only module that uses the HTTP client (reqwest, rustls).
//! Error texts are stripped of the URL, which may hold a secret. Redirects are not followed
//! (a 302 would turn the POST into a body-less GET that could count as delivered): a 3xx is a
//! permanent failure naming its `Location`. A failure keeps the first
//! [`ERROR_BODY_BYTES`] of the receiver's answer, so on-call sees why.
//!
//! It also measures the wall time during which at least one request is in flight, so the
//! benchmark can tell the handler's own time from the network's.

use crate::receivers::Outgoing;
use crate::retry::{Failure, classify_status};
use pulse_core::ports::PortError;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct HttpSender {
    client: reqwest::Client,
    busy: NetworkBusy,
}

impl HttpSender {
    pub fn new() -> Result<Self, PortError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("pulse-alert-consumer/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PortError::permanent("cannot build the HTTP client").with_source(e))?;
        Ok(HttpSender {
            client,
            busy: NetworkBusy::default(),
        })
    }

    /// POSTs `out`; `Ok` on 2xx.
    pub async fn send(&self, out: &Outgoing, timeout: Duration) -> Result<(), Failure> {
        let _busy = self.busy.enter();
        let mut request = self
            .client
            .post(out.url.expose())
            .timeout(timeout)
            .body(out.body.clone());
        for (name, value) in &out.headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let retry_after = header("retry-after");
                let location = header("location");
                // Read the body so the connection can be reused; on failure it says why.
                let body = match response.bytes().await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::debug!(error = %e.without_url(), "response body not read");
                        Default::default()
                    }
                };
                let now_secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                classify_status(status, retry_after.as_deref(), now_secs).map_err(|f| {
                    let mut detail = String::new();
                    if (300..400).contains(&status) {
                        detail = format!(
                            "redirect to {} not followed: point the receiver at the final URL",
                            location.as_deref().unwrap_or("(no Location)")
                        );
                    }
                    let excerpt = error_excerpt(&body);
                    if !excerpt.is_empty() {
                        if !detail.is_empty() {
                            detail.push_str("; ");
                        }
                        detail.push_str("body: ");
                        detail.push_str(&excerpt);
                    }
                    f.with_detail(&detail)
                })
            }
            Err(e) => Err(classify_error(e)),
        }
    }

    /// Wall time with at least one request in flight since the last call.
    pub fn take_network_time(&self) -> Duration {
        self.busy.take()
    }
}

/// How much of a receiver's error answer a failure keeps.
pub const ERROR_BODY_BYTES: usize = 500;

/// The first [`ERROR_BODY_BYTES`] of an answer as text (cut at a character boundary, control
/// characters as spaces), trimmed.
pub fn error_excerpt(body: &[u8]) -> String {
    let head = &body[..body.len().min(ERROR_BODY_BYTES)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => t.to_string(),
        // Cut inside a character, or not text at all.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(head).into_owned(),
    };
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn classify_error(e: reqwest::Error) -> Failure {
    let e = e.without_url();
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_builder() {
        Failure::permanent(format!("invalid request: {reason}"))
    } else if e.is_timeout() {
        Failure::retryable(format!("timeout: {reason}"))
    } else if e.is_connect() {
        Failure::retryable(format!("connect: {reason}"))
    } else {
        Failure::retryable(reason)
    }
}

/// Wall time during which at least one request was in flight.
#[derive(Debug, Default)]
struct NetworkBusy {
    state: Mutex<BusyState>,
}

#[derive(Debug, Default)]
struct BusyState {
    in_flight: usize,
    since: Option<Instant>,
    total: Duration,
}

struct BusyGuard<'a>(&'a NetworkBusy);

impl NetworkBusy {
    fn enter(&self) -> BusyGuard<'_> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.in_flight == 0 {
            s.since = Some(Instant::now());
        }
        s.in_flight += 1;
        BusyGuard(self)
    }

    fn take(&self) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut s.total)
    }
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0
            && let Some(since) = s.since.take()
        {
            s.total += since.elapsed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_excerpts_keep_500_bytes_of_text() {
        assert_eq!(error_excerpt(b"  invalid_payload\n"), "invalid_payload");
        let long = "é".repeat(400);
        let e = error_excerpt(long.as_bytes());
        assert_eq!(e.len(), 500, "cut at a character boundary");
        assert_eq!(error_excerpt(b"a\tb"), "a b");
    }
}
