//! A connected desktop's audit replica (`store::replica`): the server's
//! pages (on the test run's backend) appended to a local SQLite store, which
//! then verifies on its own (chains and every request against them) with the
//! server's heads; a page that does not check out changes nothing.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::dto::ReplicaPageDto;
use lockbox_core::model::NewRequest;
use lockbox_core::store::{replica, Store, StoreLocation};
use lockbox_core::{receipts, Engine, ManualClock, Principal};
use std::sync::Arc;

const SERVER: &str = "https://lockbox.example";

fn req(case: &str) -> NewRequest {
    NewRequest {
        engineer: "eng".into(),
        case: case.into(),
        workload: "Teams".into(),
        resource: "team".into(),
        reason: "r".into(),
        duration_s: Some(3600),
    }
}

fn root() -> Principal {
    Principal::os_user("root", 0)
}

/// Pull `tenant` until its head, `limit` entries a page: (pages, entries).
fn pull(e: &mut Engine, local: &mut Store, tenant: &str, limit: u32) -> (u32, u64) {
    let (mut after, since) = replica::position(local, tenant).unwrap();
    let (mut pages, mut entries) = (0, 0);
    loop {
        let page = e.replica_page(tenant, since, after, limit).unwrap();
        let done = replica::apply(local, SERVER, &page).unwrap();
        pages += 1;
        entries += done.entries;
        after += done.entries as i64;
        if page.complete {
            assert_eq!(done.checkpoint, Some(page.head), "the head is vouched for");
            return (pages, entries);
        }
    }
}

fn heads(s: &mut Store) -> Vec<(String, i64, String)> {
    s.read(|tx| tx.audit_heads()).unwrap()
}

fn server() -> (Engine, ManualClock) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap());
    let mut e = lockbox_core::testing::engine(Arc::new(clock.clone()), "root").unwrap();
    e.add_tenant("default", &root(), "fabrikam", "Fabrikam")
        .unwrap();
    for i in 0..4 {
        e.file_request("fabrikam", &req(&format!("F-{i}"))).unwrap();
    }
    (e, clock)
}

#[test]
fn a_tenant_pulled_in_pages_verifies_on_its_own_with_the_servers_head() {
    let (mut e, _clock) = server();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            e.file_request("default", &req(&format!("SR-{i}")))
                .unwrap()
                .id,
        );
    }
    e.provider_approve("default", &ids[0], "mgr", None).unwrap();
    e.approve("default", &ids[0], &root(), None, None).unwrap();
    e.provider_approve("default", &ids[1], "mgr", None).unwrap();
    e.reject("default", &ids[1], &root(), Some("no")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    let mut local = Store::open_location(&StoreLocation::File(path.clone())).unwrap();
    let (pages, entries) = pull(&mut e, &mut local, "default", 4);
    let (n, hash) = e.audit_head("default").unwrap();
    assert_eq!(entries as i64, n);
    assert_eq!(pages as i64, (n + 3) / 4, "pages of 4");
    assert_eq!(
        heads(&mut local),
        vec![("default".to_string(), n, hash.unwrap())]
    );
    let v = local.verify_audit().unwrap();
    assert!(v.ok(), "{v:?}");
    assert_eq!(
        v.requests, 5,
        "every request named is there and agrees with its entries"
    );

    // More happens; the next pull takes only what is new, and the request
    // rows as they are now.
    e.provider_approve("default", &ids[2], "mgr", None).unwrap();
    e.approve("default", &ids[2], &root(), None, None).unwrap();
    e.revoke("default", &ids[0], &root(), Some("done")).unwrap();
    let before = n;
    let (_, more) = pull(&mut e, &mut local, "default", 4);
    let (n, hash) = e.audit_head("default").unwrap();
    assert_eq!(more as i64, n - before);
    assert_eq!(
        heads(&mut local),
        vec![("default".to_string(), n, hash.unwrap())]
    );
    let v = local.verify_audit().unwrap();
    assert!(v.ok(), "{v:?}");
    // A pull with nothing new changes nothing and needs one page.
    assert_eq!(pull(&mut e, &mut local, "default", 4), (1, 0));
    drop(local);

    // The replica opens as an archive: read-only, it lists the requests.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap(),
    ));
    let mut archive = Engine::open_read_only(&path, clock).unwrap();
    assert!(archive.verify_audit().unwrap().ok());
    let tenants: Vec<String> = archive
        .tenants()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        tenants,
        vec!["default".to_string()],
        "fabrikam was not pulled"
    );
}

/// Apply `page` after `tamper`: refused, and the replica is as it was.
fn refused(
    local: &mut Store,
    page: &ReplicaPageDto,
    tamper: impl FnOnce(&mut ReplicaPageDto),
    why: &str,
) {
    let before = heads(local);
    let rows: i64 = local.read(|tx| tx.audit_max_seq()).unwrap();
    let mut bad = page.clone();
    tamper(&mut bad);
    let err = replica::apply(local, SERVER, &bad).unwrap_err();
    assert!(err.message.contains(why), "{why}: {}", err.message);
    assert!(
        err.message.contains("nothing of this page was kept"),
        "{}",
        err.message
    );
    assert_eq!(heads(local), before);
    assert_eq!(local.read(|tx| tx.audit_max_seq()).unwrap(), rows);
}

#[test]
fn a_page_that_does_not_check_out_is_refused_whole() {
    let (mut e, _clock) = server();
    let dir = tempfile::tempdir().unwrap();
    let mut local = Store::open_location(&StoreLocation::File(dir.path().join("r.db"))).unwrap();
    // A first pull, so there is something to keep.
    pull(&mut e, &mut local, "fabrikam", 100);
    let id = e.file_request("fabrikam", &req("F-9")).unwrap().id;
    e.provider_approve("fabrikam", &id, "mgr", None).unwrap();
    let (after, since) = replica::position(&mut local, "fabrikam").unwrap();
    let page = e.replica_page("fabrikam", since, after, 100).unwrap();
    assert!(page.complete && page.entries.len() >= 2, "{page:?}");

    refused(
        &mut local,
        &page,
        |p| p.entries[1].details.push(' '),
        "does not match its hash",
    );
    refused(
        &mut local,
        &page,
        |p| {
            p.entries.remove(0);
        },
        "came where",
    );
    refused(
        &mut local,
        &page,
        |p| p.entries[0].prev_hash = "0".repeat(64),
        "does not link",
    );
    let other = receipts::Signer::ephemeral().unwrap();
    refused(
        &mut local,
        &page,
        |p| p.public_key = other.public_key(),
        "pinned",
    );
    refused(
        &mut local,
        &page,
        |p| p.checkpoint.as_mut().unwrap().signature = other.sign("x").unwrap().1,
        "not signed by the server's key",
    );
    refused(&mut local, &page, |p| p.head += 1, "ends at");
    refused(
        &mut local,
        &page,
        |p| p.rows[1].rows[0][1] = "default".into(),
        "another tenant",
    );
    refused(
        &mut local,
        &page,
        |p| {
            p.rows[1].columns.pop();
        },
        "columns",
    );
    // Another server's page for this replica.
    let mut wrong = local;
    let err = replica::apply(&mut wrong, "https://elsewhere.example", &page).unwrap_err();
    assert!(err.message.contains("another server"), "{}", err.message);
    // The page as sent is kept.
    let done = replica::apply(&mut wrong, SERVER, &page).unwrap();
    assert_eq!(done.entries as usize, page.entries.len());
    assert!(wrong.verify_audit().unwrap().ok());
}
