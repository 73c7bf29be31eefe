//! What the apply rehearsal needs around the emulator: a temporary copy of `terraform/`,
//! placeholder Lambda zips (the `zip` crate), a Terraform runner, moto's admin calls (IAM
//! enforcement on and off, AssumeRole, PutRolePolicy) and a recording proxy that notes every
//! AWS call a function makes on its way to moto.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const PLUGIN_DIR: &str = "/opt/tf-plugins";

pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Why the rehearsal cannot run here, if it cannot.
pub fn skip_reason() -> Option<String> {
    if std::env::var("PULSE_SKIP_TF_REHEARSAL").is_ok_and(|v| v == "1") {
        return Some("PULSE_SKIP_TF_REHEARSAL=1".into());
    }
    if !on_path("terraform") {
        return Some("terraform is not on PATH".into());
    }
    if !Path::new(PLUGIN_DIR).is_dir() {
        return Some(format!("{PLUGIN_DIR} (offline aws provider) is missing"));
    }
    None
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a tree of Terraform files (links kept as links, so `envs/<env>/common.tf` stays a
/// link to `envs/common.tf`), without local state or `.terraform`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == ".terraform" || name.contains(".tfstate") || name == "terraform.tfvars" {
            continue;
        }
        let target = to.join(&*name);
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A zip as scripts/package-lambdas.sh lays it out: an executable `bootstrap`, plus files.
pub fn placeholder_zip(path: &Path, bootstrap: &[u8], files: &[(String, Vec<u8>)]) {
    use zip::write::SimpleFileOptions;
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("bootstrap", stored.unix_permissions(0o755))
        .unwrap();
    zip.write_all(bootstrap).unwrap();
    for (name, content) in files {
        zip.start_file(name, stored.unix_permissions(0o644))
            .unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
}

/// Placeholder zips for the three functions under `dir/artifacts` (moto runs no code), the
/// alert consumer's with every environment's routes file, as the package script does.
pub fn artifacts(dir: &Path, terraform: &Path) -> PathBuf {
    let out = dir.join("artifacts");
    for name in ["detector", "alert-consumer", "dlq-redrive"] {
        std::fs::create_dir_all(out.join(name)).unwrap();
        let script = format!("#!/bin/sh\necho placeholder for {name}\n");
        let files: Vec<(String, Vec<u8>)> = if name == "alert-consumer" {
            crate::hcl::ENVIRONMENTS
                .iter()
                .map(|env| {
                    let routes = terraform.join("envs").join(env).join("routes.toml");
                    (format!("routes/{env}.toml"), std::fs::read(routes).unwrap())
                })
                .collect()
        } else {
            Vec::new()
        };
        placeholder_zip(
            &out.join(name).join("bootstrap.zip"),
            script.as_bytes(),
            &files,
        );
    }
    out
}

pub struct Terraform {
    pub root: PathBuf,
    pub envs: Vec<(String, String)>,
}

impl Terraform {
    pub fn run(&self, args: &[&str]) -> (bool, String) {
        let output = Command::new("terraform")
            .arg(format!("-chdir={}", self.root.display()))
            .args(args)
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .output()
            .expect("spawn terraform");
        let mut all = String::from_utf8_lossy(&output.stdout).into_owned();
        all.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status.success(), all)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, output) = self.run(args);
        let lines: Vec<&str> = output.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        assert!(ok, "terraform {} failed:\n{tail}", args.join(" "));
        output
    }
}

// --- moto admin calls ----------------------------------------------------------------------

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An unsigned query-protocol call (IAM, STS) while moto does not enforce IAM.
fn query(port: u16, service: &str, pairs: &[(&str, &str)]) -> String {
    let body = form_encode(pairs);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
        "{service} {pairs:?}: {response}"
    );
    response
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).map(|i| i + open.len()).unwrap_or(0);
    let end = text[start..]
        .find(close)
        .map(|i| start + i)
        .unwrap_or(start);
    &text[start..end]
}

/// Credentials of a session of `role_arn` (moto does not evaluate the Lambda trust policy; the
/// session has exactly the role's permissions, as the function's would).
pub fn assume_role(port: u16, role_arn: &str) -> (String, String, String) {
    let xml = query(
        port,
        "sts",
        &[
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", role_arn),
            ("RoleSessionName", "pulse-iam-test"),
        ],
    );
    (
        between(&xml, "<AccessKeyId>", "</AccessKeyId>").to_string(),
        between(&xml, "<SecretAccessKey>", "</SecretAccessKey>").to_string(),
        between(&xml, "<SessionToken>", "</SessionToken>").to_string(),
    )
}

pub fn put_role_policy(port: u16, role: &str, name: &str, document: &str) {
    query(
        port,
        "iam",
        &[
            ("Action", "PutRolePolicy"),
            ("Version", "2010-05-08"),
            ("RoleName", role),
            ("PolicyName", name),
            ("PolicyDocument", document),
        ],
    );
}

/// From now on moto authenticates every request and evaluates the caller's IAM policies
/// ("0"), or stops doing so ("inf").
pub fn enforce_iam(port: u16, on: bool) {
    let (status, body) = pulse_tests::http_request(
        port,
        "POST",
        "/moto-api/reset-auth",
        if on { "0" } else { "inf" },
    );
    assert_eq!(status, 200, "moto reset-auth: {body}");
}
