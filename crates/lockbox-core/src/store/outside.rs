//! For tests (`crate::testing`): SQL sent to a store from outside the
//! engine, as another program or an attacker with the database would. Here
//! because SQL lives only in the store layer.

use super::StoreLocation;

/// SQL run on the store at `loc` from outside the engine, as another
/// program (or an attacker with the database) would: `sqlite` on a store
/// file, `postgres` on a database.
pub fn outside_execute(loc: &StoreLocation, sqlite: &str, postgres: &str) {
    match loc {
        StoreLocation::File(p) => rusqlite::Connection::open(p)
            .and_then(|c| c.execute_batch(sqlite))
            .unwrap_or_else(|e| panic!("{sqlite}: {e}")),
        StoreLocation::Postgres(url) => outside_pg(url)
            .batch_execute(postgres)
            .unwrap_or_else(|e| panic!("{postgres}: {e}")),
    }
}

/// One number the store at `loc` answers to `sql` (the same text on both backends).
pub fn outside_count(loc: &StoreLocation, sql: &str) -> i64 {
    match loc {
        StoreLocation::File(p) => rusqlite::Connection::open(p)
            .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
        StoreLocation::Postgres(url) => outside_pg(url)
            .query_one(sql, &[])
            .map(|r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
    }
}

fn outside_pg(url: &str) -> postgres::Client {
    super::pg::off_runtime(|| postgres::Client::connect(url, postgres::NoTls))
        .unwrap_or_else(|e| panic!("cannot reach {url}: {e}"))
}

/// Another program holding the store's write lock until [`release`](WriteLockHeld::release)
/// (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the lock every writer takes).
pub struct WriteLockHeld(Held);

enum Held {
    File(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl WriteLockHeld {
    pub fn take(loc: &StoreLocation) -> WriteLockHeld {
        WriteLockHeld(match loc {
            StoreLocation::File(p) => {
                let c = rusqlite::Connection::open(p).expect("open the store file");
                c.execute_batch("BEGIN IMMEDIATE")
                    .expect("take the write lock");
                Held::File(c)
            }
            StoreLocation::Postgres(url) => {
                let mut c = outside_pg(url);
                c.batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({})",
                    super::pg::WRITE_LOCK
                ))
                .expect("take the write lock");
                Held::Postgres(c)
            }
        })
    }

    pub fn release(self) {
        match self.0 {
            Held::File(c) => c.execute_batch("COMMIT").expect("commit"),
            Held::Postgres(mut c) => c.batch_execute("COMMIT").expect("commit"),
        }
    }
}
