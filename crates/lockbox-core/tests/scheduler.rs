//! Scheduler logic with a controllable clock: deadlines across tenants, a
//! change that moves the next deadline earlier, a clock jump forward,
//! reminders and notice claiming.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::{NewRequest, State};
use lockbox_core::scheduler::{self, Scheduler, MAX_SLEEP};
use lockbox_core::Principal;
use lockbox_core::{Engine, ManualClock, Time};
use std::sync::Arc;

fn t0() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
}

fn req(engineer: &str, minutes: i64) -> NewRequest {
    NewRequest {
        engineer: engineer.into(),
        case: "SR-1".into(),
        workload: "Teams".into(),
        resource: "t".into(),
        reason: "r".into(),
        duration_s: Some(minutes * 60),
    }
}

fn setup() -> (Engine, ManualClock) {
    let clock = ManualClock::new(t0());
    let mut e = lockbox_core::testing::engine(Arc::new(clock.clone()), "root").unwrap();
    e.add_tenant(
        "default",
        &Principal::os_user("root", 0),
        "fabrikam",
        "Fabrikam",
    )
    .unwrap();
    for t in ["default", "fabrikam"] {
        e.set_setting(t, &Principal::os_user("root", 0), "reminder-lead", "off")
            .unwrap();
    }
    (e, clock)
}

#[test]
fn sleeps_until_the_earliest_deadline_of_any_tenant_capped_at_a_minute() {
    let mut ticker = Scheduler::default();
    let (mut e, clock) = setup();
    let idle = ticker.tick(&mut e).unwrap();
    assert_eq!(
        idle.wake_at,
        t0() + MAX_SLEEP,
        "nothing armed: wake within a minute anyway"
    );
    e.set_setting(
        "default",
        &Principal::os_user("root", 0),
        "request-lifetime",
        "50s",
    )
    .unwrap();
    e.set_setting(
        "fabrikam",
        &Principal::os_user("root", 0),
        "request-lifetime",
        "20s",
    )
    .unwrap();
    let a = e.file_request("default", &req("eng", 60)).unwrap();
    let b = e.file_request("fabrikam", &req("eng", 60)).unwrap();
    let t = ticker.tick(&mut e).unwrap();
    assert_eq!(
        t.wake_at,
        t0() + Duration::seconds(20),
        "fabrikam's request is due first"
    );
    clock.set(t.wake_at);
    let t = ticker.tick(&mut e).unwrap();
    assert_eq!(t.swept.len(), 1);
    assert_eq!(t.swept[0].request_id, b.id);
    assert_eq!(t.swept[0].state, State::Expired);
    assert_eq!(t.wake_at, t0() + Duration::seconds(50), "then default's");
    clock.set(t.wake_at);
    let t = ticker.tick(&mut e).unwrap();
    assert_eq!(
        t.swept
            .iter()
            .map(|s| s.request_id.clone())
            .collect::<Vec<_>>(),
        vec![a.id]
    );
}

#[test]
fn a_change_that_moves_the_next_deadline_earlier_is_seen_on_the_next_tick() {
    let mut ticker = Scheduler::default();
    let (mut e, clock) = setup();
    let a = e.file_request("default", &req("eng", 60)).unwrap(); // expires in 12h
    let first = ticker.tick(&mut e).unwrap();
    assert_eq!(first.wake_at, t0() + MAX_SLEEP);
    // Approval arms an access end 30 s from now, earlier than any other wake.
    clock.advance(Duration::seconds(10));
    e.provider_approve("default", &a.id, "mgr", None).unwrap();
    e.approve(
        "default",
        &a.id,
        &Principal::os_user("root", 0),
        None,
        Some(30),
    )
    .unwrap();
    let t = ticker.tick(&mut e).unwrap();
    assert_eq!(t.wake_at, t0() + Duration::seconds(40));
    assert_eq!(t.sleep_for(t.now), std::time::Duration::from_secs(30));
    clock.set(t.wake_at);
    let t = ticker.tick(&mut e).unwrap();
    assert_eq!(t.swept.len(), 1);
    assert_eq!(t.swept[0].state, State::Completed);
}

#[test]
fn a_clock_jump_forward_applies_everything_that_became_due() {
    let mut ticker = Scheduler::default();
    let (mut e, clock) = setup();
    e.set_setting(
        "default",
        &Principal::os_user("root", 0),
        "request-lifetime",
        "1h",
    )
    .unwrap();
    for i in 0..5 {
        e.file_request("default", &req(&format!("eng{i}"), 60))
            .unwrap();
    }
    let t = ticker.tick(&mut e).unwrap();
    assert!(t.swept.is_empty());
    // Suspend / wall-clock jump: two hours pass at once.
    clock.advance(Duration::hours(2));
    let t = ticker.tick(&mut e).unwrap();
    assert_eq!(t.swept.len(), 5);
    assert!(t.swept.iter().all(|s| s.state == State::Expired));
    assert_eq!(t.wake_at, t.now + MAX_SLEEP);
    // A jump backwards never un-expires anything.
    clock.advance(Duration::hours(-3));
    let t = ticker.tick(&mut e).unwrap();
    assert!(t.swept.is_empty());
    assert_eq!(
        e.count_by_state("default").unwrap(),
        vec![(State::Expired, 5)]
    );
}

#[test]
fn reminders_fire_once_at_the_lead_time_and_notices_are_claimed_once() {
    let mut ticker = Scheduler::default();
    let (mut e, clock) = setup();
    e.set_setting(
        "default",
        &Principal::os_user("root", 0),
        "reminder-lead",
        "1h",
    )
    .unwrap();
    let a = e.file_request("default", &req("eng", 60)).unwrap();
    e.provider_approve("default", &a.id, "mgr", None).unwrap();
    let t = ticker.tick(&mut e).unwrap();
    assert_eq!(t.reminders, 0);
    assert_eq!(t.wake_at, t0() + MAX_SLEEP);
    assert_eq!(
        e.next_reminder(t0()).unwrap(),
        Some(t0() + Duration::hours(11))
    );
    clock.set(t0() + Duration::hours(11));
    assert_eq!(ticker.tick(&mut e).unwrap().reminders, 1);
    assert_eq!(ticker.tick(&mut e).unwrap().reminders, 0, "once");
    let kinds: Vec<String> = scheduler::claim_notices(&mut e, "desktop")
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(kinds, vec!["pending", "reminder"]);
    assert!(
        scheduler::claim_notices(&mut e, "desktop")
            .unwrap()
            .is_empty(),
        "claimed once"
    );
    assert_eq!(
        scheduler::claim_notices(&mut e, "email").unwrap().len(),
        2,
        "each channel claims its own"
    );
    // A notice older than a day is skipped rather than shown.
    let b = e.file_request("default", &req("eng2", 60)).unwrap();
    e.provider_approve("default", &b.id, "mgr", None).unwrap();
    clock.advance(Duration::hours(25));
    assert!(scheduler::claim_notices(&mut e, "desktop")
        .unwrap()
        .iter()
        .all(|n| n.kind != "pending"));
}

/// [`setup`] with an approver who has an email address (ann, default tenant).
fn setup_with_email_approver() -> (Engine, ManualClock) {
    let (mut e, clock) = setup();
    e.add_user(
        "default",
        &Principal::os_user("root", 0),
        "ann",
        lockbox_core::model::Role::Approver,
        Some("ann@example.test"),
    )
    .unwrap();
    (e, clock)
}

/// Email is for new requests and reminders: an expiry's notice is marked
/// skipped as it is claimed, in the same commit, never "failed".
#[test]
fn email_skips_notices_it_does_not_send_as_it_claims_them() {
    use lockbox_core::mail;
    let (mut e, clock) = setup_with_email_approver();
    let r = e.file_request("default", &req("eng", 30)).unwrap();
    e.provider_approve("default", &r.id, "manager", None)
        .unwrap();
    clock.advance(Duration::hours(13));
    let swept = e.apply_due().unwrap();
    assert_eq!(swept.len(), 1, "the unanswered request expired");
    let marks = e.store().change_marks().unwrap();
    let claimed = mail::claim(&mut e).unwrap();
    let deliveries = e.email_deliveries("default", 10).unwrap();
    let pending: Vec<i64> = deliveries
        .iter()
        .filter(|d| d.kind == "pending")
        .map(|d| d.notice_id)
        .collect();
    assert_eq!(
        claimed.iter().map(|o| o.notice_id).collect::<Vec<_>>(),
        pending,
        "only the new request's email"
    );
    let by_kind: std::collections::BTreeMap<&str, (&str, Option<&str>)> = deliveries
        .iter()
        .map(|d| (d.kind.as_str(), (d.outcome.as_str(), d.detail.as_deref())))
        .collect();
    assert_eq!(by_kind["pending"].0, "claimed");
    assert_eq!(by_kind["expired"], ("skipped", None));
    assert_ne!(e.store().change_marks().unwrap(), marks, "the claim wrote");
    assert!(
        mail::claim(&mut e).unwrap().is_empty(),
        "nothing left to claim"
    );
}

/// An email claimed and never recorded (its process was SIGKILLed mid-send)
/// is claimed again once the claim's lease is over, not before; one recorded
/// as sent is never claimed again. Batches are `mail::CLAIM_BATCH` at most.
#[test]
fn a_claim_left_by_a_killed_sender_is_taken_again_after_its_lease() {
    use lockbox_core::mail;
    let (mut e, clock) = setup_with_email_approver();
    let mut ids = Vec::new();
    for i in 0..7 {
        let r = e
            .file_request("default", &req(&format!("eng{i}"), 30))
            .unwrap();
        e.provider_approve("default", &r.id, "manager", None)
            .unwrap();
        ids.push(r.id);
    }
    let first = mail::claim(&mut e).unwrap();
    assert_eq!(first.len() as u32, mail::CLAIM_BATCH, "a batch at a time");
    let second = mail::claim(&mut e).unwrap();
    assert_eq!(second.len(), 2, "the rest");
    // The first batch's sender dies; the second records its two as sent.
    for o in &second {
        mail::record(&mut e, o, &Ok(())).unwrap();
    }
    clock.advance(mail::CLAIM_LEASE - Duration::seconds(1));
    assert!(mail::claim(&mut e).unwrap().is_empty(), "still leased");
    clock.advance(Duration::seconds(2));
    let again = mail::claim(&mut e).unwrap();
    let mut a: Vec<i64> = again.iter().map(|o| o.notice_id).collect();
    let mut f: Vec<i64> = first.iter().map(|o| o.notice_id).collect();
    a.sort();
    f.sort();
    assert_eq!(a, f, "exactly the stranded claims, once");
    for o in &again {
        mail::record(&mut e, o, &Ok(())).unwrap();
    }
    // The killed sender's try counts: a re-claimed email shows 2 attempts.
    let attempts: std::collections::BTreeMap<i64, i64> = e
        .email_deliveries("default", 100)
        .unwrap()
        .iter()
        .map(|d| (d.notice_id, d.attempts))
        .collect();
    for id in &f {
        assert_eq!(attempts[id], 2, "re-claimed {id}: {attempts:?}");
    }
    for o in &second {
        assert_eq!(attempts[&o.notice_id], 1, "sent at once: {attempts:?}");
    }
    clock.advance(mail::CLAIM_LEASE * 2);
    assert!(
        mail::claim(&mut e).unwrap().is_empty(),
        "sent ones stay sent"
    );
}
