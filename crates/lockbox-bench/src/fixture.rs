//! Bulk fixtures, written with direct SQL in one transaction (FIXTURES ONLY:
//! the measured Lockbox side always goes through the engine). The schema is
//! created by the engine itself (`Engine::open`), so fixtures follow it; the
//! audit entries carry a valid hash chain computed with
//! [`lockbox_core::audit::entry_hash`].
//!
//! Split by what is written: [`Chain`], [`Rows`] and [`Receipts`] (the rows
//! as the engine writes them), [`build_pending`] (the sweep and scheduler
//! stores) and [`build_big`] (the big static store).

mod big;
mod pending;
pub mod pg;
mod rows;

pub use big::build_big;
pub use pending::build_pending;
pub use rows::{Chain, Receipts, ReqRow, Rows};

use crate::BoxResult;
use chrono::{TimeZone, Utc};
use lockbox_core::clock::{from_millis, rfc3339};
use lockbox_core::{Engine, ManualClock, Time};
use rusqlite::Connection;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// The reference "now" of the static fixtures (the engine runs on a ManualClock
/// pinned here, so cached fixtures never go stale).
pub fn t_ref() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

pub fn t_ref_ms() -> i64 {
    t_ref().timestamp_millis()
}

pub fn iso(ms: i64) -> String {
    rfc3339(from_millis(ms))
}

/// Create an empty store at `path` through the engine (migrations, default
/// tenant, first admin `root`), with the engine's clock at `boot_ms`.
pub fn create_store(path: &Path, boot_ms: i64) -> BoxResult<()> {
    let clock = Arc::new(ManualClock::new(from_millis(boot_ms)));
    let e = Engine::open(path, clock, "root")?;
    drop(e);
    Ok(())
}

/// A connection for bulk loading: the store's own pragmas but no fsync.
pub fn bulk_conn(path: &Path) -> BoxResult<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(30))?;
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    c.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON; PRAGMA cache_size = -262144;",
    )?;
    Ok(c)
}

/// A request id that sorts by creation time like the engine's UUIDv7 ids.
pub fn request_id(created_ms: i64, n: u64) -> String {
    let ts = (created_ms as u64) & 0xFFFF_FFFF_FFFF;
    let hi = (ts << 16) | 0x7000 | (n >> 48 & 0x0FFF);
    let lo = 0x8000_0000_0000_0000 | (n & 0x3FFF_FFFF_FFFF_FFFF);
    uuid::Uuid::from_u64_pair(hi, lo).to_string()
}

pub const WORKLOADS: [&str; 5] = [
    "Exchange Online",
    "SharePoint Online",
    "Teams",
    "OneDrive",
    "Entra ID",
];
pub const ACTIONS: [&str; 6] = [
    "Read message trace",
    "Export mailbox rules",
    "Open site collection settings",
    "Inspect meeting policy",
    "Download diagnostic log",
    "List sign-in events",
];

pub fn engineer(i: usize) -> String {
    format!("eng{:02}@provider.example", i % 50)
}
pub fn manager(i: usize) -> String {
    format!("mgr{}@provider.example", i % 8)
}
pub fn approver(i: usize) -> String {
    if i.is_multiple_of(3) {
        "root".into()
    } else {
        format!("approver{}", i % 5)
    }
}

fn created_details(r: &ReqRow) -> String {
    json!({
        "case": r.case, "workload": r.workload, "resource": r.resource,
        "reason": r.reason, "requested_duration_s": r.requested_s,
        "expires_at": iso(r.expires),
    })
    .to_string()
}

fn provider_details() -> String {
    json!({ "comment": null, "approvals": 1, "required": 1 }).to_string()
}
