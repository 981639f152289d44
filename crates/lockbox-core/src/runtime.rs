//! The engine shared by an async host (the desktop app, `lockbox serve`),
//! written once: the engine handle (one engine behind a mutex, or on
//! PostgreSQL a pool of engines, each with its own connection; used on
//! blocking threads, never on the async runtime), the "something changed"
//! signal, and the background loop that applies deadlines and sends email.
//!
//! Tokio only (`rt`, `sync`, `time`); no tauri, no axum.

use crate::clock::Clock;
use crate::scheduler::Scheduler;
use crate::store::StoreLocation;
use crate::{mail, Engine, Error, ErrorCode, Result};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The engine of a process, shared by its adapters and background tasks.
#[derive(Clone)]
pub struct EngineHandle {
    engines: Engines,
    /// Woken after every write through [`EngineHandle::write`] (and by hosts
    /// that notice other processes' writes), so loops look again at once.
    /// One waiter: the host's background loop (`notify_one`).
    changed: Arc<Notify>,
    /// The same news for any number of watchers (a team server's change
    /// feed, one per connection): a generation counter, bumped with every
    /// `changed` notification made through [`EngineHandle::notify_change`].
    /// A watcher that was busy sees one bump for many: it reads once.
    generation: Arc<watch::Sender<u64>>,
}

#[derive(Clone)]
enum Engines {
    /// One engine: a SQLite store has one writer anyway (the desktop app).
    One(Arc<Mutex<Engine>>),
    /// Engines on their own connections (`lockbox serve` on PostgreSQL):
    /// requests for different tenants run side by side.
    Pool(r2d2::Pool<Opener>),
}

/// Opens the engines of a pool: every one on the same store, key and clock.
pub struct Opener {
    pub location: StoreLocation,
    pub receipt_key: PathBuf,
    pub clock: Arc<dyn Clock>,
    /// Who opens it (the first admin of a new store).
    pub creator: String,
}

impl r2d2::ManageConnection for Opener {
    type Connection = Engine;
    type Error = Error;

    fn connect(&self) -> Result<Engine> {
        Engine::open_at(
            &self.location,
            &self.receipt_key,
            self.clock.clone(),
            &self.creator,
        )
    }

    fn is_valid(&self, engine: &mut Engine) -> Result<()> {
        engine.check_store()
    }

    fn has_broken(&self, _: &mut Engine) -> bool {
        // A lost connection is reopened by the store on its next use.
        false
    }
}

/// An engine borrowed from the handle (see [`EngineHandle::lock`]).
pub enum EngineGuard<'a> {
    One(std::sync::MutexGuard<'a, Engine>),
    Pool(r2d2::PooledConnection<Opener>),
}

impl std::ops::Deref for EngineGuard<'_> {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        match self {
            EngineGuard::One(g) => g,
            EngineGuard::Pool(g) => g,
        }
    }
}

impl std::ops::DerefMut for EngineGuard<'_> {
    fn deref_mut(&mut self) -> &mut Engine {
        match self {
            EngineGuard::One(g) => g,
            EngineGuard::Pool(g) => g,
        }
    }
}

impl Engines {
    fn get(&self) -> Result<EngineGuard<'_>> {
        match self {
            Engines::One(e) => Ok(EngineGuard::One(
                e.lock().unwrap_or_else(|p| p.into_inner()),
            )),
            Engines::Pool(p) => p.get().map(EngineGuard::Pool).map_err(|e| {
                Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("no store connection became free: {e}"),
                )
            }),
        }
    }
}

impl EngineHandle {
    pub fn new(engine: Engine) -> Self {
        EngineHandle {
            engines: Engines::One(Arc::new(Mutex::new(engine))),
            changed: Arc::new(Notify::new()),
            generation: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Up to `size` engines opened by `opener` as work needs them, each on
    /// its own connection (one is opened now: a store that cannot be opened
    /// is an error here, not on the first request). Blocking.
    pub fn pool(opener: Opener, size: u32) -> Result<Self> {
        let pool = r2d2::Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(1))
            // A lost connection is reopened on use; no round trip per checkout.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .error_handler(Box::new(LogOpenErrors))
            .build(opener)
            .map_err(|e| {
                Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("cannot open the store's engines: {e}"),
                )
            })?;
        Ok(EngineHandle {
            engines: Engines::Pool(pool),
            changed: Arc::new(Notify::new()),
            generation: Arc::new(watch::Sender::new(0)),
        })
    }

    /// Run `f` with an engine on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine) -> Result<T> + Send + 'static,
    {
        let engines = self.engines.clone();
        tokio::task::spawn_blocking(move || {
            let mut engine = engines.get()?;
            crate::store::pg::on_blocking_thread(|| f(&mut engine))
        })
        .await
        .map_err(|e| Error::internal(format!("engine task failed: {e}")))?
    }

    /// Like [`run`](Self::run), then signal a change (for writes; also after
    /// a refused write, which is harmless).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine) -> Result<T> + Send + 'static,
    {
        let out = self.run(f).await;
        self.notify_change();
        out
    }

    /// An engine for synchronous callers (start-up, tests). Never hold it on
    /// an async task. Blocks until one is free.
    pub fn lock(&self) -> Result<EngineGuard<'_>> {
        self.engines.get()
    }

    /// The "something changed" signal: one waiter (the host's loop).
    pub fn changed(&self) -> &Arc<Notify> {
        &self.changed
    }

    /// Say that the store changed: wake the host's loop ([`changed`](Self::changed),
    /// `notify_one`, as before) and every watcher of [`watch`](Self::watch).
    /// Called after each write through this handle, after a background pass
    /// that changed the store, and by a host that hears of another process's
    /// write (`lockbox serve`'s PostgreSQL listener).
    pub fn notify_change(&self) {
        self.changed.notify_one();
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// A receiver that sees every [`notify_change`](Self::notify_change)
    /// from now on (`changed().await`), coalesced: many changes while its
    /// holder was busy are one wake-up. Any number of them, none stealing
    /// another's (unlike [`changed`](Self::changed)).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

/// Claim due emails (engine lock), send them (no lock), record the outcomes
/// (lock). Claims are once across processes.
pub async fn email_pass(h: &EngineHandle) -> Result<(usize, usize)> {
    let (mut sent, mut failed) = (0, 0);
    // A few at a time (`mail::CLAIM_BATCH`), until none is due.
    loop {
        let (s, f, n) = email_batch(h).await?;
        sent += s;
        failed += f;
        if n == 0 {
            return Ok((sent, failed));
        }
    }
}

/// Claim, send and record one batch: (sent, failed, claimed).
async fn email_batch(h: &EngineHandle) -> Result<(usize, usize, usize)> {
    let outgoing = h.run(mail::claim).await?;
    let claimed = outgoing.len();
    let (mut sent, mut failed) = (0, 0);
    for o in outgoing {
        let o2 = o.clone();
        let r = tokio::task::spawn_blocking(move || mail::send(&o2))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        if r.is_ok() {
            sent += 1;
            tracing::info!(notice = o.notice_id, tenant = %o.tenant, to = o.to.len(), "email sent");
        } else {
            failed += 1;
        }
        h.run(move |e| mail::record(e, &o, &r)).await?;
    }
    Ok((sent, failed, claimed))
}

/// One pass of the background work: apply due deadlines and reminders, send
/// due email. Returns how long to sleep before the next pass (at most 5 s, so
/// email retries are not late) and whether the store changed. `sched` (the
/// reminder cache) is the caller's, from pass to pass.
pub async fn background_pass(h: &EngineHandle, sched: &mut Scheduler) -> (Duration, bool) {
    let mut s = *sched;
    let ticked = h
        .run(move |e| s.tick(e).map(|t| (s, t.clone(), t.sleep_for(e.now()))))
        .await;
    let (sleep, changed) = match ticked {
        Ok((s, t, sleep)) => {
            *sched = s;
            for s in &t.swept {
                tracing::info!(request = %s.request_id, tenant = %s.tenant, state = %s.state, "deadline applied");
            }
            (sleep, !t.swept.is_empty() || t.reminders > 0)
        }
        Err(e) => {
            tracing::warn!("scheduler tick failed: {e}");
            // Start afresh: the next tick scans for reminders.
            *sched = Scheduler::default();
            (Duration::from_secs(5), false)
        }
    };
    if let Err(e) = email_pass(h).await {
        tracing::warn!("email delivery: {e}");
    }
    (sleep.min(Duration::from_secs(5)), changed)
}

/// The background loop of a host, until the process ends: a pass, then sleep
/// until the next deadline or until `wake` is notified. After a pass that
/// changed the store, `changed` is notified (the desktop's feed refreshes).
pub async fn background_loop(h: EngineHandle, wake: Arc<Notify>) {
    background_loop_until(h, wake, std::future::pending()).await;
}

/// [`background_loop`] until `stop` completes (a server's graceful shutdown):
/// a pass under way is finished — its claims sent and recorded — then the
/// loop returns; a stop while it sleeps returns at once.
pub async fn background_loop_until(
    h: EngineHandle,
    wake: Arc<Notify>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut sched = Scheduler::default();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (sleep, changed) = background_pass(&h, &mut sched).await;
        if changed {
            h.notify_change();
        }
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = wake.notified() => {}
            _ = &mut stop => return,
        }
    }
}

/// Engines that fail to open in the pool's background are logged (a request
/// waiting for one gets `store_unavailable`).
#[derive(Debug)]
struct LogOpenErrors;

impl r2d2::HandleError<Error> for LogOpenErrors {
    fn handle_error(&self, e: Error) {
        tracing::warn!(code = %e.code.as_str(), "cannot open a pooled engine: {}", e.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_wakes_every_watcher_and_still_one_waiter_of_changed() {
        let clock = Arc::new(crate::ManualClock::new(chrono::DateTime::UNIX_EPOCH));
        let h = EngineHandle::new(crate::testing::engine(clock, "root").unwrap());
        let (mut a, mut b) = (h.watch(), h.watch());
        assert!(!a.has_changed().unwrap(), "nothing yet");
        h.notify_change();
        h.notify_change();
        for w in [&mut a, &mut b] {
            w.changed().await.unwrap();
            assert!(!w.has_changed().unwrap(), "two changes, one wake-up");
        }
        // The host's loop gets its one permit, as before.
        let once = h.changed().clone();
        tokio::time::timeout(Duration::from_secs(20), once.notified())
            .await
            .unwrap();
        h.write(|_| Ok(())).await.unwrap();
        a.changed().await.unwrap();
    }
}
