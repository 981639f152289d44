//! Every IPC command through Tauri's mock runtime (no window, no display),
//! with the same handler list as the real app: a happy path and an error path.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::{Engine, ManualClock};
use serde_json::{json, Value};
use std::sync::Arc;

mod common;

struct Fixture {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    app: common::Window,
    state: lockbox_app::state::AppState,
    pending: Vec<String>,
    approved: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    // A fixed instant: nothing here depends on the real date.
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap());
    let mut engine = Engine::open(&path.join("lockbox.db"), Arc::new(clock), "root").unwrap();
    let (pending, approved) = common::three_requests(&mut engine);
    let state = lockbox_app::state::AppState::new(
        engine,
        lockbox_core::Principal::os_user("root", 0),
        path.join("app-prefs.json"),
    );
    Fixture {
        _dir: dir,
        dir: path,
        app: common::Window::new(state.clone()),
        state,
        pending,
        approved,
    }
}

impl Fixture {
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.app.call(cmd, args)
    }
    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.app.ok(cmd, args)
    }
    fn err(&self, cmd: &str, args: Value, code: &str) -> String {
        self.app.err(cmd, args, code)
    }
}

#[test]
fn session_lists_the_users_tenants() {
    let f = fixture();
    let s = f.ok("session", json!({}));
    assert_eq!(s["user"], "root");
    assert_eq!(s["role"], "admin");
    assert_eq!(s["tenants"][0]["id"], "default");
}

#[test]
fn boot_returns_the_session_and_the_first_page_in_one_call() {
    let f = fixture();
    let query = json!({"states": ["pending"], "search": null, "sort": "newest", "cursor": null, "limit": 20});
    let b = f.ok("boot", json!({"tenant": "default", "requests": query}));
    assert_eq!(b["session"], f.ok("session", json!({})));
    assert_eq!(b["tenant"], "default");
    // The same page list_requests gives for that query.
    assert_eq!(
        b["requests"],
        f.ok(
            "list_requests",
            json!({"tenant": "default", "query": query})
        )
    );
    assert_eq!(b["requests"]["total"], 2);
    // An unknown (or foreign) tenant hint falls back to the user's first tenant.
    let b = f.ok("boot", json!({"tenant": "elsewhere", "requests": query}));
    assert_eq!(b["tenant"], "default");
    assert_eq!(b["requests"]["total"], 2);
    // Pages other than Service requests only need the session.
    let b = f.ok("boot", json!({"tenant": null, "requests": null}));
    assert_eq!(b["tenant"], "default");
    assert!(b["requests"].is_null());
    f.err(
        "boot",
        json!({"tenant": null, "requests": {"cursor": "garbage"}}),
        "invalid_input",
    );
}

#[test]
fn requests_list_get_and_audit() {
    let f = fixture();
    let page = f.ok(
        "list_requests",
        json!({"tenant": "default", "query": {"states": ["pending"], "limit": 1}}),
    );
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_string());
    let next = f.ok("list_requests", json!({"tenant": "default", "query": {"states": ["pending"], "cursor": page["next_cursor"]}}));
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    f.err(
        "list_requests",
        json!({"tenant": "nope", "query": {}}),
        "not_found",
    );
    f.err(
        "list_requests",
        json!({"tenant": "default", "query": {"cursor": "garbage"}}),
        "invalid_input",
    );
    let r = f.ok(
        "get_request",
        json!({"tenant": "default", "id": f.pending[0]}),
    );
    assert_eq!(r["state"], "pending");
    f.err(
        "get_request",
        json!({"tenant": "default", "id": "missing"}),
        "not_found",
    );
    let audit = f.ok(
        "request_audit",
        json!({"tenant": "default", "id": f.approved}),
    );
    let ops: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["request_created", "provider_approved", "approved"]);
    f.err(
        "request_audit",
        json!({"tenant": "nope", "id": f.approved}),
        "not_found",
    );
}

#[test]
fn decisions_approve_reject_revoke() {
    let f = fixture();
    let r = f.ok(
        "approve_request",
        json!({"tenant": "default", "id": f.pending[0], "comment": "ok", "durationS": 1800}),
    );
    assert_eq!(r["state"], "approved");
    assert_eq!(r["granted_duration_s"], 1800);
    let msg = f.err(
        "approve_request",
        json!({"tenant": "default", "id": f.pending[0], "comment": null, "durationS": null}),
        "invalid_transition",
    );
    assert!(msg.contains("approved"), "{msg}");
    let r = f.ok(
        "reject_request",
        json!({"tenant": "default", "id": f.pending[1], "comment": "no"}),
    );
    assert_eq!(r["state"], "rejected");
    f.err(
        "reject_request",
        json!({"tenant": "default", "id": "missing", "comment": null}),
        "not_found",
    );
    let r = f.ok(
        "revoke_request",
        json!({"tenant": "default", "id": f.approved, "comment": "done"}),
    );
    assert_eq!(r["state"], "revoked");
    f.err(
        "revoke_request",
        json!({"tenant": "default", "id": f.pending[1], "comment": null}),
        "invalid_transition",
    );
}

#[test]
fn settings_and_prefs() {
    let f = fixture();
    let mut s = f.ok("get_settings", json!({"tenant": "default"}));
    assert_eq!(s["request_lifetime_s"], 43200);
    f.err("get_settings", json!({"tenant": "nope"}), "not_found");
    s["lockbox_enabled"] = json!(false);
    let saved = f.ok(
        "update_settings",
        json!({"tenant": "default", "settings": s}),
    );
    assert_eq!(saved["lockbox_enabled"], false);
    s["request_lifetime_s"] = json!(0);
    let msg = f.err(
        "update_settings",
        json!({"tenant": "default", "settings": s}),
        "invalid_input",
    );
    assert!(msg.contains("request-lifetime"), "{msg}");
    assert_eq!(
        f.ok("get_settings", json!({"tenant": "default"}))["request_lifetime_s"],
        43200,
        "unchanged"
    );
    let p = f.ok("get_prefs", json!({}));
    assert_eq!(
        p,
        json!({"notifications_enabled": true, "start_at_login": false})
    );
    let p = f.ok(
        "set_prefs",
        json!({"prefs": {"notifications_enabled": false, "start_at_login": false}}),
    );
    assert_eq!(p["notifications_enabled"], false);
    assert_eq!(f.ok("get_prefs", json!({}))["notifications_enabled"], false);
    assert!(std::fs::read_to_string(f.dir.join("app-prefs.json"))
        .unwrap()
        .contains("false"));
    // Unknown fields are refused by the DTO before anything is saved.
    assert!(f
        .call(
            "set_prefs",
            json!({"prefs": {"notifications_enabled": true, "start_at_login": false, "x": 1}})
        )
        .is_err());
    assert_eq!(f.ok("get_prefs", json!({}))["notifications_enabled"], false);
    let t = f.ok("tray_state", json!({}));
    // The pending requests (filed at one instant: newest first by id), each
    // an item that opens it.
    let mut items: Vec<(usize, &String)> = f.pending.iter().enumerate().collect();
    items.sort_by(|a, b| b.1.cmp(a.1));
    let items: Vec<Value> = items
        .into_iter()
        .map(|(i, id)| {
            json!({"label": format!("SR-{i} · eng{i} · Exchange Online"),
                   "route": format!("requests?request={id}&tenant=default")})
        })
        .collect();
    assert_eq!(
        t,
        json!({"pending": 2, "tooltip": "Lockbox — 2 pending", "notifications_enabled": false,
               "requests": items})
    );
}

#[test]
fn ui_shown_is_logged_and_answers_null() {
    let f = fixture();
    assert_eq!(
        f.ok("ui_shown", json!({"route": "requests?request=x"})),
        Value::Null
    );
}

#[test]
fn users() {
    let f = fixture();
    let u = f.ok("add_user", json!({"tenant": "default", "name": "alice", "role": "approver", "email": "alice@contoso.example"}));
    assert_eq!(u["role"], "approver");
    f.err(
        "add_user",
        json!({"tenant": "default", "name": "alice", "role": "approver", "email": null}),
        "already_exists",
    );
    f.err(
        "add_user",
        json!({"tenant": "default", "name": "bob", "role": "admin", "email": "not-an-email"}),
        "invalid_input",
    );
    let users = f.ok("list_users", json!({"tenant": "default"}));
    assert_eq!(users.as_array().unwrap().len(), 2);
    f.err("list_users", json!({"tenant": "nope"}), "not_found");
    assert_eq!(
        f.ok("remove_user", json!({"tenant": "default", "name": "alice"})),
        Value::Null
    );
    f.err(
        "remove_user",
        json!({"tenant": "default", "name": "alice"}),
        "not_found",
    );
}

#[test]
fn audit_query_export_verify_and_home() {
    let f = fixture();
    let page = f.ok(
        "query_audit",
        json!({"tenant": "default", "query": {"operation": "provider_approved", "limit": 2}}),
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["next_before_seq"].is_number());
    let rest = f.ok("query_audit", json!({"tenant": "default", "query": {"operation": "provider_approved", "before_seq": page["next_before_seq"]}}));
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    f.err(
        "query_audit",
        json!({"tenant": "default", "query": {"since": "yesterday"}}),
        "invalid_input",
    );
    let out = f.dir.join("export.csv");
    // The page may only write where the user chose in the save dialog.
    f.err(
        "export_audit",
        json!({"tenant": "default", "query": {}, "format": "csv", "path": out}),
        "not_permitted",
    );
    assert!(
        !out.exists(),
        "nothing written to a path the dialog did not return"
    );
    f.state.allow_export_path(out.clone());
    let n = f.ok("export_audit", json!({"tenant": "default", "query": {"operation": "request_created"}, "format": "csv", "path": out}));
    assert_eq!(n, 3);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().lines().count(),
        4,
        "header + 3 rows"
    );
    f.err(
        "export_audit",
        json!({"tenant": "default", "query": {}, "format": "xml", "path": out}),
        "invalid_input",
    );
    // A chosen path is good for one export only.
    f.err(
        "export_audit",
        json!({"tenant": "default", "query": {}, "format": "csv", "path": out}),
        "not_permitted",
    );
    let v = f.ok("verify_audit", json!({}));
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 10, "9 + receipt_key_created");
    let h = f.ok("home_stats", json!({"tenant": "default"}));
    assert_eq!(
        (h["pending"].as_u64(), h["active_grants"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(h["per_day"].as_array().unwrap().len(), 30);
    f.err("home_stats", json!({"tenant": "nope"}), "not_found");
}

#[test]
fn choose_export_path_checks_the_format_and_honours_the_test_answer() {
    let f = fixture();
    f.err(
        "choose_export_path",
        json!({"format": "xml"}),
        "invalid_input",
    );
    let want = f.dir.join("picked.csv");
    std::env::set_var("LOCKBOX_E2E_SAVE_PATH", &want);
    let got = f.ok("choose_export_path", json!({"format": "csv"}));
    std::env::remove_var("LOCKBOX_E2E_SAVE_PATH");
    assert_eq!(got, json!(want.display().to_string()));
}

#[test]
fn provider_connections_smtp_email_status_and_api_settings() {
    let f = fixture();
    let issued = f.ok(
        "issue_token",
        json!({"tenant": "default", "name": "acme", "expiresS": 3600}),
    );
    assert!(issued["secret"].as_str().unwrap().starts_with("lbx_"));
    assert_eq!(issued["token"]["active"], true);
    f.err(
        "issue_token",
        json!({"tenant": "default", "name": "acme", "expiresS": null}),
        "already_exists",
    );
    let list = f.ok("list_tokens", json!({"tenant": "default"}));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        list[0].get("secret").is_none(),
        "the secret is never listed"
    );
    f.err("list_tokens", json!({"tenant": "nope"}), "not_found");
    assert_eq!(
        f.ok("revoke_token", json!({"tenant": "default", "name": "acme"}))["active"],
        false
    );
    f.err(
        "revoke_token",
        json!({"tenant": "default", "name": "acme"}),
        "invalid_transition",
    );

    assert_eq!(f.ok("get_smtp", json!({"tenant": "default"})), Value::Null);
    f.err("get_smtp", json!({"tenant": "nope"}), "not_found");
    // No OS keyring in this process (no session bus): a password cannot be
    // saved, and is never put in the store instead; nothing changes.
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/lockbox-test-bus",
    );
    let smtp = json!({"host": "smtp.contoso.example", "port": 587, "security": "starttls", "username": "lockbox",
                      "password": "s3cret", "from_address": "lockbox@contoso.example"});
    let err = f.err(
        "set_smtp",
        json!({"tenant": "default", "smtp": smtp}),
        "store_unavailable",
    );
    assert!(
        err.contains("keyring") && err.contains("LOCKBOX_SMTP_PASSWORD"),
        "{err}"
    );
    assert_eq!(f.ok("get_smtp", json!({"tenant": "default"})), Value::Null);
    // Without a password (it comes from the keyring or LOCKBOX_SMTP_PASSWORD when sending).
    let mut again = smtp.clone();
    again["password"] = Value::Null;
    let saved = f.ok("set_smtp", json!({"tenant": "default", "smtp": again}));
    assert_eq!(
        (
            saved["password_set"].as_bool(),
            saved.get("password").is_none()
        ),
        (Some(true), true)
    );
    again["port"] = json!(2525);
    let saved = f.ok("set_smtp", json!({"tenant": "default", "smtp": again}));
    assert_eq!(
        (saved["port"].as_u64(), saved["password_set"].as_bool()),
        (Some(2525), Some(true))
    );
    // A login over an unencrypted connection to another machine: refused.
    let mut plain = again.clone();
    plain["security"] = json!("none");
    let err = f.err(
        "set_smtp",
        json!({"tenant": "default", "smtp": plain}),
        "invalid_input",
    );
    assert!(err.contains("unencrypted"), "{err}");
    let mut bad = smtp.clone();
    bad["security"] = json!("ssl3");
    f.err(
        "set_smtp",
        json!({"tenant": "default", "smtp": bad}),
        "invalid_input",
    );
    f.err(
        "test_smtp",
        json!({"tenant": "nope", "to": "a@b.example"}),
        "not_found",
    );
    assert_eq!(
        f.ok("email_status", json!({"tenant": "default"})),
        json!([])
    );
    f.err("email_status", json!({"tenant": "nope"}), "not_found");

    let api = f.ok("get_api_settings", json!({}));
    assert_eq!(
        (api["enabled"].as_bool(), api["bind"].as_str()),
        (Some(true), Some("127.0.0.1:8787"))
    );
    let off = json!({"enabled": false, "bind": "127.0.0.1:9797", "tls_cert": null, "tls_key": null, "listening_on": null, "error": null});
    let saved = f.ok(
        "set_api_settings",
        json!({"tenant": "default", "settings": off}),
    );
    assert_eq!(
        (
            saved["enabled"].as_bool(),
            saved["bind"].as_str(),
            saved["listening_on"].as_str()
        ),
        (Some(false), Some("127.0.0.1:9797"), None)
    );
    let mut public = off.clone();
    public["bind"] = json!("0.0.0.0:8787");
    let msg = f.err(
        "set_api_settings",
        json!({"tenant": "default", "settings": public}),
        "invalid_input",
    );
    assert!(msg.contains("TLS"), "{msg}");
}

#[test]
fn ui_ready_reports_milliseconds_since_start_and_start_page_parses() {
    let f = fixture();
    let ms = f.ok("ui_ready", json!({"page": "requests"}));
    assert!(ms.is_u64(), "{ms}");
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        lockbox_app::start_page_from(args(&["--page", "requests"])),
        "requests"
    );
    assert_eq!(
        lockbox_app::start_page_from(args(&["--page=audit"])),
        "audit"
    );
    assert_eq!(
        lockbox_app::start_page_from(args(&["--page", "../../etc"])),
        "home"
    );
}
