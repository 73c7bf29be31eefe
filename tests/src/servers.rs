//! Spawns `redis-server` and `moto_server` on free loopback ports and cleans them up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1, found by binding port 0 and letting the OS pick.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn wait_for_port(port: u16, child: &mut Child, name: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited before listening on port {port}: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not listen on port {port} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A `redis-server` owned by one test. Persistence is off; the process dies with the handle.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` from PATH on a free port. Panics with the fix when it is missing.
    pub fn start() -> Self {
        assert!(
            which("redis-server"),
            "redis-server is not on PATH: run ./scripts/test.sh (it installs it) or apt-get install -y redis-server"
        );
        let port = free_port();
        let mut server = RedisServer { port, child: None };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        wait_for_port(
            self.port,
            &mut child,
            "redis-server",
            Duration::from_secs(10),
        );
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (data is lost, as in a crash).
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Sends one inline command and returns the raw reply (for INFO, FLUSHALL and the like,
    /// without a client library).
    pub fn command(&self, line: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect redis");
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("write redis");
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).expect("read redis");
        if let Some(len) = first.strip_prefix('$') {
            let len: i64 = len.trim().parse().expect("bulk length");
            if len < 0 {
                return String::new();
            }
            let mut buf = vec![0u8; len as usize + 2];
            reader.read_exact(&mut buf).expect("read bulk");
            buf.truncate(len as usize);
            return String::from_utf8_lossy(&buf).into_owned();
        }
        first.trim_end().to_string()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `moto_server` (the AWS emulator) owned by one test.
pub struct MotoServer {
    pub port: u16,
    child: Option<Child>,
}

impl MotoServer {
    /// Starts `moto_server` from PATH on a free port and waits until it answers.
    pub fn start() -> Self {
        assert!(
            which("moto_server"),
            "moto_server is not on PATH: run ./scripts/test.sh (it installs it) or pip install 'moto[server]'"
        );
        let port = free_port();
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        wait_for_port(port, &mut child, "moto_server", Duration::from_secs(30));
        let server = MotoServer {
            port,
            child: Some(child),
        };
        server.reset();
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Clears every emulated resource.
    pub fn reset(&self) {
        let (status, _) = http_request(self.port, "POST", "/moto-api/reset", "");
        assert_eq!(status, 200, "moto reset failed");
    }

    /// Environment for SDK clients and child processes pointed at this emulator.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ]
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// A minimal HTTP/1.1 request to 127.0.0.1:`port`; returns status and body.
pub fn http_request(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_starts_answers_and_restarts() {
        let mut redis = RedisServer::start();
        assert_eq!(redis.command("PING"), "+PONG");
        redis.command("SET k v");
        redis.restart();
        assert_eq!(
            redis.command("GET k"),
            "",
            "data does not survive a restart"
        );
    }

    #[test]
    fn moto_starts_and_resets() {
        let moto = MotoServer::start();
        moto.reset();
        let (status, _) = http_request(moto.port, "GET", "/moto-api/data.json", "");
        assert_eq!(status, 200);
    }
}
