//! A loopback HTTP proxy in front of moto that refuses some SendMessageBatch calls, as a
//! destination failing midway would.

use pulse_tests::servers::read_request;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct FailingProxy {
    pub port: u16,
    pub send_batches: Arc<AtomicUsize>,
    pub refused: Arc<AtomicUsize>,
}

impl FailingProxy {
    /// Forwards everything to `upstream`, but answers every `fail_every`-th SendMessageBatch
    /// with a 400 error itself.
    pub fn start(upstream: u16, fail_every: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let send_batches = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (sb, rf) = (send_batches.clone(), refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (sb, rf) = (sb.clone(), rf.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, upstream, fail_every, &sb, &rf);
                });
            }
        });
        FailingProxy {
            port,
            send_batches,
            refused,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn serve(
    mut client: TcpStream,
    upstream: u16,
    fail_every: usize,
    send_batches: &AtomicUsize,
    refused: &AtomicUsize,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&client)? else {
        return Ok(());
    };
    let lower = head.to_ascii_lowercase();
    if lower.contains("x-amz-target: amazonsqs.sendmessagebatch") {
        let n = send_batches.fetch_add(1, Ordering::SeqCst) + 1;
        if n.is_multiple_of(fail_every) {
            refused.fetch_add(1, Ordering::SeqCst);
            let err = r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"refused by the test proxy"}"#;
            write!(
                client,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{err}",
                err.len()
            )?;
            return Ok(());
        }
    }
    // One request per connection: moto answers with `Connection: close` anyway.
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    let head = head.replace("\r\nConnection: keep-alive", "\r\nConnection: close");
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    client.write_all(&response)?;
    Ok(())
}
