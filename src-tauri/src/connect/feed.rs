//! Connected mode's live change feed (see `super`): the server's changes to
//! the window, a look at its pending requests (tray, notifications:
//! `notices.rs`) and the replica pulled after them.

use super::*;

impl Connection {
    /// Stop following a server's change feed.
    pub fn stop_following(&self) {
        for task in self
            .feed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

/// While connected: the server's changes reach the window as
/// `lockbox://changed`; the tray shows the server's pending requests and
/// each new one is an OS notification (`notices.rs`). A
/// feed that fails (the server restarting, a network change) is joined
/// again after 10 s; one that cannot sign in stops (the window says why on
/// its next call). Replaces any feed followed before.
pub fn follow<R: Runtime>(app: AppHandle<R>, state: &crate::state::AppState) {
    let conn = state.connection.clone();
    conn.stop_following();
    let Some(r) = conn.remote().filter(|_| state.archive.is_none()) else {
        return;
    };
    // A look at the server's pending requests (tray, notifications): when
    // the feed is joined and after each change it hears.
    let counts = Arc::new(Notify::new());
    // The replica's puller: a pull at once, then one per request (a request
    // made during a pull waits for it: one permit, so at most one queued).
    let puller = tauri::async_runtime::spawn({
        let conn = conn.clone();
        async move {
            loop {
                conn.pulls.notified().await;
                match conn.pull_replica().await {
                    Ok(p) => tracing::info!(
                        entries = p.entries(),
                        tenants = p.tenants.len(),
                        "pulled the audit replica"
                    ),
                    Err(e) => tracing::warn!("cannot pull the audit replica: {}", e.message),
                }
            }
        }
    });
    conn.want_pull();
    let tray = tauri::async_runtime::spawn(super::notices::notify_loop(
        app.clone(),
        state.clone(),
        r.clone(),
        counts.clone(),
    ));
    let fconn = conn.clone();
    let feed = tauri::async_runtime::spawn(async move {
        loop {
            // The server reached again: said, and the replica brought up to date.
            if r.reachable().await && fconn.set_offline(&r.server, false) {
                let _ = app.emit(CONNECTION_EVENT, ());
                fconn.want_pull();
            }
            let server = r.server.clone();
            let tokens = match blocking(move || kept(&server)).await {
                Ok(t) => t,
                Err(e) => {
                    return tracing::warn!(server = %r.server, "change feed stopped: {}", e.message)
                }
            };
            let http = match changes::stream_client(r.ca.as_deref()) {
                Ok(h) => h,
                Err(e) => return tracing::warn!("change feed stopped: {}", e.message),
            };
            let now = chrono::Utc::now().timestamp();
            let heard = |news: FeedNews| match news {
                FeedNews::Event(e) if e.event == "message" => {
                    match serde_json::from_value::<lockbox_core::dto::LockboxEvent>(e.data) {
                        Ok(ev) => {
                            let _ = app.emit("lockbox://changed", ev);
                            counts.notify_one();
                            fconn.want_pull();
                        }
                        Err(e) => tracing::warn!("change feed: an event not understood: {e}"),
                    }
                }
                // The first event of every connection (and a change of the
                // person's tenants), sent once the feed is subscribed: what
                // changed while it was not followed (the app closed, the
                // server away) is looked at now, and nothing after is missed.
                FeedNews::Event(e) if e.event == "scope" => counts.notify_one(),
                FeedNews::Event(_) => {}
                FeedNews::Renewed => tracing::info!("change feed: renewed the sign-in"),
                FeedNews::Ended(why) => tracing::info!(
                    "change feed: the server ended it: {}",
                    one_line(why["message"].as_str().unwrap_or_default())
                ),
            };
            match changes::follow(&http, &r.server, tokens, now, heard).await {
                Err(e) if e.code == ErrorCode::Unauthorized => {
                    return tracing::warn!(server = %r.server, "change feed stopped: {}", e.message)
                }
                Err(e) => {
                    if is_unreachable(&e) && fconn.set_offline(&r.server, true) {
                        let _ = app.emit(CONNECTION_EVENT, ());
                    }
                    tracing::warn!(server = %r.server, "change feed: {}; joining again in 10 s", e.message)
                }
                Ok(()) => {
                    tracing::info!(server = %r.server, "change feed ended; joining again in 10 s")
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        }
    });
    conn.feed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend([feed, tray, puller]);
}
