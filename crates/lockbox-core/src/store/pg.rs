//! The PostgreSQL backend: connection (TLS by rustls), migrations, and the
//! transactions behind [`super::Store::read`] and [`super::Store::write`].
//!
//! Several processes (`lockbox serve` instances) may share one database.
//! Every write transaction first takes transaction-scoped advisory locks:
//! a write to one tenant (a request, its decisions, its audit chain) holds
//! that tenant's lock and the store lock shared; any other write holds the
//! store lock exclusively. So writes to one tenant are serialized exactly as
//! SQLite's `BEGIN IMMEDIATE` serializes them (each re-reads the state it
//! changes after everyone before it committed; the chain's next entry is
//! its head + 1; a due deadline or a notice is claimed by one writer only),
//! while different tenants wait on each other only from their first audit
//! append to their commit, for the audit log's store positions (`seq`,
//! gapless and in commit order: see `Tx::next_audit_seqs`). Reads run in a
//! `REPEATABLE READ READ ONLY` transaction: one consistent snapshot, as a
//! SQLite read transaction, that never waits for a writer.

use super::db::{Prefetched, ToP, Tx, P};
use super::errors::pg_error;
use super::pg_tx::{Ahead, PgTx, Session};
use super::Scope;
use crate::{Error, ErrorCode, Result};
use std::sync::Arc;
use tokio_postgres::{Client, IsolationLevel};

/// Migrations, in order; migration N brings the store to schema version N
/// (recorded in `lockbox_schema`).
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/postgres/0001_init.sql"),
    include_str!("migrations/postgres/0002_tenant_writes.sql"),
    include_str!("migrations/postgres/0003_admin_sessions.sql"),
];

/// The PostgreSQL schema version this build writes.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock every write transaction holds (a constant: "LOCKBOX"
/// in ASCII, taken as an integer), and the one migrations hold.
pub(crate) const WRITE_LOCK: i64 = 0x004c_4f43_4b42_4f58;
const MIGRATE_LOCK: i64 = WRITE_LOCK + 1;
/// Held from a transaction's first audit append to its commit: the audit
/// log's store positions (see `Tx::next_audit_seqs`).
pub(super) const POSITIONS_LOCK: i64 = WRITE_LOCK + 2;
/// Every write's notification to the other instances (`listen_for_changes`),
/// its payload the new change mark ([`PgConn::change_mark`]): prepared once
/// per connection (an SQL-level `PREPARE`: a connection pooler in front of
/// the server must keep a session's prepared statements, as it must for the
/// client's own), executed by each commit (`PgConn::write`), which then
/// neither parses nor plans it.
const NOTIFY_PREPARE: &str = "PREPARE lockbox_notify AS
    SELECT pg_notify('lockbox_changes', nextval('lockbox_changes')::text)";
/// The first key of every tenant's lock (the second: the tenant's
/// `hashtext`; two tenants with the same hash only share a lock).
const TENANT_LOCKS: i32 = 0x4c42;

/// An open PostgreSQL store: one connection and its [`Session`].
pub struct PgConn {
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// `None` only while being replaced or dropped (closing it blocks: it
    /// is closed off any async runtime).
    conn: Option<Conn>,
    session: Session,
    /// Where it is, without a password (for messages).
    pub(super) display: String,
}

/// One connection: the async client, driven by a runtime of its own on the
/// calling thread, as the postgres crate's blocking client does. Unlike that
/// client it lets a transaction send several statements before it waits for
/// their answers (pipelining: `Tx::put`), so a write costs fewer round trips.
pub(super) struct Conn {
    rt: tokio::runtime::Runtime,
    client: Client,
    /// The task that drives the socket (it runs while `rt` blocks on something).
    driver: tokio::task::JoinHandle<()>,
}

impl Conn {
    fn connect(
        config: &tokio_postgres::Config,
        tls: &tokio_postgres_rustls::MakeRustlsConnect,
    ) -> Result<Conn> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::internal(format!("cannot start the PostgreSQL client's runtime: {e}"))
            })?;
        let (client, connection) = rt.block_on(config.connect(tls.clone())).map_err(pg_error)?;
        let driver = rt.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("PostgreSQL connection ended: {e}");
            }
        });
        Ok(Conn { rt, client, driver })
    }

    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Say goodbye to the server (it blocks: call it off any async runtime).
    fn close(self) {
        let Conn { rt, client, driver } = self;
        // The last client gone, the driver sends Terminate and ends.
        drop(client);
        let _ = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), driver).await
        });
    }
}

/// Is `s` a PostgreSQL connection URL (`postgres://` or `postgresql://`)?
pub fn is_postgres_url(s: &str) -> bool {
    let l = s.trim_start().to_ascii_lowercase();
    l.starts_with("postgres://") || l.starts_with("postgresql://")
}

/// `url` without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl PgConn {
    /// Connect to `url` and bring the schema up to date.
    ///
    /// TLS: `sslmode=disable|prefer|require` as libpq spells it; server
    /// certificates are checked against the system's roots, or only against
    /// the CA file named by `sslrootcert=FILE`.
    pub fn open(url: &str) -> Result<PgConn> {
        off_runtime(|| Self::open_here(url))
    }

    fn open_here(url: &str) -> Result<PgConn> {
        let display = redact(url);
        let (url_rest, root_file) = take_param(url, "sslrootcert");
        let config: tokio_postgres::Config = url_rest.parse().map_err(|e| {
            Error::new(
                ErrorCode::InvalidInput,
                format!("{display} is not a usable PostgreSQL URL: {e}"),
            )
        })?;
        let tls = tls_connector(root_file.as_deref())?;
        let conn = Conn::connect(&config, &tls)
            .map_err(|e| Error::new(e.code, format!("store {display}: {}", e.message)))?;
        let mut c = PgConn {
            config,
            tls,
            conn: Some(conn),
            session: Session::default(),
            display,
        };
        c.migrate()?;
        Ok(c)
    }

    /// The connection, re-opened if the server closed it (a restart, a
    /// failover): a lost connection costs the transaction it broke, not the store.
    fn conn(&mut self) -> Result<&mut Conn> {
        if self.conn.as_ref().is_none_or(Conn::is_closed) {
            tracing::warn!(store = %self.display, "the PostgreSQL connection was lost: reconnecting");
            let new = off_runtime(|| Conn::connect(&self.config, &self.tls))?;
            if let Some(old) = self.conn.replace(new) {
                drop_off_runtime(old);
            }
            self.session = Session::default();
        }
        self.conn
            .as_mut()
            .ok_or_else(|| Error::internal("no PostgreSQL connection"))
    }

    fn schema_version(conn: &mut Conn) -> Result<i64> {
        let Conn { rt, client, .. } = conn;
        rt.block_on(async {
            let exists: bool = client
                .query_one("SELECT to_regclass('lockbox_schema') IS NOT NULL", &[])
                .await
                .map_err(pg_error)?
                .get(0);
            if !exists {
                return Ok(0);
            }
            let v: Option<i64> = client
                .query_one("SELECT max(version) FROM lockbox_schema", &[])
                .await
                .map_err(pg_error)?
                .get(0);
            Ok(v.unwrap_or(0))
        })
    }

    fn migrate(&mut self) -> Result<()> {
        let conn = self.conn()?;
        if Self::schema_version(conn)? == PG_SCHEMA_VERSION {
            return Ok(());
        }
        // A session lock, then a transaction of its own: a transaction that
        // began before another instance's migration committed can miss its
        // tables in the catalog even after waiting for a lock (PostgreSQL
        // refreshes catalog snapshots on relation locks, not advisory ones).
        conn.rt
            .block_on(
                conn.client
                    .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK]),
            )
            .map_err(pg_error)?;
        let out = Self::migrate_locked(conn);
        let unlocked = conn.rt.block_on(
            conn.client
                .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]),
        );
        out?;
        unlocked.map_err(pg_error)?;
        Ok(())
    }

    fn migrate_locked(conn: &mut Conn) -> Result<()> {
        // Re-read under the lock: another instance may have migrated meanwhile.
        let current = Self::schema_version(conn)?;
        if current > PG_SCHEMA_VERSION {
            return Err(schema_too_new(current));
        }
        if current == PG_SCHEMA_VERSION {
            return Ok(());
        }
        let Conn { rt, client, .. } = conn;
        rt.block_on(async {
            let tx = client.transaction().await.map_err(pg_error)?;
            if current == 0 {
                tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS lockbox_schema (version BIGINT NOT NULL)",
                )
                .await
                .map_err(pg_error)?;
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
                tx.batch_execute(sql).await.map_err(|e| {
                    Error::internal(format!(
                        "PostgreSQL migration {} failed: {}",
                        i + 1,
                        pg_error(e).message
                    ))
                })?;
            }
            tx.execute("DELETE FROM lockbox_schema", &[])
                .await
                .map_err(pg_error)?;
            tx.execute(
                "INSERT INTO lockbox_schema (version) VALUES ($1)",
                &[&PG_SCHEMA_VERSION],
            )
            .await
            .map_err(pg_error)?;
            tx.commit().await.map_err(pg_error)
        })?;
        tracing::info!(
            from = current,
            to = PG_SCHEMA_VERSION,
            "PostgreSQL store migrated"
        );
        Ok(())
    }

    /// Run `f` in a write transaction holding `scope`'s locks: the store
    /// lock exclusively (`All`), or shared plus the tenant's lock, so that
    /// writes to different tenants run side by side while each tenant's
    /// chain has one writer. Every lock is taken first, always in this
    /// order, so two writers never wait on each other in a cycle. `None`:
    /// a `TryTenant` found the tenant's lock taken and did nothing.
    pub(super) fn write<T>(
        &mut self,
        scope: Scope<'_>,
        due_by: Option<i64>,
        reads: Vec<Prefetched>,
        f: impl FnOnce(&Tx<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        self.conn()?;
        let Some(Conn { rt, client, .. }) = self.conn.as_mut() else {
            return Err(Error::internal("no PostgreSQL connection"));
        };
        // BEGIN and the locks as one message (prepared once per
        // connection, like every statement of `Tx`); held before `f` runs,
        // which reads the clock under them.
        let (sql, tenant) = match scope {
            Scope::All => ("SELECT pg_advisory_xact_lock(?1)", None),
            Scope::Tenant(t) => (
                "SELECT pg_advisory_xact_lock_shared(?1), pg_advisory_xact_lock(?2, hashtext(?3))",
                Some(t),
            ),
            // The shared lock first (waiting for an exclusive writer, as
            // every writer does), then the tenant's if nobody holds it.
            Scope::TryTenant(t) => (
                "SELECT pg_try_advisory_xact_lock(?2, hashtext(?3))
                 FROM (SELECT pg_advisory_xact_lock_shared(?1)) AS shared",
                Some(t),
            ),
        };
        let params = match tenant {
            Some(t) => vec![P::Int(WRITE_LOCK), P::Int(TENANT_LOCKS.into()), t.to_p()],
            None => vec![P::Int(WRITE_LOCK)],
        };
        let try_only = matches!(scope, Scope::TryTenant(_));
        // A tenant's write first applies the tenant's due transitions:
        // whether any falls due soon comes with the locks.
        let due_of = match (scope, due_by) {
            (Scope::Tenant(t), Some(by)) => Some((t, by)),
            _ => None,
        };
        // The use case's first reads, after the due check: only a tenant's
        // write (a sweep's `TryTenant` may not get its lock).
        let reads = match scope {
            Scope::Tenant(_) => reads,
            _ => Vec::new(),
        };
        if matches!(scope, Scope::All) {
            self.session.store_id = None;
        }
        // The notification every commit sends, prepared once per
        // connection (outside any transaction): sent in the commit's
        // simple query as EXECUTE, it is neither parsed nor planned again.
        if !self.session.notify_prepared {
            rt.block_on(client.batch_execute(NOTIFY_PREPARE))
                .map_err(pg_error)?;
            self.session.notify_prepared = true;
        }
        let (pg_tx, locked) = PgTx::begin_with(
            client,
            rt,
            &mut self.session,
            sql,
            &params,
            try_only,
            Ahead { due_of, reads },
        )?;
        let mut tx = Tx::pg(pg_tx);
        if !locked {
            return Ok(None); // dropping `tx` rolls it back
        }
        tx.scope = scope.tenant().map(str::to_string);
        let out = f(&tx)?;
        // Tell the other instances, and commit, in one round trip.
        // (One statement: the change mark is the notification's payload.)
        tx.commit_after("EXECUTE lockbox_notify")?;
        Ok(Some(out))
    }

    /// Run `f` in a read transaction (one consistent snapshot).
    pub(super) fn read<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.conn()?;
        let Some(Conn { rt, client, .. }) = self.conn.as_mut() else {
            return Err(Error::internal("no PostgreSQL connection"));
        };
        let tx = rt
            .block_on(
                client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start(),
            )
            .map_err(pg_error)?;
        let tx = Tx::pg(PgTx::new(tx, rt, &mut self.session));
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Moves whenever anyone commits a write to this database.
    pub(super) fn change_mark(&mut self) -> Result<i64> {
        let conn = self.conn()?;
        let row = conn
            .rt
            .block_on(
                conn.client
                    .query_one("SELECT last_value FROM lockbox_changes", &[]),
            )
            .map_err(pg_error)?;
        Ok(row.get(0))
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            drop_off_runtime(c);
        }
    }
}

thread_local! {
    /// Set while this thread runs [`on_blocking_thread`]'s closure.
    static MAY_BLOCK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` on a thread that drives no async tasks although it belongs to an
/// async runtime (tokio's blocking pool: `spawn_blocking`): the client may
/// block here, so [`off_runtime`] calls straight through instead of
/// spawning a thread per statement. (A blocking-pool thread never runs an
/// async task, so the mark cannot leak to one.)
pub fn on_blocking_thread<T>(f: impl FnOnce() -> T) -> T {
    let before = MAY_BLOCK.replace(true);
    let out = f();
    MAY_BLOCK.set(before);
    out
}

/// The postgres crate's blocking client runs its own small runtime: it must
/// not block a thread that drives an async runtime (tokio panics). Work done
/// on such a thread (an engine opened or dropped inside async code) runs on
/// a helper thread instead; an engine used through `EngineHandle` runs on
/// tokio's blocking threads, where blocking is allowed.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if MAY_BLOCK.get() || tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    })
}

/// Close a connection (a blocking goodbye to the server) off any async runtime.
fn drop_off_runtime(conn: Conn) {
    if tokio::runtime::Handle::try_current().is_err() {
        conn.close();
    } else {
        std::thread::spawn(move || conn.close());
    }
}

/// Hear every write to the PostgreSQL store at `url`, by anyone: `on_change`
/// runs for each committed write transaction (`NOTIFY lockbox_changes`, sent
/// by [`PgConn::write`]), so every `lockbox serve` on one database wakes at
/// once for what another one did, without polling. A lost connection is
/// re-opened after a second (and `on_change` called once: something may have
/// been missed meanwhile). Runs until dropped; needs a tokio runtime.
pub async fn listen_for_changes(url: String, on_change: impl Fn() + Send + 'static) {
    let store = redact(&url);
    let (rest, root_file) = take_param(&url, "sslrootcert");
    let config: tokio_postgres::Config = match rest.parse() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(store = %store, "change listener: not a PostgreSQL URL: {e}");
            return;
        }
    };
    let mut first = true;
    loop {
        if !first {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        let tls = match tls_connector(root_file.as_deref()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(store = %store, "change listener: {}", e.message);
                return;
            }
        };
        let (client, mut conn) = match config.connect(tls).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(store = %store, "change listener cannot connect: {e}");
                first = false;
                continue;
            }
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                    Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => {
                        if tx.send(()).is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return,
                }
            }
        });
        if let Err(e) = client.batch_execute("LISTEN lockbox_changes").await {
            tracing::warn!(store = %store, "change listener: LISTEN failed: {e}");
            driver.abort();
            first = false;
            continue;
        }
        if !first {
            on_change();
        }
        first = false;
        tracing::info!(store = %store, "listening for changes by other instances");
        while rx.recv().await.is_some() {
            on_change();
        }
        tracing::warn!(store = %store, "change listener: connection lost, reconnecting");
        drop(client);
    }
}

fn schema_too_new(v: i64) -> Error {
    Error::new(
        ErrorCode::SchemaTooNew,
        format!(
            "this PostgreSQL store has schema version {v}, written by a newer Lockbox; this build \
             understands up to version {PG_SCHEMA_VERSION}. Upgrade Lockbox to use it."
        ),
    )
}

/// `url` without its query parameter `name`, and that parameter's value.
fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => {
                value = Some(v.to_string());
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_string(), value)
    } else {
        (format!("{base}?{}", kept.join("&")), value)
    }
}

/// TLS to the database: rustls with ring; the system's roots, or only the
/// CA certificates in `root_file`.
fn tls_connector(root_file: Option<&str>) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    let bad = |what: String| Error::new(ErrorCode::InvalidInput, what);
    match root_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| bad(format!("cannot read sslrootcert {path}: {e}")))?;
            use rustls::pki_types::pem::PemObject;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
            }
            if roots.is_empty() {
                return Err(bad(format!("sslrootcert {path} holds no certificate")));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A system root rustls cannot parse is skipped, as browsers do.
                let _ = roots.add(cert);
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::internal(format!("TLS setup: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_left_out_of_messages() {
        assert_eq!(
            redact("postgres://lockbox:s3cret@db.example:5432/lockbox?sslmode=require"),
            "postgres://lockbox:***@db.example:5432/lockbox?sslmode=require"
        );
        assert_eq!(redact("postgres://db/lockbox"), "postgres://db/lockbox");
    }

    #[test]
    fn the_ca_file_is_taken_out_of_the_url() {
        assert_eq!(
            take_param(
                "postgres://h/db?sslmode=require&sslrootcert=/etc/ca.pem",
                "sslrootcert"
            ),
            (
                "postgres://h/db?sslmode=require".to_string(),
                Some("/etc/ca.pem".to_string())
            )
        );
        assert_eq!(
            take_param("postgres://h/db?sslrootcert=/ca.pem", "sslrootcert"),
            ("postgres://h/db".to_string(), Some("/ca.pem".to_string()))
        );
        assert!(is_postgres_url("postgresql://h/db") && !is_postgres_url("/var/lib/lockbox.db"));
    }
}
