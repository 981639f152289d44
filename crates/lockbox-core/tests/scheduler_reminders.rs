//! The scheduler skips its reminder scans while nothing changed, yet never
//! misses a reminder: one made due by this engine, by another process on the
//! same store, by a settings change or by time is found on the next tick.
//! On the test run's backend (`LOCKBOX_TEST_BACKEND`).

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::NewRequest;
use lockbox_core::scheduler::{self, Scheduler};
use lockbox_core::store::StoreLocation;
use lockbox_core::testing;
use lockbox_core::Principal;
use lockbox_core::{Engine, ManualClock, Time};
use std::sync::Arc;

fn t0() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
}

fn pending(e: &mut Engine, engineer: &str) -> String {
    let r = e
        .file_request(
            "default",
            &NewRequest {
                engineer: engineer.into(),
                case: "SR-1".into(),
                workload: "Teams".into(),
                resource: "t".into(),
                reason: "r".into(),
                duration_s: Some(600),
            },
        )
        .unwrap();
    e.provider_approve("default", &r.id, "mgr", None).unwrap();
    r.id
}

fn open(loc: &StoreLocation, clock: &ManualClock) -> Engine {
    testing::open(loc, Arc::new(clock.clone()), "root").unwrap()
}

#[test]
fn reminders_made_due_by_anyone_are_found_on_the_next_tick() {
    let mut ticker = Scheduler::default();
    let db = testing::store_location();
    let clock = ManualClock::new(t0());
    let mut sched = open(&db, &clock);
    let mut other = open(&db, &clock); // another process's connection
    sched
        .set_setting(
            "default",
            &Principal::os_user("root", 0),
            "reminder-lead",
            "1h",
        )
        .unwrap();
    // Requests live 12 h: nothing is due for a reminder yet.
    pending(&mut sched, "a");
    let t = ticker.tick(&mut sched).unwrap();
    assert_eq!(t.reminders, 0);
    assert_eq!(t.wake_at, t0() + scheduler::MAX_SLEEP);
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 0);

    // 1. This engine makes the lifetime shorter than the lead: due at once.
    sched
        .set_setting(
            "default",
            &Principal::os_user("root", 0),
            "request-lifetime",
            "30m",
        )
        .unwrap();
    pending(&mut sched, "b");
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 1);
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 0);

    // 2. Another process files one inside the window.
    pending(&mut other, "c");
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 1);
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 0);

    // 3. Another process lengthens the lead: the 12 h request "a" is now within it.
    other
        .set_setting(
            "default",
            &Principal::os_user("root", 0),
            "reminder-lead",
            "13h",
        )
        .unwrap();
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 1);

    // 4. Time: a request whose reminder time comes later.
    other
        .set_setting(
            "default",
            &Principal::os_user("root", 0),
            "reminder-lead",
            "10m",
        )
        .unwrap();
    other
        .set_setting(
            "default",
            &Principal::os_user("root", 0),
            "request-lifetime",
            "1h",
        )
        .unwrap();
    pending(&mut other, "d");
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 0);
    let at = t0() + Duration::minutes(50);
    assert_eq!(sched.next_reminder(t0()).unwrap(), Some(at));
    clock.set(at - Duration::seconds(1));
    let t = ticker.tick(&mut sched).unwrap();
    assert_eq!(
        (t.reminders, t.wake_at),
        (0, at),
        "wakes at the reminder time"
    );
    clock.set(at);
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 1);
    assert_eq!(ticker.tick(&mut sched).unwrap().reminders, 0);
}
