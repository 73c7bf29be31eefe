//! Spawns `redis-server` and `moto_server` on free loopback ports and cleans them up.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1, found by binding port 0 and letting the OS pick.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Whether `program` is an executable file on PATH.
pub fn on_path(program: &str) -> bool {
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
    tls: Option<TlsFiles>,
    child: Option<Child>,
}

/// The TLS side of a [`RedisServer::start_tls`] server: its port and a throwaway
/// self-signed certificate for 127.0.0.1 (clients trust it as its own root), in a temp dir
/// removed on drop.
struct TlsFiles {
    port: u16,
    dir: PathBuf,
}

impl TlsFiles {
    fn generate(port: u16) -> Self {
        assert!(
            on_path("openssl"),
            "openssl is not on PATH: run ./scripts/test.sh (it installs it) or apt-get install -y openssl"
        );
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pulse-redis-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A directory left by an earlier process with the same pid.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the TLS temp dir");
        let files = TlsFiles { port, dir };
        let output = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            // `-x509` makes a CA by default, which webpki refuses as the server's own
            // certificate (CaUsedAsEndEntity); a non-CA one is still trusted as its own root.
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(files.key())
            .arg("-out")
            .arg(files.cert())
            .stdin(Stdio::null())
            .output()
            .expect("run openssl");
        assert!(
            output.status.success(),
            "openssl could not create the test certificate: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        files
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RedisServer {
    /// Starts `redis-server` from PATH on a free port. Panics with the fix when it is missing.
    pub fn start() -> Self {
        assert!(
            on_path("redis-server"),
            "redis-server is not on PATH: run ./scripts/test.sh (it installs it) or apt-get install -y redis-server"
        );
        let port = free_port();
        let mut server = RedisServer {
            port,
            tls: None,
            child: None,
        };
        server.spawn();
        server
    }

    /// Like [`start`](Self::start), plus a TLS port (as ElastiCache with transit encryption)
    /// serving a throwaway self-signed certificate for 127.0.0.1 made with the `openssl`
    /// CLI. The plain [`port`](Self::port) stays open for [`command`](Self::command).
    /// Clients do not request a client certificate (`--tls-auth-clients no`).
    pub fn start_tls() -> Self {
        assert!(
            on_path("redis-server"),
            "redis-server is not on PATH: run ./scripts/test.sh (it installs it) or apt-get install -y redis-server"
        );
        let port = free_port();
        let tls_port = loop {
            let p = free_port();
            if p != port {
                break p;
            }
        };
        let mut server = RedisServer {
            port,
            tls: Some(TlsFiles::generate(tls_port)),
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"]);
        if let Some(tls) = &self.tls {
            command
                .args(["--tls-port", &tls.port.to_string()])
                .arg("--tls-cert-file")
                .arg(tls.cert())
                .arg("--tls-key-file")
                .arg(tls.key())
                .arg("--tls-ca-cert-file")
                .arg(tls.cert())
                .args(["--tls-auth-clients", "no"]);
        }
        let mut child = command
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
        if let Some(tls) = &self.tls {
            wait_for_port(
                tls.port,
                &mut child,
                "redis-server (TLS port; is it built with TLS?)",
                Duration::from_secs(10),
            );
        }
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn tls(&self) -> &TlsFiles {
        self.tls
            .as_ref()
            .expect("this RedisServer has no TLS port: start it with RedisServer::start_tls")
    }

    /// The TLS port of a [`start_tls`](Self::start_tls) server.
    pub fn tls_port(&self) -> u16 {
        self.tls().port
    }

    /// `rediss://127.0.0.1:PORT/` for the TLS port. The certificate is verified as in
    /// production, so a client accepts it only in a process that trusts [`ca_cert`]
    /// (`SSL_CERT_FILE`, see [`run_test_in_child`]). No `#insecure` fragment: the redis
    /// crates reject it unless built with `tls-rustls-insecure`, which pulse does not enable.
    ///
    /// [`ca_cert`]: Self::ca_cert
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}/", self.tls_port())
    }

    /// The PEM file of the server's self-signed certificate, which is its own CA.
    pub fn ca_cert(&self) -> PathBuf {
        self.tls().cert()
    }

    /// Kills the server (data is lost, as in a crash).
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts it again on the same port (and TLS port and certificate).
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

/// Set in the child process of [`run_test_in_child`].
pub const CHILD_ENV: &str = "PULSE_TESTS_CHILD";

/// Runs the test `name` (its path inside the test binary, `module::test`) of the current
/// test binary in a child process with `env` added, and panics unless it ran and passed.
/// For settings that are read from the process environment and must not leak into tests
/// running on other threads, such as `SSL_CERT_FILE` (the roots rustls-native-certs, hence
/// the redis crates, trust). The child sees [`CHILD_ENV`] set.
pub fn run_test_in_child<K: AsRef<OsStr>, V: AsRef<OsStr>>(name: &str, env: &[(K, V)]) {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut command = Command::new(exe);
    command
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} in a child process: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}

/// Whether this process is the child of [`run_test_in_child`].
pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
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
            on_path("moto_server"),
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
    fn redis_tls_starts_answers_restarts_and_cleans_up() {
        let mut redis = RedisServer::start_tls();
        assert_ne!(redis.port, redis.tls_port());
        assert!(redis.ca_cert().is_file());
        assert_eq!(
            redis.command("PING"),
            "+PONG",
            "the plain port still answers"
        );
        redis.restart();
        assert_eq!(redis.command("PING"), "+PONG");
        assert!(TcpStream::connect(("127.0.0.1", redis.tls_port())).is_ok());
        let dir = redis.ca_cert().parent().unwrap().to_path_buf();
        drop(redis);
        assert!(!dir.exists(), "the certificate directory is removed");
    }

    #[test]
    fn moto_starts_and_resets() {
        let moto = MotoServer::start();
        moto.reset();
        let (status, _) = http_request(moto.port, "GET", "/moto-api/data.json", "");
        assert_eq!(status, 200);
    }
}
