//! Connected mode: the team server (`lockbox serve --oidc-*`) this machine's
//! app sends its engine commands to, instead of its own store.
//!
//! - Where: `connection.json` beside `app-prefs.json` (the server's address
//!   and the CA file trusted for it; never a token). A file of its own, not
//!   a field of the preferences: `set_prefs` takes the page's whole
//!   preferences, and a page must not be able to point the app at another
//!   server without a sign-in; only `connect_server` (after the person
//!   signed in) and `disconnect_server` write it.
//! - Who: the ID and refresh tokens of `lockbox_client::browser_flow`, in the
//!   OS keyring only (`lockbox_client::keep`, one entry per server URL, the
//!   same entry `lockbox login --server URL` uses); the person shown is the
//!   ID token's `email` (else `name`), unverified: the server verifies the
//!   token on every call.
//! - What: [`Remote::call`] posts an engine command to
//!   `/admin/v1/commands/NAME` (`lockbox_client::call`, renewed once on
//!   expiry or a 401). Every rule stays on the server; the shell only routes
//!   (`ipc.rs::dispatch`). An archive window is never connected.
//! - News: while connected, [`follow`] follows the server's live change feed
//!   (`lockbox_client::changes`): each change is emitted to the window as
//!   `lockbox://changed` (the same event the local feed sends), and the
//!   tray's count is the server's (at most one count per 250 ms).

use lockbox_client::changes::{self, FeedNews};
use lockbox_client::{browser_flow, call, claim, http_client, keep, kept, keyring_error};
use lockbox_core::dto::{ConnectionDto, ConnectionState, TrayStateDto};
use lockbox_core::secrets::{self, SIGN_IN_SERVICE};
use lockbox_core::text::one_line;
use lockbox_core::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Emitter, Runtime};
use tokio::sync::Notify;

/// What `connection.json` holds: no secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Saved {
    server: String,
    ca: Option<PathBuf>,
}

/// The team server the engine commands go to, and the HTTP client for it
/// (trusting its CA file, if any).
#[derive(Clone)]
pub struct Remote {
    pub server: String,
    pub ca: Option<PathBuf>,
    http: reqwest::Client,
}

/// This machine's connection: none (local store) or a [`Remote`].
#[derive(Clone, Default)]
pub struct Connection {
    /// `connection.json`; empty in an archive window (never connected).
    path: PathBuf,
    current: Arc<Mutex<Option<Remote>>>,
    /// The tasks following the server's change feed ([`follow`]).
    feed: Arc<Mutex<Vec<tauri::async_runtime::JoinHandle<()>>>>,
}

impl Connection {
    /// The saved connection at `path`; an unreadable file is ignored (the
    /// app starts on its local store) and said in the log.
    pub fn load(path: PathBuf) -> Connection {
        let current = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Saved>(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|s| remote(s.server, s.ca).map_err(|e| e.message))
            {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring the saved connection: {e}");
                    None
                }
            },
            Err(_) => None,
        };
        Connection {
            path,
            current: Arc::new(Mutex::new(current)),
            feed: Arc::default(),
        }
    }

    /// The server engine commands go to now, if any.
    pub fn remote(&self) -> Option<Remote> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Where commands run, and who is signed in (read from the keyring).
    pub async fn describe(&self) -> Result<ConnectionDto> {
        let Some(r) = self.remote() else {
            return Ok(ConnectionDto {
                state: ConnectionState::Local,
                server: None,
                ca: None,
                person: None,
            });
        };
        let server = r.server.clone();
        let tokens = blocking(move || Ok(secrets::secret_get(SIGN_IN_SERVICE, &server))).await?;
        let id_token = tokens.ok().flatten().and_then(|json| {
            serde_json::from_str::<lockbox_client::Tokens>(&json)
                .ok()
                .map(|t| t.id_token)
        });
        Ok(ConnectionDto {
            state: match id_token {
                Some(_) => ConnectionState::Connected,
                None => ConnectionState::SignedOut,
            },
            person: id_token.as_deref().and_then(person_of),
            server: Some(r.server),
            ca: r.ca.map(|p| p.display().to_string()),
        })
    }

    /// Sign in to `url` in the system browser (`open` opens the provider's
    /// page, `show` gets its address in case none opened), keep the tokens
    /// and the connection. On any failure nothing is changed: not the
    /// connection in use, its file, nor the kept sign-ins.
    pub async fn connect(
        &self,
        url: &str,
        ca: Option<&str>,
        open: impl FnOnce(&str) -> std::result::Result<(), String>,
        show: impl FnOnce(&str),
    ) -> Result<ConnectionDto> {
        if self.path.as_os_str().is_empty() {
            return Err(Error::input(
                "an audit archive window cannot connect to a server",
            ));
        }
        let ca = match ca.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) if Path::new(c).is_absolute() => Some(PathBuf::from(c)),
            Some(c) => {
                return Err(Error::input(format!(
                "the CA file '{}' must be given by its full path (like /etc/ssl/lockbox-ca.pem)",
                one_line(c)
            )))
            }
        };
        let r = remote(url.to_string(), ca)?;
        // No keyring, no sign-in to keep: say so before the person signs in.
        let server = r.server.clone();
        blocking(move || secrets::secret_get(SIGN_IN_SERVICE, &server).map_err(keyring_error))
            .await?;
        let tokens = browser_flow(&r.http, &r.server, open, show).await?;
        let person = person_of(&tokens.id_token);
        let (server, old) = (r.server.clone(), self.remote());
        blocking(move || keep(&server, &tokens)).await?;
        let saved = Saved {
            server: r.server.clone(),
            ca: r.ca.clone(),
        };
        let written = lockbox_core::files::write_atomically(&self.path, |f| {
            serde_json::to_writer_pretty(&mut *f, &saved)
                .map_err(|e| Error::internal(format!("cannot write the connection: {e}")))
        });
        if let Err(e) = written {
            // Not connected after all: keep no sign-in for it either.
            if old.as_ref().is_none_or(|o| o.server != r.server) {
                forget_tokens(r.server.clone()).await?;
            }
            return Err(e);
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(r.clone());
        // Another server's sign-in is not kept once this one is used.
        if let Some(old) = old.filter(|o| o.server != r.server) {
            forget_tokens(old.server).await?;
        }
        tracing::info!(server = %r.server, "connected to a team server");
        Ok(ConnectionDto {
            state: ConnectionState::Connected,
            server: Some(r.server),
            ca: r.ca.map(|p| p.display().to_string()),
            person,
        })
    }

    /// Forget the server's sign-in and the connection: back to the local store.
    pub async fn disconnect(&self) -> Result<ConnectionDto> {
        if let Some(r) = self.remote() {
            forget_tokens(r.server.clone()).await?;
            match std::fs::remove_file(&self.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::internal(format!(
                        "cannot remove {}: {e}",
                        self.path.display()
                    )))
                }
            }
            *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.stop_following();
            tracing::info!(server = %r.server, "disconnected from the team server");
        }
        self.describe().await
    }
}

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

/// `connect_server`: the system browser (`$BROWSER`, else xdg-open) shows
/// the provider's sign-in; its address is logged in case none opened (no
/// secret: the code that follows it goes to this app's loopback port only).
/// Then the server's change feed is followed and the app told of the change.
pub async fn connect_server<R: Runtime>(
    app: &AppHandle<R>,
    state: &crate::state::AppState,
    url: &str,
    ca: Option<&str>,
) -> Result<ConnectionDto> {
    crate::archive::refuse_in_archive(state, "a team server")?;
    let show = |prompt: &str| tracing::info!("{}", prompt.replace('\n', " "));
    let connection = state
        .connection
        .connect(url, ca, lockbox_client::open_in_browser, show);
    let out = connection.await?;
    follow(app.clone(), state);
    state.changed.notify_one();
    Ok(out)
}

/// `tray_state` while connected: the server's pending count, summed over
/// the person's tenants; its newest requests are not listed. `None`: not
/// connected (the local store's tray).
pub async fn tray_state(state: &crate::state::AppState) -> Result<Option<TrayStateDto>> {
    let Some(r) = state
        .connection
        .remote()
        .filter(|_| state.archive.is_none())
    else {
        return Ok(None);
    };
    let enabled = state.prefs().notifications_enabled;
    Ok(Some(crate::tray::tray_state(
        r.pending().await?,
        enabled,
        &[],
    )))
}

/// While connected: the server's changes reach the window as
/// `lockbox://changed`, and the tray shows the server's pending count. A
/// feed that fails (the server restarting, a network change) is joined
/// again after 10 s; one that cannot sign in stops (the window says why on
/// its next call). Replaces any feed followed before.
pub fn follow<R: Runtime>(app: AppHandle<R>, state: &crate::state::AppState) {
    let conn = state.connection.clone();
    conn.stop_following();
    let Some(r) = conn.remote().filter(|_| state.archive.is_none()) else {
        return;
    };
    let counts = Arc::new(Notify::new());
    counts.notify_one(); // the server's count at once
    let tray = tauri::async_runtime::spawn(tray_loop(
        app.clone(),
        state.clone(),
        r.clone(),
        counts.clone(),
    ));
    let feed = tauri::async_runtime::spawn(async move {
        loop {
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
                        }
                        Err(e) => tracing::warn!("change feed: an event not understood: {e}"),
                    }
                }
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
        .extend([feed, tray]);
}

/// The tray's count from the server, when the feed heard a change (at most
/// one count per 250 ms, `runtime::FEED_GAP`).
async fn tray_loop<R: Runtime>(
    app: AppHandle<R>,
    state: crate::state::AppState,
    r: Remote,
    counts: Arc<Notify>,
) {
    loop {
        counts.notified().await;
        match r.pending().await {
            Ok(n) => {
                let enabled = state.prefs().notifications_enabled;
                if let Some(t) = crate::tray::get(&app) {
                    t.update(&crate::tray::tray_state(n, enabled, &[]));
                }
            }
            Err(e) => tracing::warn!("cannot count the server's pending requests: {}", e.message),
        }
        tokio::time::sleep(crate::runtime::FEED_GAP).await;
    }
}

impl Remote {
    /// The pending requests of every tenant the person is a user of, on the
    /// server (its `home_stats`, tenant by tenant).
    pub async fn pending(&self) -> Result<u64> {
        let session = self.call("session", serde_json::json!({})).await?;
        let session: lockbox_core::dto::SessionDto = serde_json::from_value(session)?;
        let mut n = 0;
        for t in session.tenants {
            let stats = self
                .call("home_stats", serde_json::json!({ "tenant": t.id }))
                .await?;
            n += stats["pending"].as_u64().unwrap_or(0);
        }
        Ok(n)
    }

    /// Engine command `name` on the server, as the signed-in person.
    pub async fn call(&self, name: &str, args: serde_json::Value) -> Result<serde_json::Value> {
        let server = self.server.clone();
        let tokens = blocking(move || kept(&server))
            .await
            .map_err(|e| signed_out(&self.server, e))?;
        let args = if args.is_null() {
            serde_json::json!({})
        } else {
            args
        };
        let now = chrono::Utc::now().timestamp();
        let called = call(&self.http, &self.server, name, &args, tokens, now)
            .await
            .map_err(|e| signed_out(&self.server, e))?;
        if called.renewed {
            tracing::info!(server = %self.server, "renewed the sign-in");
        }
        Ok(called.value)
    }
}

/// A shell command that needs this machine's store, refused while the
/// engine commands go to a team server (it would act on another store than
/// the one the window shows).
pub fn refuse_when_connected(state: &crate::state::AppState, what: &str) -> Result<()> {
    match state.connection.remote() {
        Some(r) if state.archive.is_none() => Err(Error::input(format!(
            "{what} is set on this machine's own store, but this app is connected to {}: \
             sign out of the server (Settings, This device) to change it here",
            r.server
        ))),
        _ => Ok(()),
    }
}

/// The server address checked (https, or http on loopback) and its client.
fn remote(url: String, ca: Option<PathBuf>) -> Result<Remote> {
    // lockbox_client words these for the CLI's flags.
    let unflag = |e: Error| {
        Error::new(
            e.code,
            e.message
                .replace("--server ", "the server address ")
                .replace("--ca", "the CA file"),
        )
    };
    let server = lockbox_client::server_url(&url).map_err(unflag)?;
    let http = http_client(ca.as_deref()).map_err(unflag)?;
    Ok(Remote { server, ca, http })
}

/// The person an ID token names: its email, else its name.
fn person_of(id_token: &str) -> Option<String> {
    ["email", "name"].iter().find_map(|c| {
        claim(id_token, c)
            .and_then(|v| v.as_str().map(str::to_string))
            .filter(|s| !s.is_empty())
    })
}

async fn forget_tokens(server: String) -> Result<()> {
    blocking(move || secrets::secret_delete(SIGN_IN_SERVICE, &server).map_err(keyring_error)).await
}

/// The keyring is a blocking D-Bus client: kept off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("the keyring task failed: {e}")))?
}

/// A sign-in that is gone or refused, said for the desktop (the client's
/// words name the CLI's `lockbox login`).
fn signed_out(server: &str, e: Error) -> Error {
    if e.code != ErrorCode::Unauthorized {
        return e;
    }
    let why = e
        .message
        .split(": log in with `lockbox login")
        .next()
        .unwrap_or_default()
        .to_string();
    Error::new(
        ErrorCode::Unauthorized,
        format!(
            "{why}. Sign in to {server} again in Settings (This device), or sign out to use this machine's store"
        ),
    )
}
