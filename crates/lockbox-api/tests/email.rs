//! Approver email against a real SMTP server (Python's aiosmtpd, started by
//! the test): the message arrives with the case number and no link; with the
//! server down the send is retried with backoff and reported, and the
//! transition is not blocked; after a restart nothing is sent twice.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::{NewRequest, Role};
use lockbox_core::store::SmtpRow;
use lockbox_core::testing::real_clock;
use lockbox_core::Principal;
use lockbox_core::{mail, Clock, Engine, ManualClock};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;

struct Smtp {
    child: Child,
    maildir: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The project's Python (`make py-deps`): `LOCKBOX_PYTHON`, else the
/// workspace's `.venv/bin/python3`.
fn python() -> std::path::PathBuf {
    std::env::var_os("LOCKBOX_PYTHON")
        .filter(|p| !p.is_empty())
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python3"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// The child is owned by `Smtp` at once, whose Drop kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start_smtp(port: u16, maildir: &Path) -> Smtp {
    let child = real_clock(python())
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir)
        .spawn()
        .expect("python3 with aiosmtpd: run `make py-deps`");
    // Wait until it accepts connections (bounded).
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Smtp {
                child,
                maildir: maildir.to_path_buf(),
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("aiosmtpd did not start on port {port}");
}

fn messages(maildir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(maildir.join(sub)) {
            for e in rd {
                out.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
            }
        }
    }
    out
}

fn open(db: &Path, clock: &ManualClock) -> Engine {
    Engine::open(db, Arc::new(clock.clone()), "root").unwrap()
}

#[test]
fn approver_email_is_sent_once_retried_when_down_and_never_blocks() {
    // A real SMTP server is part of this test: without it the test fails.
    let py = python();
    assert!(
        real_clock(&py)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success()),
        "{} cannot import aiosmtpd: run `make py-deps` (installs tests/python/requirements.txt into .venv)",
        py.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let maildir = dir.path().join("mail");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap());
    let mut e = open(&db, &clock);
    e.add_user(
        "default",
        &Principal::os_user("root", 0),
        "alice",
        Role::Approver,
        Some("alice@contoso.example"),
    )
    .unwrap();
    e.add_user(
        "default",
        &Principal::os_user("root", 0),
        "bob",
        Role::Admin,
        Some("bob@contoso.example"),
    )
    .unwrap();
    let port = free_port();
    e.set_smtp(
        "default",
        &Principal::os_user("root", 0),
        Some(SmtpRow {
            host: "127.0.0.1".into(),
            port,
            security: "none".into(),
            username: None,
            password: None,
            from_address: "lockbox@contoso.example".into(),
        }),
    )
    .unwrap();

    // Server down: the transition still happens; the email fails and is scheduled for retry.
    let file = |e: &mut Engine, case: &str| {
        let r = e
            .file_request(
                "default",
                &NewRequest {
                    engineer: "eng.alex".into(),
                    case: case.into(),
                    workload: "SharePoint Online".into(),
                    resource: "https://contoso.sharepoint.com/sites/Legal".into(),
                    reason: "Repair the library view; see http://example.com/kb".into(),
                    duration_s: Some(3600),
                },
            )
            .unwrap();
        e.provider_approve("default", &r.id, "mgr.sam", None)
            .unwrap()
    };
    let r1 = file(&mut e, "SR-5001");
    assert_eq!(
        r1.state.as_str(),
        "pending",
        "the transition is not blocked by email"
    );
    let (sent, failed) = mail::deliver_all(&mut e).unwrap();
    assert_eq!((sent, failed), (0, 1));
    let status = e.email_deliveries("default", 10).unwrap();
    assert_eq!(status[0].outcome, "failed");
    assert!(
        status[0].detail.as_deref().unwrap().contains("SMTP"),
        "{:?}",
        status[0].detail
    );
    let retry_at = status[0].next_attempt_at.expect("a retry is scheduled");
    assert_eq!(retry_at, clock.now() + mail::backoff(1));
    // Not before its time.
    assert_eq!(mail::deliver_all(&mut e).unwrap(), (0, 0));

    // The server comes up; at the retry time the email goes out, once, to both approvers.
    let smtp = start_smtp(port, &maildir);
    clock.set(retry_at);
    assert_eq!(mail::deliver_all(&mut e).unwrap(), (1, 0));
    let msgs = messages(&smtp.maildir);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert!(m.contains("SR-5001"), "case number in the message:\n{m}");
    // Dotted names are defanged (a mail client links bare host names).
    assert!(
        m.contains("eng[.]alex") && m.contains("SharePoint Online"),
        "{m}"
    );
    assert!(
        m.contains("alice@contoso.example") && m.contains("bob@contoso.example"),
        "{m}"
    );
    assert!(
        !m.to_ascii_lowercase().contains("http"),
        "no links in the message:\n{m}"
    );
    let status = e.email_deliveries("default", 10).unwrap();
    assert_eq!(
        (status[0].outcome.as_str(), status[0].attempts),
        ("sent", 2)
    );

    // A second request: sent at once.
    file(&mut e, "SR-5002");
    assert_eq!(mail::deliver_all(&mut e).unwrap(), (1, 0));
    assert_eq!(messages(&smtp.maildir).len(), 2);

    // Restart: nothing is sent twice.
    drop(e);
    let mut e = open(&db, &clock);
    clock.advance(Duration::minutes(10));
    assert_eq!(mail::deliver_all(&mut e).unwrap(), (0, 0));
    assert_eq!(messages(&smtp.maildir).len(), 2);
    drop(smtp);
}
