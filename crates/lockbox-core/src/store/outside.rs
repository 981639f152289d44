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
    outside_rows(loc, sql)[0][0].int()
}

/// A value of an [`outside_rows`] row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

impl Cell {
    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Cell::Null => None,
            Cell::Int(i) => Some(*i),
            Cell::Text(t) => panic!("{t:?} is not an integer"),
        }
    }

    pub fn int(&self) -> i64 {
        self.opt_int().expect("an integer, not NULL")
    }

    pub fn opt_text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Text(t) => Some(t.clone()),
            Cell::Int(i) => panic!("{i} is not text"),
        }
    }

    pub fn text(&self) -> String {
        self.opt_text().expect("text, not NULL")
    }
}

/// The rows of `sql` on the store at `loc` (one text for both backends):
/// integers, text and NULLs.
pub fn outside_rows(loc: &StoreLocation, sql: &str) -> Vec<Vec<Cell>> {
    match loc {
        StoreLocation::File(p) => {
            let c =
                rusqlite::Connection::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let mut q = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let n = q.column_count();
            q.query_map([], |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => Cell::Null,
                            rusqlite::types::ValueRef::Integer(v) => Cell::Int(v),
                            rusqlite::types::ValueRef::Text(t) => {
                                Cell::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            other => panic!("{sql}: column {i} is {:?}", other.data_type()),
                        })
                    })
                    .collect()
            })
            .and_then(|rows| rows.collect::<Result<_, _>>())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
        StoreLocation::Postgres(url) => {
            use postgres::types::Type;
            let rows = outside_pg(url)
                .query(sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            let t = r.columns()[i].type_();
                            let v = if *t == Type::INT8 {
                                r.get::<_, Option<i64>>(i).map(Cell::Int)
                            } else if *t == Type::INT4 {
                                r.get::<_, Option<i32>>(i).map(|v| Cell::Int(v.into()))
                            } else if *t == Type::TEXT || *t == Type::VARCHAR || *t == Type::NAME {
                                r.get::<_, Option<String>>(i).map(Cell::Text)
                            } else {
                                panic!("{sql}: column {i} is {t}")
                            };
                            v.unwrap_or(Cell::Null)
                        })
                        .collect()
                })
                .collect()
        }
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
