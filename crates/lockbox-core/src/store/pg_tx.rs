//! A PostgreSQL transaction of the store ([`PgTx`], behind [`super::db::Tx`]):
//! how it is opened (by the client library for a read; by hand for a write,
//! BEGIN and its locks as one message), and the statements it sends without
//! waiting for their answers ([`super::db::Tx::put`], pipelined).

use super::db::{Row, P};
use super::dialect::to_postgres;
use super::errors::pg_error;
use crate::{Error, Result};
use std::collections::HashMap;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

/// A PostgreSQL transaction, the runtime that drives its connection, and
/// the connection's prepared statements.
pub struct PgTx<'c> {
    pub(super) txn: Txn<'c>,
    pub(super) rt: &'c tokio::runtime::Runtime,
    stmts: &'c mut HashMap<String, Statement>,
    /// Statements whose answers nobody waits for ([`Tx::put`]), not sent yet.
    pub(super) queued: Vec<Queued>,
}

/// How a transaction was opened.
pub(super) enum Txn<'c> {
    /// By the client library (a read: its cursors need it).
    Lib(tokio_postgres::Transaction<'c>),
    /// By hand (a write), so that BEGIN and the write's locks go out as one
    /// message.
    Hand(Hand<'c>),
}

/// A transaction opened by hand: rolled back when dropped before its commit.
pub(super) struct Hand<'c> {
    pub(super) client: &'c Client,
    pub(super) done: bool,
}

impl Txn<'_> {
    pub(super) fn client(&self) -> &Client {
        match self {
            Txn::Lib(t) => t.client(),
            Txn::Hand(h) => h.client,
        }
    }
}

impl Drop for Hand<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Sent on the first poll; the answer is not waited for (the
            // connection reads it while it runs the next statement), as the
            // library does for its own transactions.
            use futures_util::FutureExt;
            let _ = self.client.batch_execute("ROLLBACK").now_or_never();
        }
    }
}

/// A statement of [`Tx::put`], waiting to go out with the next one.
pub(super) struct Queued {
    pub(super) st: Statement,
    pub(super) params: Vec<P<'static>>,
    /// The error if it does not change exactly one row.
    pub(super) one_row: Option<String>,
}

impl<'c> PgTx<'c> {
    /// A transaction the client library opened.
    pub(super) fn new(
        tx: tokio_postgres::Transaction<'c>,
        rt: &'c tokio::runtime::Runtime,
        stmts: &'c mut HashMap<String, Statement>,
    ) -> PgTx<'c> {
        PgTx {
            txn: Txn::Lib(tx),
            rt,
            stmts,
            queued: Vec::new(),
        }
    }

    /// Open a write transaction by hand: BEGIN and `first` (a statement of
    /// one row: the locks) sent as one message. With `answer`, the row's
    /// first column (a boolean), else true.
    pub(super) fn begin_with(
        client: &'c Client,
        rt: &'c tokio::runtime::Runtime,
        stmts: &'c mut HashMap<String, Statement>,
        first: &str,
        params: &[P<'_>],
        answer: bool,
    ) -> Result<(PgTx<'c>, bool)> {
        let mut tx = PgTx {
            txn: Txn::Hand(Hand {
                client,
                done: false,
            }),
            rt,
            stmts,
            queued: Vec::new(),
        };
        let st = tx.statement(first)?;
        let (begun, row) = rt.block_on(futures_util::future::join(
            client.batch_execute("BEGIN"),
            client.query_one(&st, &pg_params(params)),
        ));
        begun.map_err(pg_error)?;
        let row = row.map_err(pg_error)?;
        let first = if answer { Row::Pg(&row).get(0)? } else { true };
        Ok((tx, first))
    }

    pub(super) fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let st = self
            .rt
            .block_on(self.txn.client().prepare(&to_postgres(sql)))
            .map_err(|e| {
                let e = pg_error(e);
                Error::new(e.code, format!("{} (in: {})", e.message, to_postgres(sql)))
            })?;
        self.stmts.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    /// The library's transaction, for a cursor (its portals need one: a
    /// read), once the queued statements are answered.
    pub(super) fn for_cursor(&mut self) -> Result<&tokio_postgres::Transaction<'c>> {
        self.flush()?;
        match &self.txn {
            Txn::Lib(lib) => Ok(lib),
            Txn::Hand(_) => Err(Error::internal("a cursor outside a read transaction")),
        }
    }

    /// Send the queued statements and wait for their answers.
    pub(super) fn flush(&mut self) -> Result<()> {
        if self.queued.is_empty() {
            return Ok(());
        }
        let q = std::mem::take(&mut self.queued);
        self.rt.block_on(run_queued(self.txn.client(), &q))
    }
}

/// Run `q` in order, every statement sent before the first answer is awaited
/// (one round trip). The first failure is the answer; the server skips what
/// follows it in the transaction (which is then rolled back).
pub(super) async fn run_queued(tx: &Client, q: &[Queued]) -> Result<()> {
    use std::future::Future;
    use std::task::Poll;
    if q.is_empty() {
        return Ok(());
    }
    let params: Vec<Vec<&(dyn ToSql + Sync)>> = q.iter().map(|x| pg_params(&x.params)).collect();
    // Polled in order: each is sent (into the connection's queue) on its
    // first poll, so they go out in the order they were queued.
    let mut sends: Vec<_> = q
        .iter()
        .zip(&params)
        .map(|(x, p)| Box::pin(tx.execute(&x.st, p.as_slice())))
        .collect();
    let mut outs: Vec<Option<std::result::Result<u64, tokio_postgres::Error>>> =
        q.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in sends.iter_mut().zip(outs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    for (x, out) in q.iter().zip(outs.into_iter().flatten()) {
        let n = out.map_err(pg_error)?;
        if let Some(what) = &x.one_row {
            if n != 1 {
                return Err(Error::internal(what.clone()));
            }
        }
    }
    Ok(())
}

pub(super) fn pg_params<'a>(params: &'a [P<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}
