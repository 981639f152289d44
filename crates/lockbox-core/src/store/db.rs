//! One way to run SQL on either backend: typed parameters in ([`P`], the
//! [`p!`] macro), typed columns out ([`Row::get`]). Every query of the store
//! goes through [`Tx::rows`], [`Tx::opt`], [`Tx::one`], [`Tx::each`] or
//! [`Tx::exec`], so each is written once and runs on SQLite and on PostgreSQL.
//!
//! Statements are written in the SQL both understand, with SQLite's
//! placeholders (`?1`, `?`). For PostgreSQL a statement is translated once
//! (then cached, prepared, per connection) by [`super::dialect::to_postgres`]: placeholders
//! become `$n`, `INDEXED BY` hints go, `LIKE` becomes `ILIKE` (SQLite's LIKE
//! ignores ASCII case) and `IFNULL` `COALESCE`. The few statements that need
//! another spelling choose it with [`Tx::dialect`].
//!
//! Both schemas store integers as 64-bit (`INTEGER` / `BIGINT`), text as text
//! (`TEXT COLLATE "C"` on PostgreSQL, so that ordering is bytewise as in
//! SQLite) and flags as 0/1 integers, so one parameter and column mapping fits both.

use super::errors::pg_error;
use crate::{Error, Result};
use std::borrow::Cow;
use std::cell::RefCell;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};
use tokio_postgres::Statement;

use super::pg_tx::PgTx;

pub use super::dialect::Dialect;

/// A statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum P<'a> {
    Null,
    Int(i64),
    Text(Cow<'a, str>),
}

impl P<'_> {
    /// The same parameter, owning its text.
    pub fn to_static(&self) -> P<'static> {
        match self {
            P::Null => P::Null,
            P::Int(i) => P::Int(*i),
            P::Text(s) => P::Text(Cow::Owned(s.to_string())),
        }
    }
}

/// A read sent ahead of the use case that makes it
/// ([`super::Store::reads_first`]): its statement and parameters, and on
/// PostgreSQL, once sent with BEGIN, its rows.
pub(super) struct Prefetched {
    pub(super) sql: &'static str,
    pub(super) params: Vec<P<'static>>,
    pub(super) rows: Vec<tokio_postgres::Row>,
}

impl Prefetched {
    pub(super) fn new(sql: &'static str, params: Vec<P<'static>>) -> Prefetched {
        Prefetched {
            sql,
            params,
            rows: Vec::new(),
        }
    }
}

/// What can be a parameter.
pub trait ToP {
    fn to_p(&self) -> P<'_>;
}

impl ToP for str {
    fn to_p(&self) -> P<'_> {
        P::Text(Cow::Borrowed(self))
    }
}
impl ToP for String {
    fn to_p(&self) -> P<'_> {
        P::Text(Cow::Borrowed(self.as_str()))
    }
}
impl ToP for P<'_> {
    fn to_p(&self) -> P<'_> {
        match self {
            P::Null => P::Null,
            P::Int(i) => P::Int(*i),
            P::Text(s) => P::Text(Cow::Borrowed(s.as_ref())),
        }
    }
}
macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl ToP for $t {
            fn to_p(&self) -> P<'_> {
                P::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_param!(i64, i32, u32, u64, usize, u16, u8);
impl ToP for bool {
    fn to_p(&self) -> P<'_> {
        P::Int(i64::from(*self))
    }
}
impl<T: ToP> ToP for Option<T> {
    fn to_p(&self) -> P<'_> {
        match self {
            Some(v) => v.to_p(),
            None => P::Null,
        }
    }
}
impl<T: ToP + ?Sized> ToP for &T {
    fn to_p(&self) -> P<'_> {
        (**self).to_p()
    }
}

/// Statement parameters: `p![tenant, id, limit]`.
macro_rules! p {
    ($($x:expr),* $(,)?) => {
        &[$($crate::store::db::ToP::to_p(&$x)),*] as &[$crate::store::db::P<'_>]
    };
}
pub(crate) use p;

impl rusqlite::ToSql for P<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            P::Null => ToSqlOutput::Owned(Value::Null),
            P::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            P::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for P<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        match self {
            P::Null => Ok(IsNull::Yes),
            P::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => Err(format!("an integer parameter where PostgreSQL expects {ty}").into()),
            },
            P::Text(s) => s.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// An integer column of any width (PostgreSQL types `count(*)` as BIGINT but
/// a literal as INTEGER, a comparison as BOOLEAN).
struct PgInt(i64);

impl<'a> FromSql<'a> for PgInt {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(PgInt(match *ty {
            Type::INT8 => i64::from_sql(ty, raw)?,
            Type::INT4 => i32::from_sql(ty, raw)?.into(),
            Type::INT2 => i16::from_sql(ty, raw)?.into(),
            Type::BOOL => bool::from_sql(ty, raw)?.into(),
            _ => return Err(format!("column of type {ty} read as an integer").into()),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL)
    }
}

/// What a column can be read as.
pub trait FromCol: Sized {
    fn lite(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Self, String>;
    fn pg(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Self, String>;
}

fn lite_int(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Option<i64>, String> {
    match v {
        rusqlite::types::ValueRef::Null => Ok(None),
        rusqlite::types::ValueRef::Integer(i) => Ok(Some(i)),
        other => Err(format!(
            "expected an integer, found {:?}",
            other.data_type()
        )),
    }
}
fn lite_text(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Option<String>, String> {
    match v {
        rusqlite::types::ValueRef::Null => Ok(None),
        rusqlite::types::ValueRef::Text(t) => String::from_utf8(t.to_vec())
            .map(Some)
            .map_err(|e| e.to_string()),
        other => Err(format!("expected text, found {:?}", other.data_type())),
    }
}
fn pg_int(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Option<i64>, String> {
    r.try_get::<_, Option<PgInt>>(i)
        .map(|v| v.map(|v| v.0))
        .map_err(|e| e.to_string())
}
fn pg_text(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Option<String>, String> {
    r.try_get::<_, Option<String>>(i).map_err(|e| e.to_string())
}
fn need<T>(v: Option<T>) -> std::result::Result<T, String> {
    v.ok_or_else(|| "unexpected NULL".to_string())
}

macro_rules! int_col {
    ($($t:ty),*) => {$(
        impl FromCol for $t {
            fn lite(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Self, String> {
                <$t>::try_from(need(lite_int(v)?)?).map_err(|e| e.to_string())
            }
            fn pg(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Self, String> {
                <$t>::try_from(need(pg_int(r, i)?)?).map_err(|e| e.to_string())
            }
        }
        impl FromCol for Option<$t> {
            fn lite(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Self, String> {
                lite_int(v)?.map(<$t>::try_from).transpose().map_err(|e| e.to_string())
            }
            fn pg(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Self, String> {
                pg_int(r, i)?.map(<$t>::try_from).transpose().map_err(|e| e.to_string())
            }
        }
    )*};
}
int_col!(i64, i32, u32, u64, u16);

impl FromCol for bool {
    fn lite(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Self, String> {
        Ok(need(lite_int(v)?)? != 0)
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Self, String> {
        Ok(need(pg_int(r, i)?)? != 0)
    }
}
impl FromCol for String {
    fn lite(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Self, String> {
        need(lite_text(v)?)
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Self, String> {
        need(pg_text(r, i)?)
    }
}
impl FromCol for Option<String> {
    fn lite(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Self, String> {
        lite_text(v)
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Self, String> {
        pg_text(r, i)
    }
}

/// Any column, as a parameter again (copying rows between stores). The
/// schema holds integers and text only.
impl FromCol for P<'static> {
    fn lite(v: rusqlite::types::ValueRef<'_>) -> std::result::Result<Self, String> {
        use rusqlite::types::ValueRef;
        match v {
            ValueRef::Null => Ok(P::Null),
            ValueRef::Integer(i) => Ok(P::Int(i)),
            ValueRef::Text(t) => String::from_utf8(t.to_vec())
                .map(|s| P::Text(Cow::Owned(s)))
                .map_err(|e| e.to_string()),
            other => Err(format!("unexpected {:?} value", other.data_type())),
        }
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Self, String> {
        let ty = r.columns().get(i).map(|c| c.type_().clone());
        match ty {
            Some(Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL) => {
                Ok(pg_int(r, i)?.map_or(P::Null, P::Int))
            }
            Some(_) => Ok(pg_text(r, i)?.map_or(P::Null, |s| P::Text(Cow::Owned(s)))),
            None => Err(format!("no column {i}")),
        }
    }
}

/// A result row of either backend.
pub enum Row<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r tokio_postgres::Row),
}

impl Row<'_> {
    /// Column `i` (0-based) as `T`.
    pub fn get<T: FromCol>(&self, i: usize) -> Result<T> {
        let v = match self {
            Row::Lite(r) => r
                .get_ref(i)
                .map_err(Error::from)
                .and_then(|v| T::lite(v).map_err(Error::internal)),
            Row::Pg(r) => T::pg(r, i).map_err(Error::internal),
        };
        v.map_err(|e| Error::internal(format!("store column {i}: {}", e.message)))
    }

    /// Column `i` as text, borrowed (the verifier reads millions).
    pub fn text(&self, i: usize) -> Result<Option<&str>> {
        match self {
            Row::Lite(r) => match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Ok(None),
                rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                    .map(Some)
                    .map_err(|e| Error::internal(format!("store column {i}: {e}"))),
                other => Err(Error::internal(format!(
                    "store column {i}: expected text, found {:?}",
                    other.data_type()
                ))),
            },
            Row::Pg(r) => r
                .try_get::<_, Option<&str>>(i)
                .map_err(|e| Error::internal(format!("store column {i}: {e}"))),
        }
    }
}

/// A transaction on the store; typed methods only.
pub struct Tx<'c> {
    pub(super) inner: Inner<'c>,
    /// The one tenant a tenant-scoped write may change (it holds that
    /// tenant's lock only); `None`: every tenant.
    pub(super) scope: Option<String>,
}

pub(super) enum Inner<'c> {
    Lite(rusqlite::Transaction<'c>),
    Pg(RefCell<PgTx<'c>>),
}

impl<'c> Tx<'c> {
    pub(super) fn lite(tx: rusqlite::Transaction<'c>) -> Tx<'c> {
        Tx {
            inner: Inner::Lite(tx),
            scope: None,
        }
    }

    pub(super) fn pg(tx: PgTx<'c>) -> Tx<'c> {
        Tx {
            inner: Inner::Pg(RefCell::new(tx)),
            scope: None,
        }
    }

    pub(super) fn commit(self) -> Result<()> {
        match self.inner {
            Inner::Lite(tx) => Ok(tx.commit()?),
            Inner::Pg(_) => self.commit_after(""),
        }
    }

    /// Run `sql` (statements without parameters), then commit: on
    /// PostgreSQL in one round trip (one simple query ending in `COMMIT`).
    pub(super) fn commit_after(self, sql: &str) -> Result<()> {
        match self.inner {
            Inner::Lite(tx) => {
                tx.execute_batch(sql)?;
                Ok(tx.commit()?)
            }
            Inner::Pg(tx) => tx.into_inner().commit_after(sql),
        }
    }

    /// Refuse a change to `tenant` in a write scoped to another tenant: it
    /// does not hold that tenant's lock (a bug, not bad input).
    pub(super) fn in_scope(&self, tenant: &str) -> Result<()> {
        match &self.scope {
            Some(s) if s != tenant => Err(Error::internal(format!(
                "a write scoped to tenant '{s}' tried to change tenant '{tenant}'"
            ))),
            _ => Ok(()),
        }
    }

    /// The SQL this transaction speaks.
    pub fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Lite(_) => Dialect::Sqlite,
            Inner::Pg(_) => Dialect::Postgres,
        }
    }

    pub(super) fn is_sqlite(&self) -> bool {
        self.dialect() == Dialect::Sqlite
    }

    /// `sqlite` on SQLite, `postgres` on PostgreSQL.
    pub(super) fn pick<'s>(&self, sqlite: &'s str, postgres: &'s str) -> &'s str {
        match self.dialect() {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }

    /// The SQLite transaction (SQLite-only tests: query plans).
    #[cfg(test)]
    pub(super) fn sqlite(&self) -> Option<&rusqlite::Transaction<'c>> {
        match &self.inner {
            Inner::Lite(tx) => Some(tx),
            Inner::Pg(_) => None,
        }
    }

    /// Every row of `sql`, through `f`.
    pub(super) fn rows<T>(
        &self,
        sql: &str,
        params: &[P<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, |r| {
            out.push(f(r)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// The first row of `sql` through `f`, if there is one.
    pub(super) fn opt<T>(
        &self,
        sql: &str,
        params: &[P<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.each(sql, params, |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(false)
        })?;
        Ok(out)
    }

    /// The first row of `sql` through `f`; an error if there is none.
    pub(super) fn one<T>(
        &self,
        sql: &str,
        params: &[P<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.opt(sql, params, f)?
            .ok_or_else(|| Error::internal(format!("the store returned no row for: {sql}")))
    }

    /// Rows of `sql` through `f`, streamed, until `f` says stop (`false`).
    /// Returns how many rows `f` saw.
    pub(super) fn each(
        &self,
        sql: &str,
        params: &[P<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<u64> {
        match &self.inner {
            Inner::Lite(tx) => {
                let mut n = 0;
                let mut st = tx.prepare_cached(sql)?;
                let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
                while let Some(r) = rows.next()? {
                    n += 1;
                    if !f(&Row::Lite(r))? {
                        break;
                    }
                }
                Ok(n)
            }
            Inner::Pg(tx) => tx.borrow_mut().each(sql, params, f),
        }
    }

    /// Run a statement; how many rows it changed.
    pub(super) fn exec(&self, sql: &str, params: &[P<'_>]) -> Result<u64> {
        match &self.inner {
            Inner::Lite(tx) => Ok(tx
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(params.iter()))?
                as u64),
            Inner::Pg(tx) => tx.borrow_mut().exec(sql, params),
        }
    }

    /// Run a statement whose answer nobody waits for (an insert, an update,
    /// a lock): on PostgreSQL it is sent with the transaction's next
    /// statement or its commit, in order, so several cost one round trip.
    /// A failure fails that next call (and so the transaction). `one_row`:
    /// the error if it does not change exactly one row (on PostgreSQL the
    /// server checks it, so that it fails the statement and the rest of the
    /// transaction is skipped: see [`super::pg_tx::one_row_checked`]).
    pub(super) fn put(&self, sql: &str, params: &[P<'_>], one_row: Option<&str>) -> Result<()> {
        match &self.inner {
            Inner::Lite(_) => {
                let n = self.exec(sql, params)?;
                match one_row {
                    Some(what) if n != 1 => Err(Error::internal(what)),
                    _ => Ok(()),
                }
            }
            Inner::Pg(tx) => tx.borrow_mut().put(sql, params, one_row),
        }
    }
}

/// A statement prepared for [`Query::open`]: several cursors of one
/// transaction read side by side (a merge of ordered queries).
pub(super) enum Query<'t, 'c> {
    Lite(rusqlite::Statement<'t>),
    Pg(&'t RefCell<PgTx<'c>>, Statement),
}

/// An open cursor of a [`Query`]: rows one at a time. On PostgreSQL a
/// portal read in batches, so that several stay open in one transaction.
pub(super) enum Cursor<'q, 'c> {
    Lite(rusqlite::Rows<'q>),
    Pg {
        tx: &'q RefCell<PgTx<'c>>,
        portal: tokio_postgres::Portal,
        buf: std::collections::VecDeque<tokio_postgres::Row>,
        done: bool,
    },
}

/// Rows a PostgreSQL cursor fetches at a time.
const PG_BATCH: i32 = 2000;

impl<'c> Tx<'c> {
    /// Prepare `sql` (no parameters) for a cursor.
    pub(super) fn query(&self, sql: &str) -> Result<Query<'_, 'c>> {
        Ok(match &self.inner {
            Inner::Lite(tx) => Query::Lite(tx.prepare(sql)?),
            Inner::Pg(tx) => {
                let st = tx.borrow_mut().statement(sql)?;
                Query::Pg(tx, st)
            }
        })
    }
}

impl<'c> Query<'_, 'c> {
    pub(super) fn open(&mut self) -> Result<Cursor<'_, 'c>> {
        Ok(match self {
            Query::Lite(st) => Cursor::Lite(st.query([])?),
            Query::Pg(tx, st) => {
                let mut t = tx.borrow_mut();
                let rt = t.rt;
                let lib = t.for_cursor()?;
                let portal = rt.block_on(lib.bind(&*st, &[])).map_err(pg_error)?;
                drop(t);
                Cursor::Pg {
                    tx,
                    portal,
                    buf: Default::default(),
                    done: false,
                }
            }
        })
    }
}

impl Cursor<'_, '_> {
    /// The next row through `f`, or `None` at the end.
    pub(super) fn next<T>(&mut self, f: impl FnOnce(&Row<'_>) -> Result<T>) -> Result<Option<T>> {
        match self {
            Cursor::Lite(rows) => match rows.next()? {
                Some(r) => Ok(Some(f(&Row::Lite(r))?)),
                None => Ok(None),
            },
            Cursor::Pg {
                tx,
                portal,
                buf,
                done,
            } => {
                if buf.is_empty() && !*done {
                    let mut t = tx.borrow_mut();
                    let rt = t.rt;
                    let lib = t.for_cursor()?;
                    let rows = rt
                        .block_on(lib.query_portal(portal, PG_BATCH))
                        .map_err(pg_error)?;
                    *done = rows.len() < PG_BATCH as usize;
                    buf.extend(rows);
                }
                match buf.pop_front() {
                    Some(r) => Ok(Some(f(&Row::Pg(&r))?)),
                    None => Ok(None),
                }
            }
        }
    }
}
