//! Shared helpers of the reliability tests: the real `lockbox` binary, and a
//! store checker that finds half-changed requests.

#![allow(dead_code)]

use rusqlite::{params, Connection, OpenFlags};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Bigger runs with LOCKBOX_STRESS=1.
pub fn stress() -> bool {
    std::env::var("LOCKBOX_STRESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The `lockbox` binary of this workspace (LOCKBOX_BIN overrides). The CLI
/// is another package, so it is built here (a no-op when it is up to date).
pub fn lockbox_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("LOCKBOX_BIN") {
            return PathBuf::from(p);
        }
        // target/<profile>/deps/<test> -> target/<profile>/lockbox
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root)
            .args(["build", "--quiet", "-p", "lockbox-cli", "--bin", "lockbox"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo to build the lockbox CLI");
        assert!(status.success(), "building the lockbox CLI failed");
        let bin = profile_dir.join("lockbox");
        assert!(
            bin.exists(),
            "{} not found: set LOCKBOX_BIN to the lockbox binary",
            bin.display()
        );
        bin
    })
    .clone()
}

/// A `lockbox` command on `db` as user `root`, with the clock pinned if `now` is set.
pub fn lockbox(db: &Path, now: Option<&str>) -> Command {
    let mut c = Command::new(lockbox_bin());
    c.env("LOCKBOX_DB", db)
        .env("USER", "root")
        .env_remove("LOCKBOX_TENANT")
        .env_remove("LOCKBOX_NOW")
        .env_remove("LOCKBOX_LOG");
    if let Some(n) = now {
        c.env("LOCKBOX_NOW", n);
    }
    c
}

pub fn run(mut c: Command) -> Output {
    c.output().expect("run lockbox")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `lockbox audit verify --json` -> (exit code, report).
pub fn verify(db: &Path) -> (i32, serde_json::Value) {
    verify_at(db, None)
}

/// `lockbox audit verify --json` with the clock pinned (so opening sweeps nothing).
pub fn verify_at(db: &Path, now: Option<&str>) -> (i32, serde_json::Value) {
    let mut c = lockbox(db, now);
    c.args(["audit", "verify", "--json"]);
    let o = run(c);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code().unwrap_or(-1), v)
}

pub fn integrity(db: &Path) -> String {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    let rows: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.join("; ")
}

/// One request as stored, with its decisions, audit operations and notices.
#[derive(Debug, Default, Clone)]
pub struct Stored {
    pub state: String,
    pub expires_at: i64,
    pub approved_at: Option<i64>,
    pub access_ends_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub deadline_at: Option<i64>,
    /// (level, decision)
    pub decisions: Vec<(String, String)>,
    /// audit operations, in chain order
    pub ops: Vec<String>,
    pub notices: Vec<String>,
}

impl Stored {
    pub fn count_op(&self, op: &str) -> usize {
        self.ops.iter().filter(|o| *o == op).count()
    }
    fn count_dec(&self, level: &str, kind: &str) -> usize {
        self.decisions
            .iter()
            .filter(|(l, k)| l == level && k == kind)
            .count()
    }
}

pub const TERMINAL_OPS: [&str; 5] = ["rejected", "expired", "canceled", "revoked", "completed"];

/// Every request of the store, by id.
pub fn load(db: &Path) -> HashMap<String, Stored> {
    let c = Connection::open(db).unwrap();
    let mut out: HashMap<String, Stored> = HashMap::new();
    let mut q = c
        .prepare(
            "SELECT id, state, expires_at, approved_at, access_ends_at, closed_at, deadline_at FROM requests",
        )
        .unwrap();
    let rows = q
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Stored {
                    state: r.get(1)?,
                    expires_at: r.get(2)?,
                    approved_at: r.get(3)?,
                    access_ends_at: r.get(4)?,
                    closed_at: r.get(5)?,
                    deadline_at: r.get(6)?,
                    ..Default::default()
                },
            ))
        })
        .unwrap();
    for r in rows {
        let (id, s) = r.unwrap();
        out.insert(id, s);
    }
    let mut orphans = Vec::new();
    let mut q = c
        .prepare("SELECT request_id, level, decision FROM decisions ORDER BY request_id, idx")
        .unwrap();
    for r in q
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
    {
        let (id, level, kind) = r.unwrap();
        match out.get_mut(&id) {
            Some(s) => s.decisions.push((level, kind)),
            None => orphans.push(format!("decision of unknown request {id}")),
        }
    }
    let mut q = c
        .prepare(
            "SELECT request_id, operation FROM audit_log WHERE request_id IS NOT NULL ORDER BY seq",
        )
        .unwrap();
    for r in q
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
        .unwrap()
    {
        let (id, op) = r.unwrap();
        match out.get_mut(&id) {
            Some(s) => s.ops.push(op),
            None => orphans.push(format!("audit entry {op} of unknown request {id}")),
        }
    }
    let mut q = c
        .prepare("SELECT request_id, kind FROM notices ORDER BY id")
        .unwrap();
    for r in q
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
        .unwrap()
    {
        let (id, kind) = r.unwrap();
        match out.get_mut(&id) {
            Some(s) => s.notices.push(kind),
            None => orphans.push(format!("notice {kind} of unknown request {id}")),
        }
    }
    assert!(orphans.is_empty(), "half-written rows: {orphans:?}");
    out
}

/// Problems with one request: its row, decisions, audit entries and notices
/// must tell the same story (approvals required: 1 provider, 1 customer).
pub fn problems(id: &str, s: &Stored) -> Vec<String> {
    let mut p = Vec::new();
    let mut bad = |m: String| p.push(format!("{id} ({}): {m}", s.state));
    if s.ops.first().map(String::as_str) != Some("request_created")
        || s.count_op("request_created") != 1
    {
        bad(format!(
            "audit does not start with one request_created: {:?}",
            s.ops
        ));
    }
    let pairs = [
        ("provider_approved", "provider", "approve"),
        ("approved", "customer", "approve"),
        ("rejected", "customer", "reject"),
        ("revoked", "customer", "revoke"),
        ("canceled", "provider", "cancel"),
    ];
    for (op, level, kind) in pairs {
        if s.count_op(op) != s.count_dec(level, kind) {
            bad(format!(
                "{} {op} audit entries but {} {level} {kind} decisions",
                s.count_op(op),
                s.count_dec(level, kind)
            ));
        }
    }
    let terminal: Vec<&String> = s
        .ops
        .iter()
        .filter(|o| TERMINAL_OPS.contains(&o.as_str()))
        .collect();
    let is_terminal = TERMINAL_OPS.contains(&s.state.as_str());
    if is_terminal {
        if terminal.len() != 1 || *terminal[0] != s.state {
            bad(format!("terminal audit entries {terminal:?}"));
        }
        if s.closed_at.is_none() || s.deadline_at.is_some() {
            bad("terminal but closed_at/deadline_at not set accordingly".into());
        }
    } else {
        if !terminal.is_empty() {
            bad(format!("not terminal but audited {terminal:?}"));
        }
        if s.closed_at.is_some() {
            bad("closed_at set on an open request".into());
        }
    }
    if s.count_op("approved") > 1 || s.count_op("provider_approved") > 1 {
        bad(format!("approved more than once: {:?}", s.ops));
    }
    let was_approved = s.count_op("approved") == 1;
    if matches!(s.state.as_str(), "approved" | "revoked" | "completed") != was_approved {
        bad(format!("state vs approval entries: {:?}", s.ops));
    }
    if was_approved && (s.approved_at.is_none() || s.access_ends_at.is_none()) {
        bad("approved without approved_at / access_ends_at".into());
    }
    match s.state.as_str() {
        "awaiting_provider" if s.count_op("provider_approved") != 0 => {
            bad("awaiting the provider after a provider approval".into())
        }
        "pending" if s.count_op("provider_approved") != 1 => {
            bad("pending without a provider approval".into())
        }
        "awaiting_provider" | "pending" if s.deadline_at != Some(s.expires_at) => {
            bad("deadline_at is not expires_at".into())
        }
        "approved" if s.deadline_at != s.access_ends_at => {
            bad("deadline_at is not access_ends_at".into())
        }
        _ => {}
    }
    let has = |k: &str| s.notices.iter().any(|n| n == k);
    if has("pending") != (s.count_op("provider_approved") == 1) {
        bad(format!(
            "pending notice vs provider approval: {:?}",
            s.notices
        ));
    }
    if has("expired") != (s.state == "expired") || has("access_ended") != (s.state == "completed") {
        bad(format!("notices {:?}", s.notices));
    }
    p
}

/// Every problem of every request of the store.
pub fn check_store(db: &Path) -> Vec<String> {
    load(db)
        .iter()
        .flat_map(|(id, s)| problems(id, s))
        .collect()
}

/// Count of `operation` entries for `request_id`.
pub fn audit_count(db: &Path, request_id: &str, operation: &str) -> i64 {
    let c = Connection::open(db).unwrap();
    c.query_row(
        "SELECT COUNT(*) FROM audit_log WHERE request_id = ?1 AND operation = ?2",
        params![request_id, operation],
        |r| r.get(0),
    )
    .unwrap()
}
