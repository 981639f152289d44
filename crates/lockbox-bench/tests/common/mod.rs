//! Shared helpers of the reliability tests: the real `lockbox` binary, and a
//! store checker that finds half-changed requests — on the backend the test
//! run asks for (`LOCKBOX_TEST_BACKEND`, see `lockbox_core::testing`).

#![allow(dead_code)]

use lockbox_core::receipts::key_path_for;
use lockbox_core::store::StoreLocation;
pub use lockbox_core::testing::Cell;
use lockbox_core::{Clock, Engine};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

/// A store under test and its receipt key: a SQLite file with the key
/// beside it (where `Engine::open` and the CLI look), or a PostgreSQL
/// database with the key file every process on it is given.
#[derive(Debug, Clone)]
pub struct Db {
    pub loc: StoreLocation,
    pub key: PathBuf,
}

impl Db {
    /// A new store of the test run's backend: the file `dir/name` on SQLite,
    /// a new database on the test server on PostgreSQL; its key in `dir`.
    pub fn new(dir: &Path, name: &str) -> Db {
        let path = dir.join(name);
        let loc = if lockbox_core::testing::backend_is_postgres() {
            StoreLocation::Postgres(lockbox_core::testing::new_database())
        } else {
            StoreLocation::File(path.clone())
        };
        Db {
            loc,
            key: key_path_for(&path),
        }
    }

    /// An engine on this store (created if new), as `creator`.
    pub fn open(&self, clock: Arc<dyn Clock>, creator: &str) -> Engine {
        Engine::open_at(&self.loc, &self.key, clock, creator).unwrap()
    }

    /// The arguments naming this store to a helper process
    /// (`lockbox-race-client`, `lockbox-crash-writer`).
    pub fn args(&self) -> [OsString; 4] {
        let store = match &self.loc {
            StoreLocation::File(p) => p.clone().into_os_string(),
            StoreLocation::Postgres(url) => url.into(),
        };
        [
            "--store".into(),
            store,
            "--receipt-key".into(),
            self.key.clone().into_os_string(),
        ]
    }

    /// Has anyone created the store yet (the file; the schema in the database)?
    pub fn exists(&self) -> bool {
        match &self.loc {
            StoreLocation::File(p) => p.exists(),
            StoreLocation::Postgres(_) => {
                query(self, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'lockbox_schema'")
                    [0][0]
                    .int()
                    == 1
            }
        }
    }

    /// A copy of this store as it is now (nobody may have it open), named
    /// `name` beside it, replacing an earlier copy of that name; same key.
    pub fn copy(&self, name: &str) -> Db {
        let loc = match &self.loc {
            StoreLocation::File(p) => {
                let to = p.with_file_name(name);
                std::fs::copy(p, &to).unwrap();
                StoreLocation::File(to)
            }
            StoreLocation::Postgres(url) => {
                let from = db_name(url);
                let to = format!("{from}_{}", name.replace('.', "_"));
                let mut admin = pg_client(&lockbox_core::testing::server_url());
                // Two statements: each refuses to run inside a transaction (block).
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {to}"))
                    .unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE {to} TEMPLATE {from}"))
                    .unwrap();
                StoreLocation::Postgres(lockbox_core::testing::with_database(url, &to))
            }
        };
        Db {
            loc,
            key: self.key.clone(),
        }
    }
}

/// The old helpers' argument: a store file, its key beside it.
impl From<&Path> for Db {
    fn from(p: &Path) -> Db {
        Db {
            loc: StoreLocation::File(p.to_path_buf()),
            key: key_path_for(p),
        }
    }
}

impl From<&PathBuf> for Db {
    fn from(p: &PathBuf) -> Db {
        p.as_path().into()
    }
}

impl From<&Db> for Db {
    fn from(d: &Db) -> Db {
        d.clone()
    }
}

fn db_name(url: &str) -> String {
    let config: postgres::Config = url.parse().unwrap();
    config.get_dbname().unwrap().to_string()
}

fn pg_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach the test database {url}: {e}"))
}

/// The rows of `sql` (one text for both backends), read without the engine.
pub fn query(db: impl Into<Db>, sql: &str) -> Vec<Vec<Cell>> {
    lockbox_core::testing::outside_rows(&db.into().loc, sql)
}

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
pub fn lockbox(db: impl Into<Db>, now: Option<&str>) -> Command {
    let db = db.into();
    let mut c = Command::new(lockbox_bin());
    match &db.loc {
        StoreLocation::File(p) => c
            .env("LOCKBOX_DB", p)
            .env_remove("LOCKBOX_STORE")
            .env_remove("LOCKBOX_RECEIPT_KEY"),
        // clap refuses LOCKBOX_DB beside LOCKBOX_STORE.
        StoreLocation::Postgres(url) => c
            .env("LOCKBOX_STORE", url)
            .env("LOCKBOX_RECEIPT_KEY", &db.key)
            .env_remove("LOCKBOX_DB"),
    };
    c.env("USER", "root")
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
pub fn verify(db: impl Into<Db>) -> (i32, serde_json::Value) {
    verify_at(db, None)
}

/// `lockbox audit verify --json` with the clock pinned (so opening sweeps nothing).
pub fn verify_at(db: impl Into<Db>, now: Option<&str>) -> (i32, serde_json::Value) {
    let mut c = lockbox(db, now);
    c.args(["audit", "verify", "--json"]);
    let o = run(c);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code().unwrap_or(-1), v)
}

/// "ok", or what is wrong with the store's files: SQLite's
/// `PRAGMA integrity_check`; on PostgreSQL, amcheck's checks of every table
/// (`verify_heapam`) and every index (`bt_index_check`, all heap tuples
/// indexed) of the store's schema.
pub fn integrity(db: impl Into<Db>) -> String {
    let url = match db.into().loc {
        StoreLocation::File(p) => {
            let c = Connection::open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
            let rows: Vec<String> = c
                .prepare("PRAGMA integrity_check")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            return rows.join("; ");
        }
        StoreLocation::Postgres(url) => url,
    };
    let mut c = pg_client(&url);
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        .expect("amcheck (PostgreSQL's contrib; a superuser creates it)");
    let mut bad: Vec<String> = c
        .query(
            "SELECT c.relname::text, v.blkno, v.offnum, v.msg FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace, verify_heapam(c.oid) v
             WHERE n.nspname = 'public' AND c.relkind = 'r'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            let (t, b, o, m): (String, i64, i32, String) = (r.get(0), r.get(1), r.get(2), r.get(3));
            format!("{t} block {b} item {o}: {m}")
        })
        .collect();
    let indexes = c
        .query(
            "SELECT c.relname::text, a.amname::text FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_am a ON a.oid = c.relam
             WHERE n.nspname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap();
    // The schema has some 30; a handful means the wrong schema was looked at.
    if indexes.len() < 10 {
        bad.push(format!("only {} indexes found to check", indexes.len()));
    }
    for r in indexes {
        let (index, am): (String, String) = (r.get(0), r.get(1));
        if am != "btree" {
            bad.push(format!("{index}: a {am} index, which amcheck cannot check"));
        } else if let Err(e) =
            c.execute("SELECT bt_index_check($1::text::regclass, true)", &[&index])
        {
            bad.push(format!("{index}: {e}"));
        }
    }
    if bad.is_empty() {
        "ok".into()
    } else {
        bad.join("; ")
    }
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
pub fn load(db: impl Into<Db>) -> HashMap<String, Stored> {
    let db = db.into();
    let mut out: HashMap<String, Stored> = HashMap::new();
    let q = "SELECT id, state, expires_at, approved_at, access_ends_at, closed_at, deadline_at FROM requests";
    for r in query(&db, q) {
        let s = Stored {
            state: r[1].text(),
            expires_at: r[2].int(),
            approved_at: r[3].opt_int(),
            access_ends_at: r[4].opt_int(),
            closed_at: r[5].opt_int(),
            deadline_at: r[6].opt_int(),
            ..Default::default()
        };
        out.insert(r[0].text(), s);
    }
    let mut orphans = Vec::new();
    let q = "SELECT request_id, level, decision FROM decisions ORDER BY request_id, idx";
    for r in query(&db, q) {
        let id = r[0].text();
        match out.get_mut(&id) {
            Some(s) => s.decisions.push((r[1].text(), r[2].text())),
            None => orphans.push(format!("decision of unknown request {id}")),
        }
    }
    let q = "SELECT request_id, operation FROM audit_log WHERE request_id IS NOT NULL ORDER BY seq";
    for r in query(&db, q) {
        let (id, op) = (r[0].text(), r[1].text());
        match out.get_mut(&id) {
            Some(s) => s.ops.push(op),
            None => orphans.push(format!("audit entry {op} of unknown request {id}")),
        }
    }
    for r in query(&db, "SELECT request_id, kind FROM notices ORDER BY id") {
        let (id, kind) = (r[0].text(), r[1].text());
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
pub fn check_store(db: impl Into<Db>) -> Vec<String> {
    load(db)
        .iter()
        .flat_map(|(id, s)| problems(id, s))
        .collect()
}
