//! Test helper for the kill -9 test (`tests/kill9.rs`), not a user tool.
//!
//! `lockbox-crash-writer --store PATH|URL [--receipt-key FILE] [--seed N]`
//! performs random operations on the store (a SQLite file or a PostgreSQL
//! URL) through the engine, forever: file, provider-approve, approve,
//! reject, cancel, revoke, access log. It prints one line per operation
//! (`<operation> <request id>`) only AFTER the engine call returned, i.e.
//! after the transaction committed; the harness SIGKILLs it at random moments.

use lockbox_bench::{arg, open_store_arg, BoxResult};
use lockbox_core::model::{NewRequest, State};
use lockbox_core::store::RequestQuery;
use lockbox_core::Principal;
use lockbox_core::SystemClock;
use std::io::Write;
use std::sync::Arc;

const ENGINEER: &str = "eng@provider.example";
const MANAGER: &str = "mgr@provider.example";
const APPROVER: &str = "root";

fn main() {
    if let Err(e) = run() {
        eprintln!("lockbox-crash-writer: {e}");
        std::process::exit(3);
    }
}

fn run() -> BoxResult<()> {
    let seed = match arg("--seed") {
        Some(s) => s.parse()?,
        None => fastrand::u64(..),
    };
    let mut rng = lockbox_bench::rng(seed);
    let mut e = open_store_arg(Arc::new(SystemClock), APPROVER)?;
    let mut pool = |state: State| -> BoxResult<Vec<String>> {
        let q = RequestQuery {
            states: vec![state],
            limit: 1000,
            ..Default::default()
        };
        Ok(e.list_requests("default", &q)?
            .items
            .into_iter()
            .map(|r| r.id)
            .collect())
    };
    let mut awaiting = pool(State::AwaitingProvider)?;
    let mut pending = pool(State::Pending)?;
    let mut approved = pool(State::Approved)?;
    let out = std::io::stdout();
    let ack = |op: &str, id: &str| -> BoxResult<()> {
        let mut o = out.lock();
        writeln!(o, "{op} {id}")?;
        o.flush()?;
        Ok(())
    };
    let take = |rng: &mut fastrand::Rng, v: &mut Vec<String>| -> String {
        let i = rng.usize(..v.len());
        v.swap_remove(i)
    };
    let mut n = 0u64;
    loop {
        n += 1;
        let roll = rng.u32(..100);
        if roll < 25 || (awaiting.is_empty() && pending.is_empty() && approved.is_empty()) {
            let r = e.file_request(
                "default",
                &NewRequest {
                    engineer: ENGINEER.into(),
                    case: format!("SR-{n}"),
                    workload: "Exchange Online".into(),
                    resource: "Mailbox: finance@contoso.example".into(),
                    reason: "Crash test".into(),
                    duration_s: Some(3600),
                },
            )?;
            awaiting.push(r.id.clone());
            ack("filed", &r.id)?;
        } else if roll < 40 && !awaiting.is_empty() {
            let id = take(&mut rng, &mut awaiting);
            e.provider_approve("default", &id, MANAGER, Some("ok"))?;
            pending.push(id.clone());
            ack("provider_approved", &id)?;
        } else if roll < 55 && !pending.is_empty() {
            let id = take(&mut rng, &mut pending);
            e.approve(
                "default",
                &id,
                &Principal::os_user(APPROVER, 0),
                Some("ok"),
                None,
            )?;
            approved.push(id.clone());
            ack("approved", &id)?;
        } else if roll < 62 && !pending.is_empty() {
            let id = take(&mut rng, &mut pending);
            e.reject("default", &id, &Principal::os_user(APPROVER, 0), Some("no"))?;
            ack("rejected", &id)?;
        } else if roll < 67 && !awaiting.is_empty() {
            let id = take(&mut rng, &mut awaiting);
            e.cancel("default", &id, ENGINEER, Some("not needed"))?;
            ack("canceled", &id)?;
        } else if roll < 75 && !approved.is_empty() {
            let id = take(&mut rng, &mut approved);
            e.revoke(
                "default",
                &id,
                &Principal::os_user(APPROVER, 0),
                Some("done"),
            )?;
            ack("revoked", &id)?;
        } else if !approved.is_empty() {
            let id = approved[rng.usize(..approved.len())].clone();
            e.log_access("default", &id, ENGINEER, "Read message trace")?;
            ack("access_used", &id)?;
        }
    }
}
