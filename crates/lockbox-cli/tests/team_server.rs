//! The team server end to end (issue 13's scenario): a real PostgreSQL
//! server, two `lockbox serve` instances on it and a real SMTP server
//! (aiosmtpd, delivering to a Maildir). 300 short-lived requests are filed
//! over the API across 50 tenants, half through each instance; while they
//! wait to expire, one instance is killed with SIGKILL twice (and started
//! again). Then: 300 `expired` entries, one per request; one email per
//! request and approver; every chain verifies; and `store copy` to a SQLite
//! file verifies with the same heads. An email claimed by the killed
//! instance but not sent is sent by a survivor once its claim's lease ends.
//!
//! The instances run on the real clock (`lockbox serve` refuses a pinned
//! one), so this test waits for real time to pass: the requests live 20 s.

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TENANTS: usize = 50;
const PER_TENANT: usize = 6;
const LIFETIME: &str = "20s";

struct Team {
    url: String,
    key: PathBuf,
    dir: tempfile::TempDir,
}

impl Team {
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lockbox"));
        c.env("LOCKBOX_STORE", &self.url)
            .env("LOCKBOX_RECEIPT_KEY", &self.key)
            .env_remove("LOCKBOX_NOW")
            .env_remove("LOCKBOX_DB")
            .env_remove("LOCKBOX_TENANT");
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let o = self.cmd().args(args).output().unwrap();
        assert!(
            o.status.success(),
            "lockbox {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn serve(&self, port: u16, name: &str) -> Child {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        self.cmd()
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--rate",
                "1000",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_ready(http: &reqwest::blocking::Client, port: u16) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = http.get(format!("http://127.0.0.1:{port}/readyz")).send() {
            if r.status().is_success() {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("lockbox serve on port {port} did not become ready");
}

/// aiosmtpd delivering every message into a Maildir (no login).
fn start_smtp(dir: &Path) -> (Child, u16, PathBuf) {
    let port = free_port();
    let maildir = dir.join("mail");
    let script = r#"
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
c = Controller(Mailbox(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
while True:
    time.sleep(60)
"#;
    let mut child = common::real_clock(common::python())
        .args(["-c", script, &port.to_string()])
        .arg(&maildir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "aiosmtpd did not start (make py-deps)"
    );
    (child, port, maildir)
}

fn count(url: &str, sql: &str) -> i64 {
    let url = url.to_string();
    let sql = sql.to_string();
    std::thread::spawn(move || {
        postgres::Client::connect(&url, postgres::NoTls)
            .unwrap()
            .query_one(&sql, &[])
            .unwrap()
            .get(0)
    })
    .join()
    .unwrap()
}

#[test]
fn two_instances_expire_300_requests_exactly_once_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let team = Team {
        url: lockbox_core::testing::new_database(),
        key: dir.path().join("receipts.key"),
        dir,
    };
    let (mut smtp, smtp_port, maildir) = start_smtp(team.dir.path());

    // 50 tenants, each with one approver who has an email address, mail
    // through the test server, requests that need no provider approval and
    // live 20 s, no reminders; a provider token each.
    let mut tokens = Vec::new();
    for i in 0..TENANTS {
        let t = format!("t{i:02}");
        team.run(&["tenant", "add", &t]);
        let tt = ["--tenant", t.as_str()];
        for (k, v) in [
            ("request-lifetime", LIFETIME),
            ("provider-approvals-required", "0"),
            ("reminder-lead", "off"),
        ] {
            team.run(&[&tt[..], &["settings", "set", k, v]].concat());
        }
        let email = format!("approver-{t}@example.test");
        team.run(
            &[
                &tt[..],
                &[
                    "user", "add", "approver", "--role", "approver", "--email", &email,
                ],
            ]
            .concat(),
        );
        team.run(
            &[
                &tt[..],
                &[
                    "smtp",
                    "set",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &smtp_port.to_string(),
                    "--security",
                    "none",
                    "--from",
                    "lockbox@example.test",
                ],
            ]
            .concat(),
        );
        let v: Value = serde_json::from_str(
            &team.run(
                &[
                    &tt[..],
                    &["--json", "token", "issue", "--name", "ticketing"],
                ]
                .concat(),
            ),
        )
        .unwrap();
        tokens.push((t, v["token"].as_str().unwrap().to_string()));
    }

    let (pa, pb) = (free_port(), free_port());
    let mut a = team.serve(pa, "a");
    let mut b = team.serve(pb, "b");
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, pa);
    wait_ready(&http, pb);

    // 300 requests, alternately through each instance.
    let mut filed: BTreeMap<String, String> = BTreeMap::new();
    for n in 0..TENANTS * PER_TENANT {
        let (t, token) = &tokens[n % TENANTS];
        let port = if n % 2 == 0 { pa } else { pb };
        let r = http
            .post(format!("http://127.0.0.1:{port}/v1/requests"))
            .bearer_auth(token)
            .json(
                &json!({"engineer": format!("eng{n}"), "case": format!("SR-{n}"),
                          "workload": "Exchange Online", "resource": "mailbox",
                          "reason": "support case", "duration": "1h"}),
            )
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());
        let v: Value = r.json().unwrap();
        assert_eq!(v["state"], "pending", "{v}");
        filed.insert(v["id"].as_str().unwrap().to_string(), t.clone());
    }
    assert_eq!(filed.len(), TENANTS * PER_TENANT);

    // Kill instance A twice while the requests wait and expire, restarting it.
    for pause in [5, 12] {
        std::thread::sleep(Duration::from_secs(pause));
        a.kill().unwrap(); // SIGKILL
        a.wait().unwrap();
        a = team.serve(pa, "a-again");
        wait_ready(&http, pa);
    }

    // Every request expires (20 s after filing; both instances sweep).
    let t = Instant::now();
    let total = (TENANTS * PER_TENANT) as i64;
    while count(
        &team.url,
        "SELECT count(*) FROM audit_log WHERE operation = 'expired'",
    ) < total
        && t.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    // And every new-request email is out: one pass every few seconds on each
    // instance; an email a killed instance had claimed but not sent is
    // claimed again once its lease (`mail::CLAIM_LEASE`, 2 min) is over.
    while count(
        &team.url,
        "SELECT count(*) FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
         WHERE d.channel = 'email' AND n.kind = 'pending' AND d.outcome = 'sent'",
    ) < total
        && t.elapsed() < Duration::from_secs(300)
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    for c in [&mut a, &mut b] {
        nix_term(c);
    }

    assert_eq!(
        count(
            &team.url,
            "SELECT count(*) FROM audit_log WHERE operation = 'expired'"
        ),
        total,
        "one expired entry per request"
    );
    assert_eq!(
        count(
            &team.url,
            "SELECT count(DISTINCT request_id) FROM audit_log WHERE operation = 'expired'"
        ),
        total,
        "no request expired twice"
    );
    assert_eq!(
        count(
            &team.url,
            "SELECT count(*) FROM requests WHERE state = 'expired'"
        ),
        total
    );

    // One email per request and approver: each names its request once.
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for entry in std::fs::read_dir(maildir.join("new")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let to = text
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or_default()
            .to_string();
        let id = filed
            .keys()
            .find(|id| text.contains(id.as_str()))
            .cloned()
            .unwrap_or_else(|| panic!("an email that names no filed request:\n{text}"));
        *seen.entry((id, to)).or_default() += 1;
    }
    // Exactly once is not possible over SMTP: an instance killed after the
    // server took a message and before it recorded it as sent leaves a claim
    // that is sent again after its lease. So: at most one duplicate per kill,
    // each of an email that was claimed again (attempts > 1), never more.
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.len() <= 2 && dups.iter().all(|(_, n)| **n == 2),
        "emails sent twice: {dups:?}"
    );
    for ((id, _), _) in &dups {
        let reclaimed = count(
            &team.url,
            &format!(
                "SELECT count(*) FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
                 WHERE d.channel = 'email' AND n.request_id = '{id}' AND d.attempts > 1"
            ),
        );
        assert_eq!(
            reclaimed, 1,
            "{id} was emailed twice without a re-claimed lease"
        );
    }
    let ids: BTreeSet<&String> = seen.keys().map(|(id, _)| id).collect();
    assert_eq!(
        ids.len(),
        filed.len(),
        "every request's approver was emailed once"
    );
    for (id, to) in seen.keys() {
        assert_eq!(to, &format!("approver-{}@example.test", filed[id]));
    }

    // The chains verify; a copy to SQLite verifies with the same heads.
    let v: Value = serde_json::from_str(&team.run(&["--json", "audit", "verify"])).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["chains"].as_array().unwrap().len(), TENANTS + 1);
    let copy = team.dir.path().join("copy/lockbox.db");
    let c: Value = serde_json::from_str(&team.run(&[
        "--json",
        "store",
        "copy",
        "--from",
        &team.url,
        "--to",
        copy.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(c["identical"], true, "{c}");
    let o = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["--db", copy.to_str().unwrap(), "--json", "audit", "verify"])
        .env_remove("LOCKBOX_STORE")
        .output()
        .unwrap();
    let vc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(vc["chains"], v["chains"], "same heads on SQLite");
    let _ = smtp.kill();
    let _ = smtp.wait();
}

/// SIGTERM, and wait.
fn nix_term(c: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    let _ = c.wait();
}
