//! The command table (`lockbox_core::commands`) says of each command who may
//! call it and whether it writes. These tests hold the engine to it: every
//! engine command is called with sample arguments as an admin, an approver
//! and someone of no tenant, and
//! - an `Admin` command is refused (`not_permitted`) for an approver;
//! - an `Approver` command is refused for someone of no tenant, done for an approver;
//! - a `Read` command leaves the audit log as it was;
//! - a command with arguments it does not know is `invalid_input`, nothing changed.
//!
//! A new engine command without a sample here fails the first test.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::commands::{call_blocking, Access, Caller, Runs, Who, COMMANDS};
use lockbox_core::model::{NewRequest, Role};
use lockbox_core::{Engine, ErrorCode, ManualClock, Principal};
use serde_json::{json, Value};
use std::sync::Arc;

fn caller(name: &str, uid: u32) -> Caller {
    Caller {
        principal: Principal::os_user(name, uid),
        archive: None,
    }
}

struct World {
    _dir: tempfile::TempDir,
    e: Engine,
    pending: Vec<String>,
    approved: String,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap());
    let mut e = Engine::open(&dir.path().join("lockbox.db"), Arc::new(clock), "root").unwrap();
    let root = Principal::os_user("root", 0);
    e.add_user("default", &root, "ann", Role::Approver, None)
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        let r = e
            .file_request(
                "default",
                &NewRequest {
                    engineer: format!("eng{i}"),
                    case: format!("SR-{i}"),
                    workload: "Exchange Online".into(),
                    resource: "mbx".into(),
                    reason: "fix".into(),
                    duration_s: Some(3600),
                },
            )
            .unwrap();
        e.provider_approve("default", &r.id, "mgr", None).unwrap();
        ids.push(r.id);
    }
    let approved = ids.pop().unwrap();
    e.approve("default", &approved, &root, None, None).unwrap();
    World {
        _dir: dir,
        e,
        pending: ids,
        approved,
    }
}

/// Arguments that a permitted caller can run successfully.
fn sample(name: &str, w: &World) -> Option<Value> {
    let t = "default";
    let settings = json!({"lockbox_enabled": true, "request_lifetime_s": 43200, "max_access_duration_s": 14400,
        "approvals_required": 1, "provider_approvals_required": 1, "reminder_lead_s": null});
    Some(match name {
        "session" | "verify_audit" => json!({}),
        "boot" => {
            json!({"tenant": t, "requests": {"states": null, "search": null, "sort": null, "limit": 5, "cursor": null}})
        }
        "list_requests" => {
            json!({"tenant": t, "query": {"states": null, "search": null, "sort": null, "limit": 5, "cursor": null}})
        }
        "get_request" | "request_audit" => json!({"tenant": t, "id": w.pending[0]}),
        "approve_request" => {
            json!({"tenant": t, "id": w.pending[0], "comment": null, "durationS": null})
        }
        "reject_request" => json!({"tenant": t, "id": w.pending[1], "comment": "no"}),
        "revoke_request" => json!({"tenant": t, "id": w.approved, "comment": null}),
        "get_settings" | "list_users" | "home_stats" | "list_tokens" | "get_smtp"
        | "email_status" => {
            json!({"tenant": t})
        }
        "update_settings" => json!({"tenant": t, "settings": settings}),
        "add_user" => json!({"tenant": t, "name": "bob", "role": "approver", "email": null}),
        "remove_user" => json!({"tenant": t, "name": "ann"}),
        "query_audit" => {
            json!({"tenant": t, "query": {"since": null, "until": null, "request_id": null, "actor": null,
            "operation": null, "text": null, "before_seq": null, "limit": 10}})
        }
        "issue_token" => json!({"tenant": t, "name": "acme", "expiresS": null}),
        "revoke_token" => json!({"tenant": t, "name": "acme"}),
        "replica_page" => json!({"tenant": t, "since": 0, "after": 0, "limit": 10}),
        _ => return None,
    })
}

fn run(w: &mut World, who: &Caller, name: &str, args: Value) -> Result<Value, lockbox_core::Error> {
    call_blocking(&mut w.e, who, name, args).expect("an engine command")
}

#[test]
fn every_engine_command_has_a_sample_and_runs_for_an_admin() {
    let engine: Vec<_> = COMMANDS.iter().filter(|c| c.runs == Runs::Engine).collect();
    assert!(engine.len() >= 20, "{}", engine.len());
    for c in engine {
        let mut w = world();
        let token_args = sample("issue_token", &w).unwrap();
        if c.name == "revoke_token" {
            run(&mut w, &caller("root", 0), "issue_token", token_args).unwrap();
        }
        let args =
            sample(c.name, &w).unwrap_or_else(|| panic!("no sample arguments for {}", c.name));
        let before = w.e.audit_len().unwrap();
        let out = run(&mut w, &caller("root", 0), c.name, args);
        assert!(out.is_ok(), "{} as an admin: {out:?}", c.name);
        let after = w.e.audit_len().unwrap();
        match c.access {
            Access::Read => assert_eq!(
                before, after,
                "{} is declared Read but wrote the audit log",
                c.name
            ),
            Access::Write => assert!(
                after > before,
                "{} is declared Write but audited nothing",
                c.name
            ),
        }
    }
}

#[test]
fn who_may_call_each_command_is_what_the_table_says() {
    let (ann, nobody) = (caller("ann", 1001), caller("mallory", 1002));
    let mut checked = 0;
    for c in COMMANDS.iter().filter(|c| c.runs == Runs::Engine) {
        let mut w = world();
        let args = sample(c.name, &w).unwrap();
        match c.role {
            Who::Admin => {
                let err = run(&mut w, &ann, c.name, args).unwrap_err();
                assert_eq!(
                    err.code,
                    ErrorCode::NotPermitted,
                    "{} as an approver: {err:?}",
                    c.name
                );
            }
            Who::Approver => {
                let err = run(&mut w, &nobody, c.name, args.clone()).unwrap_err();
                assert_eq!(
                    err.code,
                    ErrorCode::NotPermitted,
                    "{} by someone of no tenant: {err:?}",
                    c.name
                );
                assert!(
                    run(&mut w, &ann, c.name, args).is_ok(),
                    "{} as an approver",
                    c.name
                );
            }
            Who::Member | Who::Anyone => {
                assert!(
                    run(&mut w, &ann, c.name, args).is_ok(),
                    "{} as an approver",
                    c.name
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 20);
}

#[test]
fn unknown_or_missing_arguments_are_invalid_input_and_change_nothing() {
    let mut w = world();
    let before = w.e.audit_len().unwrap();
    let root = caller("root", 0);
    let typo =
        json!({"tenant": "default", "id": w.pending[0], "coment": "typo", "durationS": null});
    let err = run(&mut w, &root, "approve_request", typo).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput, "{err:?}");
    assert!(
        err.message.contains("approve_request") && err.message.contains("coment"),
        "{}",
        err.message
    );
    let err = run(&mut w, &root, "get_request", json!({"tenant": "default"})).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput, "{err:?}");
    assert!(err.message.contains("id"), "{}", err.message);
    assert_eq!(w.e.audit_len().unwrap(), before);
    // Shell commands and unknown names are not the engine's.
    assert!(call_blocking(&mut w.e, &root, "set_prefs", json!({})).is_none());
    assert!(call_blocking(&mut w.e, &root, "no_such_command", json!({})).is_none());
}
