//! Clock: with no scheduler running, and with the wall clock moved back,
//! access is denied after `access_ends_at` and a pending request past
//! `expires_at` cannot be approved — decided from stored deadlines only.
//! The CLI's clock is pinned with LOCKBOX_NOW, and moved with libfaketime
//! (`faketime`, from Debian's faketime package) for the real wall clock.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use lockbox_core::model::{NewRequest, State};
use lockbox_core::Principal;
use lockbox_core::{Engine, ErrorCode, ManualClock, Time};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn t0() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
}

fn new_request() -> NewRequest {
    NewRequest {
        engineer: "eng".into(),
        case: "SR-1".into(),
        workload: "Teams".into(),
        resource: "team".into(),
        reason: "clock".into(),
        duration_s: Some(3600),
    }
}

/// The stored row, read without the engine (so nothing is swept on the way).
fn stored_state(db: &Path, id: &str) -> String {
    load(db)[id].state.clone()
}

#[test]
fn engine_decides_from_stored_deadlines_with_no_sweep_and_a_clock_moved_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let clock = ManualClock::new(t0());
    let mut e = Engine::open(&db, Arc::new(clock.clone()), "root").unwrap();
    let granted = e.file_request("default", &new_request()).unwrap();
    e.provider_approve("default", &granted.id, "mgr", None)
        .unwrap();
    let granted = e
        .approve(
            "default",
            &granted.id,
            &Principal::os_user("root", 0),
            None,
            Some(1800),
        )
        .unwrap();
    let ends = granted.access_ends_at.unwrap();
    let pending = e.file_request("default", &new_request()).unwrap();
    e.provider_approve("default", &pending.id, "mgr", None)
        .unwrap();
    assert!(e.check_access("default", &granted.id).unwrap().allowed);

    // Time passes both deadlines; no scheduler, no sweep.
    clock.set(pending.expires_at + Duration::seconds(1));
    let d = e.check_access("default", &granted.id).unwrap();
    assert!(!d.allowed, "{}", d.reason);
    assert_eq!(
        stored_state(&db, &granted.id),
        "approved",
        "nothing swept it"
    );
    assert_eq!(
        stored_state(&db, &pending.id),
        "pending",
        "nothing swept it"
    );
    let err = e
        .log_access("default", &granted.id, "eng", "Read")
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::AccessDenied);
    // approve() applies what is due first, so the request is seen expired.
    let err = e
        .approve(
            "default",
            &pending.id,
            &Principal::os_user("root", 0),
            None,
            None,
        )
        .unwrap_err();
    assert!(
        matches!(
            err.code,
            ErrorCode::RequestExpired | ErrorCode::InvalidTransition
        ),
        "{err:?}"
    );
    assert_eq!(
        e.request("default", &pending.id).unwrap().state,
        State::Expired
    );
    assert_eq!(
        e.request("default", &granted.id).unwrap().state,
        State::Completed
    );

    // The wall clock moves back to before both deadlines: still denied, still expired.
    clock.set(ends - Duration::minutes(20));
    assert!(!e.check_access("default", &granted.id).unwrap().allowed);
    assert!(e
        .approve(
            "default",
            &pending.id,
            &Principal::os_user("root", 0),
            None,
            None
        )
        .is_err());
    assert!(e.log_access("default", &granted.id, "eng", "Read").is_err());
    assert_eq!(
        e.request("default", &granted.id).unwrap().state,
        State::Completed
    );
}

#[test]
fn the_machine_refuses_a_late_approval_even_if_nobody_swept() {
    // The pure machine, given a pending request past its expiry, refuses.
    let clock = ManualClock::new(t0());
    let mut e = lockbox_core::testing::engine(Arc::new(clock.clone()), "root").unwrap();
    let r = e.file_request("default", &new_request()).unwrap();
    let r = e.provider_approve("default", &r.id, "mgr", None).unwrap();
    let late = r.expires_at + Duration::milliseconds(1);
    let ev = lockbox_core::machine::Event::Approve {
        approver: "root".into(),
        role: Some(lockbox_core::model::Role::Admin),
        comment: None,
        duration_s: None,
    };
    let err = lockbox_core::machine::step(&r, &ev, late).unwrap_err();
    assert_eq!(err.code, ErrorCode::RequestExpired);
    assert!(!lockbox_core::machine::access(&r, late).allowed);
}

/// File, provider-approve and approve (30 min) at `t`, plus a second request left pending.
fn cli_setup(db: &Path, t: &str) -> (String, String) {
    let file = |now: &str| -> String {
        let mut c = lockbox(db, Some(now));
        c.args([
            "--json",
            "request",
            "new",
            "--engineer",
            "eng",
            "--case",
            "SR-1",
            "--workload",
            "Teams",
            "--resource",
            "team",
            "--reason",
            "clock",
            "--duration",
            "1h",
        ]);
        let o = run(c);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["id"].as_str().unwrap().to_string()
    };
    let ok = |args: &[&str]| {
        let mut c = lockbox(db, Some(t));
        c.args(args);
        let o = run(c);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    };
    let a = file(t);
    ok(&["--as", "mgr", "request", "provider-approve", &a]);
    ok(&["request", "approve", &a, "--duration", "30m"]);
    let b = file(t);
    ok(&["--as", "mgr", "request", "provider-approve", &b]);
    (a, b)
}

#[test]
fn cli_with_a_pinned_clock_denies_after_the_end_and_refuses_late_approval() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let (a, b) = cli_setup(&db, "2026-11-29T08:00:00Z");
    let at = |now: &str, args: &[&str]| {
        let mut c = lockbox(&db, Some(now));
        c.args(args);
        run(c)
    };
    // Within the window: allowed (exit 0).
    assert_eq!(
        at("2026-11-29T08:10:00Z", &["access", "check", &a])
            .status
            .code(),
        Some(0)
    );
    // After access_ends_at: denied (exit 1) and a use is refused.
    let o = at("2026-11-29T08:31:00Z", &["access", "check", &a]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = at(
        "2026-11-29T08:31:00Z",
        &["--as", "eng", "access", "log", &a, "--action", "Read"],
    );
    assert_eq!(o.status.code(), Some(1));
    // Past expires_at (12 h): the pending request cannot be approved.
    let o = at("2026-11-29T20:00:01Z", &["request", "approve", &b]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // The clock moves back: still denied, still not approvable.
    assert_eq!(
        at("2026-11-29T08:10:00Z", &["access", "check", &a])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        at("2026-11-29T08:10:00Z", &["request", "approve", &b])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(stored_state(&db, &a), "completed");
    assert_eq!(stored_state(&db, &b), "expired");
    assert_eq!(verify(&db).0, 0);
}

/// `faketime` for a child, without any libfaketime this test itself runs
/// under (`make test-rust-future` runs the suite with the clock a year
/// ahead): nested libfaketime stacks the offsets (2031 came out as 2030).
fn faketime() -> Command {
    let mut c = Command::new("faketime");
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("FAKETIME") || k == "LD_PRELOAD" || k == "DONT_FAKE_MONOTONIC" {
            c.env_remove(&*k);
        }
    }
    c
}

fn faketime_works() -> bool {
    faketime()
        .args(["2031-01-02 03:04:05", "date", "-u", "+%Y"])
        .env("TZ", "UTC")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "2031")
}

#[test]
fn cli_under_libfaketime_with_the_wall_clock_moved_back() {
    assert!(
        faketime_works(),
        "`faketime` (libfaketime) is not installed or does not work here: run `make deps` \
         (.ci/install-deps installs the faketime package)"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    // Built with a pinned clock at a known time, then used with the *wall* clock
    // faked by libfaketime (no LOCKBOX_NOW).
    let (a, b) = cli_setup(&db, "2026-11-29T08:00:00Z");
    let wall = |when: &str, args: &[&str]| {
        let mut c = faketime();
        c.arg(when)
            .arg(lockbox_bin())
            .env("TZ", "UTC")
            .env("LOCKBOX_DB", &db)
            .env("USER", "root")
            .env_remove("LOCKBOX_NOW")
            .args(args);
        c.output().unwrap()
    };
    let o = wall("2026-11-29 08:10:00", &["access", "check", &a]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = wall("2026-11-29 20:30:00", &["access", "check", &a]);
    assert_eq!(o.status.code(), Some(1));
    let o = wall("2026-11-29 20:30:00", &["request", "approve", &b]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // Wall clock set back into both windows.
    let o = wall("2026-11-29 08:15:00", &["access", "check", &a]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = wall(
        "2026-11-29 08:15:00",
        &["--as", "eng", "access", "log", &a, "--action", "Read"],
    );
    assert_eq!(o.status.code(), Some(1));
    let o = wall("2026-11-29 08:15:00", &["request", "approve", &b]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stored_state(&db, &a), "completed");
    assert_eq!(stored_state(&db, &b), "expired");
    assert_eq!(verify(&db).0, 0);
}
