//! Background work for a headless server (`lockbox serve`): the deadline
//! scheduler and the email sender, in one task. The engine lock is never held
//! across network I/O.

use lockbox_core::{mail, scheduler::Scheduler, Engine, Error, Result};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

async fn with_engine<T: Send + 'static>(
    engine: &Arc<Mutex<Engine>>,
    f: impl FnOnce(&mut Engine) -> Result<T> + Send + 'static,
) -> Result<T> {
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || f(&mut engine.lock().unwrap_or_else(|p| p.into_inner())))
        .await
        .map_err(|e| Error::internal(format!("engine task failed: {e}")))?
}

/// Claim due emails (lock), send them (no lock), record the outcomes (lock).
pub async fn email_pass(engine: &Arc<Mutex<Engine>>) -> Result<(usize, usize)> {
    let outgoing = with_engine(engine, mail::claim).await?;
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
        with_engine(engine, move |e| mail::record(e, &o, &r)).await?;
    }
    Ok((sent, failed))
}

/// Tick the scheduler and send emails until the process ends.
pub async fn run(engine: Arc<Mutex<Engine>>, changed: Arc<Notify>) {
    let mut sched = Scheduler::default();
    loop {
        let s = sched;
        let sleep = match with_engine(&engine, move |e| {
            let mut s = s;
            s.tick(e).map(|t| (s, t.swept.len(), t.sleep_for(e.now())))
        })
        .await
        {
            Ok((s, swept, sleep)) => {
                sched = s;
                if swept > 0 {
                    tracing::info!(swept, "deadlines applied");
                }
                sleep
            }
            Err(e) => {
                tracing::warn!("scheduler tick failed: {e}");
                // Start afresh: the next tick scans for reminders.
                sched = Scheduler::default();
                Duration::from_secs(5)
            }
        };
        if let Err(e) = email_pass(&engine).await {
            tracing::warn!("email pass failed: {e}");
        }
        // Retries are due at most a few seconds apart; cap the sleep so they are not late.
        let sleep = sleep.min(Duration::from_secs(5));
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = changed.notified() => {}
        }
    }
}
