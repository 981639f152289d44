//! Deadline scheduling logic. The engine owns it; a shell (the desktop app,
//! `lockbox serve`) keeps one [`Scheduler`] in ONE task and runs
//! [`Scheduler::tick`]: tick, sleep until the returned wake time (or until
//! woken early by a store change), repeat. No task per request: the next
//! deadline is always re-read from the store, which also makes it robust to
//! suspend and wall-clock jumps.

use crate::clock::Time;
use crate::model::NoticeRow;
use crate::model::Swept;
use crate::{Engine, Result};
use chrono::Duration;

/// Never sleep longer than this, so a wall-clock jump is noticed within it.
pub const MAX_SLEEP: Duration = Duration::seconds(60);

/// How soon to look again at a deadline that is due but was left, because
/// another writer held its tenant during the sweep.
pub const BUSY_RETRY: Duration = Duration::seconds(1);

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

/// A reminder scan that found nothing due: when it ran, the store's change
/// marks after it, and the next reminder time it found.
#[derive(Debug, Clone, Copy)]
struct ReminderScan {
    at: Time,
    marks: (u64, i64),
    next: Option<Time>,
}

/// The scheduler of one process, owned by the task that ticks. It
/// remembers, between ticks, the last reminder scan that found nothing due,
/// so that a tick can skip the scan while nothing could have made a reminder
/// due. A fresh one scans on its first tick (so starting afresh, e.g. after
/// a failed tick, costs one scan and misses nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scheduler {
    reminder_scan: Option<ReminderScan>,
}

impl Scheduler {
    /// Apply everything due now (expiries, ends of access, reminders) and plan the next wake.
    /// A read-only engine has nothing to apply or remind of: it only plans the next wake.
    pub fn tick(&mut self, engine: &mut Engine) -> Result<Tick> {
        let now = engine.now();
        if engine.is_read_only() {
            return Ok(Tick {
                now,
                swept: Vec::new(),
                reminders: 0,
                wake_at: now + MAX_SLEEP,
            });
        }
        let marks = engine.store().change_marks()?;
        let swept = engine.apply_due_at(now)?;
        // At least hourly while entries arrive (a read when none is due).
        engine.sign_due_checkpoints()?;
        // The reminder queries read every pending request within its reminder
        // lead (all of them, with many requests about to expire), so they must
        // not run on every tick. They are skipped while nothing could have made
        // a reminder due since the last scan found none: no write by anyone
        // (this tick's sweep aside: it only closes requests), the clock not
        // moved back, and the next reminder time not reached.
        let unchanged = self
            .reminder_scan
            .take()
            .filter(|s| s.marks == marks && s.at <= now && s.next.is_none_or(|n| now < n));
        let (reminders, next_reminder) = match unchanged {
            Some(s) => (0, s.next),
            None => {
                let n = engine.add_due_reminders(now)?;
                (n, engine.next_reminder(now)?)
            }
        };
        if reminders == 0 {
            self.reminder_scan = Some(ReminderScan {
                at: now,
                marks: engine.store().change_marks()?,
                next: next_reminder,
            });
        }
        let mut wake_at = now + MAX_SLEEP;
        if let Some(d) = engine.next_deadline()? {
            // Still due after the sweep: another writer holds that tenant
            // (a sweep skips it) and applies it, or leaves it to us; its
            // commit wakes a team server's loop at once. Look again
            // shortly rather than at once, so the loop does not spin.
            let d = if d <= now { now + BUSY_RETRY } else { d };
            wake_at = wake_at.min(d);
        }
        if let Some(r) = next_reminder {
            wake_at = wake_at.min(r);
        }
        Ok(Tick {
            now,
            swept,
            reminders,
            wake_at: wake_at.max(now),
        })
    }
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
