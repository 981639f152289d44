//! Time comes through a [`Clock`] so that tests control it; nothing in the
//! engine calls `Utc::now()` directly.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

pub type Time = DateTime<Utc>;

pub trait Clock: Send + Sync {
    fn now(&self) -> Time;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        Utc::now()
    }
}

/// A clock that only moves when told to. Cheap to clone; clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Time>>);

impl ManualClock {
    pub fn new(start: Time) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }
    pub fn set(&self, t: Time) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }
    pub fn advance(&self, d: Duration) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *g += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Time {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Milliseconds since the Unix epoch: how times are stored.
pub fn to_millis(t: Time) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> Time {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// RFC 3339 with second precision (milliseconds when present), always `Z`.
pub fn rfc3339(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Parse an RFC 3339 timestamp or a plain date (`2026-11-29`, midnight UTC).
pub fn parse_time(s: &str) -> crate::Result<Time> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc());
        }
    }
    Err(crate::Error::input(format!(
        "'{s}' is not a time: use RFC 3339 (2026-11-29T10:00:00Z) or a date (2026-11-29)"
    )))
}
