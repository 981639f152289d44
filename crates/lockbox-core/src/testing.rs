//! For tests: a store of the backend a test run asks for, and a real,
//! throwaway PostgreSQL server to put it on.
//!
//! `LOCKBOX_TEST_BACKEND=postgres` runs a suite on PostgreSQL (default:
//! SQLite). The server is `LOCKBOX_TEST_PG_URL` when set (an admin URL of a
//! server the tests may create databases on), else a cluster this process
//! starts itself: `initdb` + `postgres` from Debian's `postgresql` package
//! (`/usr/lib/postgresql/*/bin`, or `LOCKBOX_PG_BIN`) in a temporary folder,
//! on a free port, with its socket in that folder, as the user `nobody` when
//! the tests run as root (PostgreSQL refuses to run as root). The server
//! stops when the test process ends (a watchdog shell waits on a pipe this
//! process holds). Each [`store_location`] is a new, empty database.
//!
//! A missing PostgreSQL fails loudly: `make test` installs it.

pub use crate::store::outside::{
    outside_count, outside_execute, outside_rows, Cell, WriteLockHeld,
};
use crate::store::StoreLocation;
use crate::{Clock, Engine, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Which backend this test run uses (`LOCKBOX_TEST_BACKEND`).
pub fn backend_is_postgres() -> bool {
    match std::env::var("LOCKBOX_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("LOCKBOX_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// An engine on a new store of the test run's backend, opened as the app
/// and `lockbox serve` open theirs (a receipt key file, its creation
/// audited): a file in a new temporary folder on SQLite, a new database on
/// PostgreSQL.
///
/// Inside async code (a `#[tokio::test]`) it is opened on a helper thread:
/// the PostgreSQL client blocks, which a thread driving async tasks must
/// not; use it from there as the servers do, through `EngineHandle`.
pub fn engine(clock: Arc<dyn Clock>, creator: &str) -> Result<Engine> {
    Ok(engine_and_location(clock, creator)?.0)
}

/// [`engine`], and where its store is (for a test that reaches it another way).
pub fn engine_and_location(
    clock: Arc<dyn Clock>,
    creator: &str,
) -> Result<(Engine, StoreLocation)> {
    let loc = crate::store::pg::off_runtime(store_location);
    Ok((open(&loc, clock, creator)?, loc))
}

/// Another engine on the store at `loc` (another process's, another
/// instance's), with the receipt key every engine of that store in this
/// test process shares.
pub fn open(loc: &StoreLocation, clock: Arc<dyn Clock>, creator: &str) -> Result<Engine> {
    crate::store::pg::off_runtime(|| Engine::open_at(loc, &key_for(loc), clock, creator))
}

/// The receipt key file of the store at `loc`: beside a store file, in the
/// scratch folder, named after the database, for PostgreSQL.
fn key_for(loc: &StoreLocation) -> PathBuf {
    match loc {
        StoreLocation::File(p) => crate::receipts::key_path_for(p),
        StoreLocation::Postgres(url) => {
            let db = url.split('?').next().unwrap_or(url);
            let name = db.rsplit('/').next().unwrap_or(db);
            scratch_dir().join(format!("key-{name}"))
        }
    }
}

/// A new, empty store of the test run's backend: a file in a new temporary
/// folder on SQLite, a new database on PostgreSQL.
pub fn store_location() -> StoreLocation {
    if !backend_is_postgres() {
        let dir = scratch_dir().join(format!("store-{}", next_id()));
        return StoreLocation::File(dir.join("lockbox.db"));
    }
    StoreLocation::Postgres(new_database())
}

fn next_id() -> u32 {
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A folder for this test process's files, removed never (it is under the
/// system's temporary folder, named after the process).
fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("lockbox-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create a scratch folder");
        d
    })
    .clone()
}

/// A URL of a new, empty database on the test server.
pub fn new_database() -> String {
    let admin = server_url();
    let name = format!("lbt_{}_{}", std::process::id(), next_id());
    let mut c = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server {admin}: {e}"));
    c.batch_execute(&format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    ))
    .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
    with_database(&admin, &name)
}

/// `url` naming database `db` instead of its own.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// The admin URL of the test server: `LOCKBOX_TEST_PG_URL`, or this process's own cluster.
pub fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("LOCKBOX_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => start_cluster(),
    })
    .clone()
}

/// The watchdog shell, whose stdin pipe stays open while this process lives.
static WATCHDOG: Mutex<Option<std::process::Child>> = Mutex::new(None);

/// The folder of PostgreSQL's programs.
fn pg_bin() -> PathBuf {
    if let Ok(b) = std::env::var("LOCKBOX_PG_BIN") {
        return PathBuf::from(b);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    found.retain(|b| b.join("initdb").is_file());
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): the PostgreSQL \
             tests need it. Install it with `make deps` (apt-get install postgresql), or set \
             LOCKBOX_PG_BIN, or LOCKBOX_TEST_PG_URL to a server the tests may use."
        )
    })
}

fn is_root() -> bool {
    #[cfg(unix)]
    {
        nix::unistd::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// `cmd` run as `nobody` when we are root (PostgreSQL refuses root).
fn as_server_user(program: &Path) -> Command {
    let mut c = if is_root() {
        let mut c = real_clock("runuser");
        c.args(["-u", "nobody", "--"]).arg(program);
        c
    } else {
        real_clock(program)
    };
    c.stdin(Stdio::null());
    c
}

/// A private X display (Xvfb), for a real browser or a notification daemon
/// (src-tauri/tests/common/daemon.rs), or GTK in a test
/// (crates/lockbox-webkit/tests); gone when dropped.
pub struct Display {
    child: std::process::Child,
    /// `:N`, for `DISPLAY`.
    pub name: String,
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Xvfb on a free display (it picks one and says which on fd 1). Without
/// Xvfb the test fails, saying so (.ci/install-deps installs it).
pub fn start_display() -> Display {
    let mut child = real_clock("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-screen",
            "0",
            "1024x768x24",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start Xvfb (a private X display; apt-get install xvfb): {e}")
        });
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("Xvfb's stdout")),
        &mut line,
    )
    .expect("read Xvfb's display number");
    let name = format!(":{}", line.trim());
    assert!(name.len() > 1, "Xvfb said no display");
    Display { child, name }
}

/// A command for a helper server (PostgreSQL, SMTP, D-Bus, a keyring
/// daemon) on the real clock even when the tests run under libfaketime
/// (`make test-rust-future`): its time decides nothing here, and some
/// servers (PostgreSQL's tools among them) do not start under a faked clock.
pub fn real_clock(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("FAKETIME") || k == "LD_PRELOAD" || k == "DONT_FAKE_MONOTONIC" {
            c.env_remove(&*k);
        }
    }
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_cluster() -> String {
    let bin = pg_bin();
    let dir = tempfile::Builder::new()
        .prefix("lockbox-pg-")
        .tempdir()
        .expect("a temporary folder")
        .keep();
    let data = dir.join("data");
    if is_root() {
        let status = real_clock("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown of {} failed", dir.display());
    }
    let out = as_server_user(&bin.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
            "-D",
        ])
        .arg(&data)
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // fsync off in the configuration file, not on the command line, so that
    // a benchmark can turn it on for a while (ALTER SYSTEM; a command-line
    // setting would win over that).
    std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"\nfsync = off\n"))
        .expect("configure the test PostgreSQL server");
    let port = free_port();
    // The server runs under a shell that stops it (fast shutdown) when our
    // end of its stdin closes, i.e. when this process exits, however it exits.
    let script = format!(
        "{postgres} -D {data} -p {port} -k {dir} -c listen_addresses=127.0.0.1 \
         -c max_connections=200 -c shared_buffers=64MB > {dir}/server.log 2>&1 & pid=$!; \
         read _; kill -INT $pid; wait $pid; rm -rf {dir}",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let child = if is_root() {
        real_clock("runuser")
            .args(["-u", "nobody", "--", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .spawn()
    } else {
        real_clock("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .spawn()
    }
    .expect("start postgres");
    let mut watchdog = WATCHDOG.lock().unwrap_or_else(|e| e.into_inner());
    let child = watchdog.insert(child);
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    for _ in 0..300 {
        if postgres::Client::connect(&url, postgres::NoTls).is_ok() {
            return url;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the test PostgreSQL server exited ({status}): {}",
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "the test PostgreSQL server did not accept connections within 30 s: {}",
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
}
