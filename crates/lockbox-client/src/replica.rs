//! The signed-in person's audit replica: every tenant of theirs pulled from
//! the team server (`replica_page`, 10 000 entries a page) into a local
//! SQLite store, each page checked and appended by
//! `lockbox_core::store::replica::apply` (links, hashes, the server's
//! signed checkpoint against its key pinned at the first pull) before the
//! next is asked for. A pull cut short keeps the pages it checked; the next
//! one goes on from there.

use crate::{call, kept};
use lockbox_core::dto::{ReplicaPageDto, SessionDto};
use lockbox_core::store::{replica, Store, StoreLocation};
use lockbox_core::{Error, Result};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Entries asked for per page (the server's most).
pub const PAGE: u32 = 10_000;

/// What a pull did, per tenant: `(tenant, entries added, chain length,
/// position the server's newest checkpoint vouches for)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pulled {
    pub tenants: Vec<(String, u64, i64, Option<i64>)>,
    /// Whether the sign-in was renewed (and kept) on the way.
    pub renewed: bool,
}

impl Pulled {
    pub fn entries(&self) -> u64 {
        self.tenants.iter().map(|t| t.1).sum()
    }
}

/// Pull every tenant of the person signed in to `server` (the sign-in kept
/// in the keyring) into the replica at `path` (created if missing). `now`:
/// Unix seconds by the caller's clock (for renewing the sign-in).
pub async fn pull(http: &reqwest::Client, server: &str, now: i64, path: &Path) -> Result<Pulled> {
    let store = blocking({
        let loc = StoreLocation::File(path.to_path_buf());
        move || Store::open_location(&loc)
    })
    .await?;
    let store = Arc::new(Mutex::new(store));
    let mut out = Pulled::default();
    // The kept sign-in for each call: a renewal on the way is kept there.
    let mut ask = async |command: &str, body: serde_json::Value| {
        let called = call(http, server, command, &body, kept(server)?, now).await?;
        out.renewed |= called.renewed;
        Ok::<_, Error>(called.value)
    };
    let session: SessionDto = parse(ask("session", serde_json::json!({})).await?)?;
    let mut report = Vec::new();
    for tenant in session.tenants.iter().map(|t| t.id.clone()) {
        let (mut after, since) = blocking({
            let (store, tenant) = (store.clone(), tenant.clone());
            move || replica::position(&mut lock(&store), &tenant)
        })
        .await?;
        let mut added = 0;
        loop {
            let body = serde_json::json!({"tenant": tenant, "since": since, "after": after, "limit": PAGE});
            let page: ReplicaPageDto = parse(ask("replica_page", body).await?)?;
            if page.tenant != tenant {
                return Err(Error::input(
                    "the server answered with a page of another tenant",
                ));
            }
            let (complete, head) = (page.complete, page.head);
            let done = blocking({
                let (store, server) = (store.clone(), server.to_string());
                move || replica::apply(&mut lock(&store), &server, &page)
            })
            .await?;
            added += done.entries;
            after += done.entries as i64;
            if complete {
                report.push((tenant.clone(), added, head, done.checkpoint));
                break;
            }
            if done.entries == 0 {
                return Err(Error::input(format!(
                    "the server sent an empty page of '{}' before its head",
                    lockbox_core::text::one_line(&tenant)
                )));
            }
        }
    }
    out.tenants = report;
    Ok(out)
}

fn lock(s: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::internal(format!("the server's answer: {e}")))
}

/// Run `f` (the local store: SQLite, blocking) off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("the replica's worker: {e}")))?
}
