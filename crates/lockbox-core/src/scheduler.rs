//! Deadline scheduling logic. The engine owns it; a shell (the desktop app,
//! `lockbox serve`) runs [`tick`] in ONE task: tick, sleep until the returned
//! wake time (or until woken early by a store change), repeat. No task per
//! request: the next deadline is always re-read from the store, which also
//! makes it robust to suspend and wall-clock jumps.

use crate::clock::Time;
use crate::engine::Swept;
use crate::store::NoticeRow;
use crate::{Engine, Result};
use chrono::Duration;

/// Never sleep longer than this, so a wall-clock jump is noticed within it.
pub const MAX_SLEEP: Duration = Duration::seconds(60);

/// What one tick did and when to tick next.
#[derive(Debug, Clone)]
pub struct Tick {
    pub now: Time,
    pub swept: Vec<Swept>,
    pub reminders: usize,
    /// The earliest of: the next deadline, the next reminder, now + MAX_SLEEP.
    pub wake_at: Time,
}

impl Tick {
    /// How long to sleep from `now` (zero if the wake time has passed).
    pub fn sleep_for(&self, now: Time) -> std::time::Duration {
        (self.wake_at - now)
            .to_std()
            .unwrap_or(std::time::Duration::ZERO)
    }
}

/// Apply everything due now (expiries, ends of access, reminders) and plan the next wake.
pub fn tick(engine: &mut Engine) -> Result<Tick> {
    let now = engine.now();
    let swept = engine.apply_due_at(now)?;
    let reminders = engine.add_due_reminders(now)?;
    let mut wake_at = now + MAX_SLEEP;
    if let Some(d) = engine.next_deadline()? {
        wake_at = wake_at.min(d);
    }
    if let Some(r) = engine.next_reminder(now)? {
        wake_at = wake_at.min(r);
    }
    Ok(Tick {
        now,
        swept,
        reminders,
        wake_at: wake_at.max(now),
    })
}

/// Notices older than this are not shown as OS notifications (the app was not
/// running then); they are marked skipped instead.
pub const NOTICE_MAX_AGE: Duration = Duration::hours(24);

/// Claim every notice `channel` has not handled yet. Fresh ones are returned
/// for delivery (claimed exactly once across processes); stale ones are skipped.
pub fn claim_notices(engine: &mut Engine, channel: &str) -> Result<Vec<NoticeRow>> {
    let now = engine.now();
    engine.claim_notices(channel, now - NOTICE_MAX_AGE)
}
