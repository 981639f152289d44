//! A PostgreSQL transaction of the store ([`PgTx`], behind [`super::db::Tx`]):
//! how it is opened (by the client library for a read; by hand for a write,
//! BEGIN and its locks as one message), how [`super::db::Tx`]'s statements
//! and commit run on it, and the statements it sends without waiting for
//! their answers ([`super::db::Tx::put`], pipelined).

use super::audit_log::{AuditTail, TenantTail};
use super::db::{Inner, Prefetched, Row, Tx, P};
use super::dialect::to_postgres;
use super::errors::pg_error;
use crate::{Error, Result};
use std::collections::HashMap;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

/// What one connection keeps between its transactions (all of it dropped
/// when the connection is replaced): its prepared statements, and what it
/// learnt that only a write of its own kind can change.
#[derive(Default)]
pub struct Session {
    stmts: HashMap<String, Statement>,
    /// The audit log's newest store position and the chain heads this
    /// connection wrote, as of its last commit that appended. Trusted only
    /// while the newest position is still that one (nobody has appended
    /// since: positions grow under one lock), which the first append of a
    /// transaction reads anyway (`Tx::tenant_tail`).
    pub(super) tails: Option<AuditTail>,
    /// The store's id, once read. Only a whole-store write can change it
    /// (`store copy` onto a new store): it forgets it (`PgConn::write`).
    pub(super) store_id: Option<String>,
    /// The commit's notification is prepared on this connection
    /// (`PgConn::write`).
    pub(super) notify_prepared: bool,
}

/// A PostgreSQL transaction, the runtime that drives its connection, and
/// the connection's [`Session`].
pub struct PgTx<'c> {
    pub(super) txn: Txn<'c>,
    pub(super) rt: &'c tokio::runtime::Runtime,
    pub(super) session: &'c mut Session,
    /// Statements whose answers nobody waits for ([`Tx::put`]), not sent yet.
    pub(super) queued: Vec<Queued>,
    /// A tenant, a moment (ms), and the tenant's earliest deadline if it
    /// is at or before that moment: read with BEGIN and the tenant's lock,
    /// forgotten at this transaction's first change.
    pub(super) next_due: Option<(String, i64, Option<i64>)>,
    /// Reads sent with BEGIN and their answers, each taken by the first
    /// identical read ([`Tx::each`]); all forgotten at the first change.
    pub(super) prefetched: Vec<Prefetched>,
    /// The chain heads this transaction wrote.
    pub(super) appended: Option<AuditTail>,
    /// The session's remembered heads were found current in this
    /// transaction (then they still are at its commit: it holds the
    /// positions lock).
    pub(super) tails_trusted: bool,
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

/// What a write's first message asks after its locks ([`PgTx::begin_with`]).
pub(super) struct Ahead<'a> {
    /// A tenant and a moment: whether anything of the tenant falls due by then.
    pub(super) due_of: Option<(&'a str, i64)>,
    /// The use case's first reads.
    pub(super) reads: Vec<Prefetched>,
}

/// A statement of [`Tx::put`], waiting to go out with the next one.
pub(super) struct Queued {
    pub(super) st: Statement,
    pub(super) params: Vec<P<'static>>,
    /// The error if it does not change exactly one row (the statement was
    /// prepared to fail then: [`one_row_checked`]).
    pub(super) one_row: Option<String>,
}

impl<'c> PgTx<'c> {
    /// A transaction the client library opened.
    pub(super) fn new(
        tx: tokio_postgres::Transaction<'c>,
        rt: &'c tokio::runtime::Runtime,
        session: &'c mut Session,
    ) -> PgTx<'c> {
        PgTx {
            txn: Txn::Lib(tx),
            rt,
            session,
            queued: Vec::new(),
            next_due: None,
            prefetched: Vec::new(),
            appended: None,
            tails_trusted: false,
        }
    }

    /// Open a write transaction by hand: BEGIN and `first` (a statement of
    /// one row: the locks) sent as one message. With `answer`, the row's
    /// first column (a boolean), else true. `ahead`: what else the message
    /// asks. With `due_of` (a tenant, a
    /// moment), whether anything of that tenant falls due by then is read
    /// in the same message, after the locks (a statement of its own: its
    /// snapshot is taken once they are held), so that a write with nothing
    /// due need not ask again ([`Tx::nothing_due`]). `reads` follow, each a
    /// statement of its own after the locks: their rows are what the use
    /// case reads first ([`super::Store::reads_first`]).
    pub(super) fn begin_with(
        client: &'c Client,
        rt: &'c tokio::runtime::Runtime,
        session: &'c mut Session,
        first: &str,
        params: &[P<'_>],
        answer: bool,
        ahead: Ahead<'_>,
    ) -> Result<(PgTx<'c>, bool)> {
        let Ahead { due_of, reads } = ahead;
        let mut tx = PgTx {
            txn: Txn::Hand(Hand {
                client,
                done: false,
            }),
            rt,
            session,
            queued: Vec::new(),
            next_due: None,
            prefetched: Vec::new(),
            appended: None,
            tails_trusted: false,
        };
        let st = tx.statement(first)?;
        let due_st = match due_of {
            Some(_) => Some(tx.statement(NEXT_DUE_OF)?),
            None => None,
        };
        let due_params: Vec<P<'_>> = due_of
            .map(|(t, by)| vec![P::Text(t.into()), P::Int(by)])
            .unwrap_or_default();
        let read_sts = reads
            .iter()
            .map(|r| tx.statement(r.sql))
            .collect::<Result<Vec<_>>>()?;
        let read_params: Vec<_> = reads.iter().map(|r| pg_params(&r.params)).collect();
        // Each is sent on its first poll, and the first poll of the whole
        // polls them in this order.
        let ((begun, row, due), read) = rt.block_on(futures_util::future::join(
            futures_util::future::join3(
                client.batch_execute("BEGIN"),
                client.query_one(&st, &pg_params(params)),
                async {
                    match &due_st {
                        Some(st) => client
                            .query_one(st, &pg_params(&due_params))
                            .await
                            .map(Some),
                        None => Ok(None),
                    }
                },
            ),
            futures_util::future::join_all(
                read_sts
                    .iter()
                    .zip(&read_params)
                    .map(|(st, p)| client.query(st, p.as_slice())),
            ),
        ));
        begun.map_err(pg_error)?;
        let row = row.map_err(pg_error)?;
        let first = if answer { Row::Pg(&row).get(0)? } else { true };
        if let (Some((t, by)), Some(due)) = (due_of, due.map_err(pg_error)?) {
            tx.next_due = Some((t.to_string(), by, Row::Pg(&due).get(0)?));
        }
        drop(read_params);
        for (mut r, rows) in reads.into_iter().zip(read) {
            r.rows = rows.map_err(pg_error)?;
            tx.prefetched.push(r);
        }
        Ok((tx, first))
    }

    pub(super) fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.session.stmts.get(sql) {
            return Ok(s.clone());
        }
        let st = self
            .rt
            .block_on(self.txn.client().prepare(&to_postgres(sql)))
            .map_err(|e| {
                let e = pg_error(e);
                Error::new(e.code, format!("{} (in: {})", e.message, to_postgres(sql)))
            })?;
        self.session.stmts.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    /// After a successful commit: what the session remembers of it.
    pub(super) fn committed(session: &mut Session, appended: Option<AuditTail>, trusted: bool) {
        if let Some(now) = appended {
            session.tails = Some(match (trusted, session.tails.take()) {
                (true, Some(mut before)) => {
                    before.seq = now.seq;
                    before.tenants.extend(now.tenants);
                    before
                }
                _ => now,
            });
        }
    }

    /// Run the queued statements, then `sql` (statements without
    /// parameters) and COMMIT ([`Tx::commit_after`]).
    pub(super) fn commit_after(self, sql: &str) -> Result<()> {
        let PgTx {
            mut txn,
            rt,
            queued,
            session,
            appended,
            tails_trusted,
            ..
        } = self;
        // The queued statements, then `sql` and COMMIT as one simple
        // query, all sent at once. On an error the server has failed
        // the transaction (and skipped the rest); dropping `txn`
        // sends the ROLLBACK.
        let batch = if sql.is_empty() {
            "COMMIT".to_string()
        } else {
            format!("{sql}; COMMIT")
        };
        let client = txn.client();
        let (sent, committed) = rt.block_on(futures_util::future::join(
            run_queued(client, &queued),
            client.batch_execute(&batch),
        ));
        sent?;
        committed.map_err(pg_error)?;
        PgTx::committed(session, appended, tails_trusted);
        match &mut txn {
            Txn::Hand(h) => h.done = true,
            // Committed by the batch: forget the library's handle,
            // whose drop would send a ROLLBACK (a server warning).
            // It owns nothing but a borrow of the client.
            Txn::Lib(_) => std::mem::forget(txn),
        }
        Ok(())
    }

    /// Rows of `sql` through `f` until it says stop ([`Tx::each`]).
    pub(super) fn each(
        &mut self,
        sql: &str,
        params: &[P<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<u64> {
        let mut n = 0;
        // Sent with BEGIN, answered already (nothing changed since).
        let ahead = self
            .prefetched
            .iter()
            .position(|r| r.sql == sql && r.params == params);
        if let Some(i) = ahead {
            for r in &self.prefetched.swap_remove(i).rows {
                n += 1;
                if !f(&Row::Pg(r))? {
                    break;
                }
            }
            return Ok(n);
        }
        let st = self.statement(sql)?;
        let q = std::mem::take(&mut self.queued);
        let tx = self.txn.client();
        self.rt.block_on(async {
            use futures_util::TryStreamExt;
            // The queued statements and this one go out together.
            let (sent, rows) = futures_util::future::join(
                run_queued(tx, &q),
                tx.query_raw(&st, pg_params(params)),
            )
            .await;
            sent?;
            let mut rows = std::pin::pin!(rows.map_err(pg_error)?);
            while let Some(r) = rows.try_next().await.map_err(pg_error)? {
                n += 1;
                if !f(&Row::Pg(&r))? {
                    break;
                }
            }
            Ok::<(), Error>(())
        })?;
        Ok(n)
    }

    /// Run a statement; how many rows it changed ([`Tx::exec`]).
    pub(super) fn exec(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64> {
        let st = self.statement(sql)?;
        // A change: what was read before may not hold.
        self.next_due = None;
        self.prefetched.clear();
        let q = std::mem::take(&mut self.queued);
        let tx = self.txn.client();
        let (sent, n) = self.rt.block_on(futures_util::future::join(
            run_queued(tx, &q),
            tx.execute(&st, &pg_params(params)),
        ));
        sent?;
        n.map_err(pg_error)
    }

    /// Queue a statement to go out with the next one ([`Tx::put`]).
    pub(super) fn put(&mut self, sql: &str, params: &[P<'_>], one_row: Option<&str>) -> Result<()> {
        let st = match one_row {
            Some(_) => self.statement(&one_row_checked(sql))?,
            None => self.statement(sql)?,
        };
        // A change: what was read before may not hold.
        self.next_due = None;
        self.prefetched.clear();
        self.queued.push(Queued {
            st,
            params: params.iter().map(P::to_static).collect(),
            one_row: one_row.map(str::to_string),
        });
        Ok(())
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

impl Tx<'_> {
    /// Nothing of `tenant` is due at `now_ms`, as read with this
    /// transaction's locks (nothing changed since): then the due query need
    /// not run. False when unknown. Answered once.
    pub(super) fn nothing_due(&self, tenant: &str, now_ms: i64) -> bool {
        let Inner::Pg(tx) = &self.inner else {
            return false;
        };
        match tx.borrow_mut().next_due.take() {
            Some((t, by, earliest)) if t == tenant => match earliest {
                Some(at) => at > now_ms,
                None => now_ms <= by,
            },
            _ => false,
        }
    }

    /// What the session remembers of the audit log: the newest position,
    /// and `tenant`'s head then (if it wrote it), and whether an earlier
    /// append of this transaction found that memory current.
    pub(super) fn remembered_tail(&self, tenant: &str) -> Option<(i64, Option<TenantTail>, bool)> {
        let Inner::Pg(tx) = &self.inner else {
            return None;
        };
        let tx = tx.borrow();
        let tails = tx.session.tails.as_ref()?;
        Some((
            tails.seq?,
            tails.tenants.get(tenant).cloned(),
            tx.tails_trusted,
        ))
    }

    /// The first append of this transaction found the session's memory of
    /// the audit log current (or not).
    pub(super) fn trust_remembered_tails(&self, trusted: bool) {
        if let Inner::Pg(tx) = &self.inner {
            tx.borrow_mut().tails_trusted = trusted;
        }
    }

    /// The heads this transaction has written so far (remembered by the
    /// session if it commits).
    pub(super) fn note_appended(&self, tail: &AuditTail) {
        if let Inner::Pg(tx) = &self.inner {
            tx.borrow_mut().appended = Some(tail.clone());
        }
    }

    /// The store id, if the session knows it.
    pub(super) fn remembered_store_id(&self) -> Option<String> {
        match &self.inner {
            Inner::Pg(tx) => tx.borrow().session.store_id.clone(),
            Inner::Lite(_) => None,
        }
    }

    /// Remember the store id read in this transaction (not in a whole-store
    /// write: it may be the one changing it).
    pub(super) fn remember_store_id(&self, id: &str) {
        if let Inner::Pg(tx) = &self.inner {
            let mut tx = tx.borrow_mut();
            if matches!(tx.txn, Txn::Hand(_)) && self.scope.is_none() {
                return;
            }
            tx.session.store_id = Some(id.to_string());
        }
    }
}

/// A tenant's earliest deadline at or before a moment (see
/// [`PgTx::begin_with`]): when there is none, the index scan stops at its
/// first entry without reading the table.
const NEXT_DUE_OF: &str = "SELECT MIN(deadline_at) FROM requests
     WHERE tenant = ?1 AND deadline_at IS NOT NULL AND deadline_at <= ?2";

/// `sql` (an INSERT, UPDATE or DELETE) as a statement that fails unless it
/// changes exactly one row: the server divides by whether the count is 1,
/// so a queued statement's row count fails the transaction before COMMIT
/// without a round trip of its own. [`run_queued`] turns that failure into
/// the statement's own error.
fn one_row_checked(sql: &str) -> String {
    format!("WITH changed AS ({sql} RETURNING 1) SELECT 1 / (COUNT(*) = 1)::int FROM changed")
}

/// Run `q` in order, every statement sent before the first answer is awaited
/// (one round trip). The first failure is the answer; the server skips what
/// follows it in the transaction (which is then rolled back).
async fn run_queued(tx: &Client, q: &[Queued]) -> Result<()> {
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
        if let Err(e) = out {
            return Err(match &x.one_row {
                Some(what) if e.code() == Some(&SqlState::DIVISION_BY_ZERO) => {
                    Error::internal(what.clone())
                }
                _ => pg_error(e),
            });
        }
    }
    Ok(())
}

fn pg_params<'a>(params: &'a [P<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}
