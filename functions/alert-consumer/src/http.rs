//! The HTTP adapter: sends a receiver's [`Outgoing`] request with a timeout and classifies the
//! result ([`crate::retry`]). The only module that uses the HTTP client (reqwest, rustls).
//! Error texts are stripped of the URL, which may hold a secret.
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
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                // Read the body so the connection can be reused; its content does not matter.
                if let Err(e) = response.bytes().await {
                    tracing::debug!(error = %e.without_url(), "response body not read");
                }
                classify_status(status, retry_after.as_deref())
            }
            Err(e) => Err(classify_error(e)),
        }
    }

    /// Wall time with at least one request in flight since the last call.
    pub fn take_network_time(&self) -> Duration {
        self.busy.take()
    }
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
