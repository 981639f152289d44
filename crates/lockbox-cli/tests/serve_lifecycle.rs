//! `lockbox serve` as a supervisor runs it (systemd, a container): the real
//! binary, stopped by SIGTERM or SIGINT. A request in flight when the signal
//! comes is answered, no new connection is accepted, the background loop
//! stops, and the process exits 0. Logs are text by default and one JSON
//! object a line with `LOCKBOX_LOG_FORMAT=json` / `--log-format json`.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

fn lockbox(db: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("lockbox"));
    c.env("LOCKBOX_DB", db)
        .env("USER", "root")
        // `serve` runs on the real clock (it refuses LOCKBOX_NOW); nothing
        // checked here depends on the time.
        .env_remove("LOCKBOX_NOW")
        .env_remove("LOCKBOX_TENANT")
        .env_remove("LOCKBOX_API_BIND")
        .env_remove("LOCKBOX_LOG")
        .env_remove("LOCKBOX_LOG_FORMAT");
    c
}

fn issue_token(db: &Path) -> String {
    let out = lockbox(db)
        .args(["token", "issue", "--name", "acme", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A running `lockbox serve`: killed when the test ends, however it ends.
struct Serve {
    child: Child,
    addr: SocketAddr,
    stderr: Option<JoinHandle<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// Start on a free port and wait (bounded) for its "listening" line.
    fn start(db: &Path, env: &[(&str, &str)]) -> Serve {
        let mut cmd = lockbox(db);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let mut serve = Serve {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            stderr: Some(stderr),
        };
        // "Lockbox API listening on http://127.0.0.1:PORT/v1  (OpenAPI: ...)"
        let mut line = String::new();
        let n = BufReader::new(stdout).read_line(&mut line).unwrap();
        if n == 0 {
            let status = serve.child.wait().unwrap();
            panic!(
                "lockbox serve exited ({status}) instead of serving:\n{}",
                serve.stderr.take().unwrap().join().unwrap()
            );
        }
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        serve.addr = addr.parse().unwrap();
        serve
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -{name} failed");
    }

    /// Wait (bounded: 30 s) for the process to exit; its status and stderr.
    fn exit(mut self) -> (ExitStatus, String) {
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                let err = self.stderr.take().unwrap().join().unwrap();
                return (status, err);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("lockbox serve did not exit within 30 s of the signal");
    }
}

/// One HTTP/1.1 request on `stream` (kept alive); the status line and body.
fn send(stream: &mut TcpStream, method: &str, path: &str, token: &str, body: &str) {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: lockbox\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).unwrap();
    stream.flush().unwrap();
}

fn response(reader: &mut BufReader<TcpStream>) -> (String, String) {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut len = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    (status.trim().to_string(), String::from_utf8(body).unwrap())
}

const FILE: &str = r#"{"engineer":"eng.alex","case":"SR-9","workload":"Exchange Online","resource":"Mailbox: cfo@contoso.example","reason":"Calendar sync broken","duration":"1h"}"#;

/// SIGTERM while a request is in flight: the request is held inside the
/// server (it waits for the store's write lock, which the test holds), the
/// signal comes, new connections are refused, the lock is released, the held
/// request is answered 201 and stored, and the process exits 0.
#[test]
fn sigterm_answers_the_request_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let token = issue_token(&db);
    let serve = Serve::start(&db, &[]);

    // A connection the server has accepted and served (keep-alive).
    let mut stream = TcpStream::connect(serve.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    send(&mut stream, "GET", "/readyz", &token, "");
    assert_eq!(response(&mut reader).0, "HTTP/1.1 200 OK");

    // Hold the store's write lock: filing a request waits for it (the
    // store's busy timeout is 15 s, far longer than this test holds it).
    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    send(&mut stream, "POST", "/v1/requests", &token, FILE);
    // Let the server read the request off the connection it is serving.
    std::thread::sleep(Duration::from_millis(500));
    serve.signal("TERM");

    // The listener closes: a new connection is refused (bounded wait).
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(serve.addr).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(refused, "still accepting connections after SIGTERM");

    other.execute_batch("ROLLBACK").unwrap();
    let (status, body) = response(&mut reader);
    assert_eq!(status, "HTTP/1.1 201 Created", "{body}");
    let filed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (exit, stderr) = serve.exit();
    assert!(exit.success(), "exit {exit}; stderr:\n{stderr}");
    assert!(
        stderr.contains("shutting down") && stderr.contains("SIGTERM"),
        "{stderr}"
    );
    // Text logs by default: not JSON.
    let first = stderr.lines().next().unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(first).is_err(),
        "{first}"
    );

    // What was answered was stored.
    let out = lockbox(&db)
        .args(["request", "show", filed["id"].as_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["case"], "SR-9", "{shown}");
}

/// SIGINT (Ctrl-C) stops it the same way, and with `LOCKBOX_LOG_FORMAT=json`
/// every log line is one JSON object with a level and fields.
#[test]
fn sigint_exits_0_and_json_logs_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let serve = Serve::start(&db, &[("LOCKBOX_LOG_FORMAT", "json")]);
    let mut stream = TcpStream::connect(serve.addr).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    send(&mut stream, "GET", "/healthz", "none", "");
    assert_eq!(
        response(&mut reader),
        ("HTTP/1.1 200 OK".into(), r#"{"status":"ok"}"#.into())
    );
    drop((stream, reader));
    let addr = serve.addr;
    serve.signal("INT");
    let (exit, stderr) = serve.exit();
    assert!(exit.success(), "exit {exit}; stderr:\n{stderr}");

    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for l in &lines {
        assert!(l["level"].is_string() && l["fields"].is_object(), "{l}");
    }
    let listening = lines
        .iter()
        .find(|l| l["fields"]["message"] == "Lockbox API listening")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["fields"]["addr"], addr.to_string());
    assert!(
        lines.iter().any(|l| l["fields"]["signal"] == "SIGINT"),
        "{stderr}"
    );
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "stopped"),
        "{stderr}"
    );
}
