//! The bulk fixtures write requests and their audit entries with SQL, in the
//! format of older versions (no policy snapshot in `request_created`): such
//! stores verify clean — the state check reads old entries leniently — and an
//! edited row is still named.

#![allow(clippy::unwrap_used)]

use lockbox_bench::fixture::{self, t_ref, DAY, HOUR};
use lockbox_core::clock::from_millis;
use lockbox_core::{Engine, ManualClock};
use std::path::Path;
use std::sync::Arc;

fn verify(path: &Path) -> lockbox_core::audit::VerifyOutcome {
    let mut e = Engine::open(path, Arc::new(ManualClock::new(t_ref())), "root").unwrap();
    e.verify_audit().unwrap()
}

#[test]
fn old_format_fixtures_verify_clean_and_an_edit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.db");
    fixture::build_big(&big, 400, 6000).unwrap();
    let v = verify(&big);
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.requests, 400);
    let receipts: i64 = rusqlite::Connection::open(&big)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM receipts", [], |r| r.get(0))
        .unwrap();
    assert!(receipts > 200, "{receipts} receipts");

    let pending = dir.path().join("pending.db");
    let t = fixture::t_ref_ms();
    fixture::build_pending(&pending, t - DAY, 300, t + HOUR, 1000).unwrap();
    let v = verify(&pending);
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.requests, 300);

    // Old entries still pin what they state: a granted window.
    let c = rusqlite::Connection::open(&big).unwrap();
    let (id, ends): (String, i64) = c
        .query_row(
            "SELECT id, access_ends_at FROM requests WHERE state = 'completed' ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    c.execute(
        "UPDATE requests SET access_ends_at = ?2 WHERE id = ?1",
        rusqlite::params![id, ends + DAY],
    )
    .unwrap();
    drop(c);
    let d = verify(&big).first_disagreement.unwrap();
    assert_eq!(
        (d.request_id.as_str(), d.field.as_str()),
        (id.as_str(), "access_ends_at")
    );
    assert_eq!(
        d.audited,
        lockbox_core::clock::rfc3339(from_millis(ends)),
        "{d}"
    );
}
