//! What the PostgreSQL server benchmarks (9 and 10) share: the server,
//! databases made and cloned on it, tenants, and SQL counts.

use lockbox_bench::BoxResult;
use lockbox_core::{Engine, Principal};
use std::time::Duration;

/// The admin URL: `--pg URL`, else a throwaway cluster started for the run
/// (`lockbox_core::testing`: fsync off, 64 MB shared buffers).
pub fn admin_url(pg: Option<&str>) -> String {
    pg.map_or_else(lockbox_core::testing::server_url, str::to_string)
}

/// How the server is described in the headers.
pub fn describe(pg: Option<&str>) -> String {
    pg.map_or(
        "a throwaway cluster (fsync off)".to_string(),
        lockbox_core::store::pg::redact,
    )
}

/// `url` naming database `db` instead of its own.
pub fn db_url(url: &str, db: &str) -> String {
    lockbox_core::testing::with_database(url, db)
}

/// Drop database `name` (its connections too).
pub fn drop_db(admin: &str, name: &str) -> BoxResult<()> {
    let mut c = postgres::Client::connect(admin, postgres::NoTls)?;
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    Ok(())
}

/// A new database `name` (dropped first if there), empty or a copy of
/// `template` (a file-level copy: seconds for 100 000s of requests). Its URL.
pub fn create_db(admin: &str, name: &str, template: Option<&str>) -> BoxResult<String> {
    let mut c = postgres::Client::connect(admin, postgres::NoTls)?;
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    let sql = match template {
        Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
        None => format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        ),
    };
    // A template's last connection may still be closing on the server.
    let mut tries = 0;
    loop {
        match c.batch_execute(&sql) {
            Ok(()) => break,
            Err(e) if tries < 50 && e.to_string().contains("being accessed") => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(db_url(admin, name))
}

/// Tenants `t000`, `t001`, ... added by `root` (admin of `default`) through
/// the engine, as `lockbox tenant add` does; `root` is their first admin.
pub fn add_tenants(e: &mut Engine, n: usize) -> BoxResult<Vec<String>> {
    let root = Principal::os_user("root", 0);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("t{i:03}");
        e.add_tenant("default", &root, &id, &format!("Tenant {i}"))?;
        out.push(id);
    }
    Ok(out)
}

/// One number from SQL.
pub fn count(c: &mut postgres::Client, sql: &str) -> BoxResult<i64> {
    Ok(c.query_one(sql, &[])?.get::<_, i64>(0))
}

/// `pg_size_pretty(pg_database_size(current_database()))`.
pub fn db_size(c: &mut postgres::Client) -> BoxResult<String> {
    Ok(c.query_one(
        "SELECT pg_size_pretty(pg_database_size(current_database()))",
        &[],
    )?
    .get(0))
}
