//! Connected mode: the team server (`lockbox serve --oidc-*`) this machine's
//! app sends its engine commands to, instead of its own store.
//!
//! - Where: `connection.json` beside `app-prefs.json` (the server's address
//!   and the CA file trusted for it; never a token). A file of its own, not
//!   a field of the preferences: `set_prefs` takes the page's whole
//!   preferences, and a page must not be able to point the app at another
//!   server without a sign-in; only `connect_server` (after the person
//!   signed in) and `disconnect_server` write it.
//! - Who: the Lockbox session that `lockbox_client::browser_flow` opens
//!   for the person's ID token, with the ID and the issuer's refresh token,
//!   in the OS keyring only (`lockbox_client::keep`, one entry per server
//!   URL, the same entry `lockbox login --server URL` uses); the person
//!   shown is the ID token's `email` (else `name`), unverified: the server
//!   verified the token when it opened the session. Disconnecting ends the
//!   session on the server (when it answers) and deletes the entry.
//! - What: [`Remote::call`] posts an engine command to
//!   `/admin/v1/commands/NAME` with the session's access token
//!   (`lockbox_client::call`, renewed once on expiry or a 401). Every rule stays on the server; the shell only routes
//!   (`ipc.rs::dispatch`). An archive window is never connected.
//! - News: while connected, [`follow`] follows the server's live change feed
//!   (`lockbox_client::changes`): each change is emitted to the window as
//!   `lockbox://changed` (the same event the local feed sends), and the
//!   server's pending requests are looked at (at each connection of the feed and
//!   at most once per 250 ms after changes): the tray's count and newest
//!   requests are the server's, and each request new to the signed-in
//!   person on this device is an OS notification, rendered, coalesced and
//!   clickable as the local store's (`notices`: the record in
//!   `notified.json`, and what the first look counts as new).
//! - Replica: while connected, the person's tenants' audit log (with their
//!   requests and a signed checkpoint) is pulled into
//!   `replica-<server>.db` beside `connection.json`
//!   (`lockbox_client::replica::pull`, each page checked by
//!   `lockbox_core::store::replica::apply`): when following starts, after
//!   the feed's changes and when the server is back; one pull at a time, at
//!   most one more queued. A failed pull is logged; no command waits for one.
//! - Offline: an engine command the server cannot be reached for
//!   (`lockbox_client::unreachable`) is a read answered from that replica,
//!   opened read-only as an archive is (the session's `archive` names it,
//!   so the UI's read-only mode applies), or a write refused, saying
//!   decisions are off until the server is back. `get_connection` says
//!   `offline` with the time of the last pull; `lockbox://connection` tells
//!   the window when that changes (a call or the feed reaching the server
//!   again ends it).

use lockbox_client::changes::{self, FeedNews};
use lockbox_client::{browser_flow, call, claim, http_client, keep, kept, keyring_error};
use lockbox_core::commands::{self, Access, Caller, CommandSpec};
use lockbox_core::dto::{ArchiveDto, ConnectionDto, ConnectionState, TrayStateDto};
use lockbox_core::runtime::EngineHandle;
use lockbox_core::secrets::{self, SIGN_IN_SERVICE};
use lockbox_core::text::one_line;
use lockbox_core::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Emitter, Runtime};
use tokio::sync::Notify;

mod feed;
pub mod notices;
mod replica;
pub use feed::follow;
pub use replica::run_connected;
use replica::{is_unreachable, Replica};

/// The event telling the window that the connection's state changed
/// (offline, or back): it asks `get_connection` and the session again.
pub const CONNECTION_EVENT: &str = "lockbox://connection";

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
    /// The audit replica's state (for the server in use).
    replica: Arc<Mutex<Replica>>,
    /// Asks the replica's puller for a pull (one permit: coalesced).
    pulls: Arc<Notify>,
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
            replica: Arc::default(),
            pulls: Arc::default(),
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
                replica_at: None,
            });
        };
        let server = r.server.clone();
        let tokens = blocking(move || Ok(secrets::secret_get(SIGN_IN_SERVICE, &server))).await?;
        let id_token = tokens.ok().flatten().and_then(|json| {
            serde_json::from_str::<lockbox_client::Tokens>(&json)
                .ok()
                .map(|t| t.id_token)
        });
        // Signed in: whether the server answers now.
        if id_token.is_some() {
            let reachable = r.reachable().await;
            self.set_offline(&r.server, !reachable);
        }
        let (offline, pulled_at) = {
            let g = self.replica_for(&r.server);
            (g.offline, g.pulled_at.clone())
        };
        // Not pulled since the app started: the replica file's last change.
        let replica_at = pulled_at.or_else(|| {
            let changed = std::fs::metadata(self.replica_path(&r.server))
                .and_then(|m| m.modified())
                .ok()?;
            Some(
                chrono::DateTime::<chrono::Utc>::from(changed)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
        });
        Ok(ConnectionDto {
            state: match id_token {
                Some(_) if offline => ConnectionState::Offline,
                Some(_) => ConnectionState::Connected,
                None => ConnectionState::SignedOut,
            },
            person: id_token.as_deref().and_then(person_of),
            server: Some(r.server),
            ca: r.ca.map(|p| p.display().to_string()),
            replica_at,
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
                forget_tokens(&r).await?;
            }
            return Err(e);
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(r.clone());
        // Another server's sign-in is not kept once this one is used.
        if let Some(old) = old.filter(|o| o.server != r.server) {
            forget_tokens(&old).await?;
        }
        tracing::info!(server = %r.server, "connected to a team server");
        let replica_at = {
            let mut g = self.replica_for(&r.server);
            g.offline = false;
            g.pulled_at.clone()
        };
        Ok(ConnectionDto {
            state: ConnectionState::Connected,
            server: Some(r.server),
            ca: r.ca.map(|p| p.display().to_string()),
            person,
            replica_at,
        })
    }

    /// Forget the server's sign-in and the connection: back to the local store.
    pub async fn disconnect(&self) -> Result<ConnectionDto> {
        if let Some(r) = self.remote() {
            forget_tokens(&r).await?;
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
            *self.replica_state() = Replica::default();
            // Signed out: this machine keeps no copy of the server's audit.
            let replica = self.replica_path(&r.server);
            for suffix in ["", "-wal", "-shm"] {
                let mut p = replica.clone().into_os_string();
                p.push(suffix);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!("cannot remove {}: {e}", PathBuf::from(p).display()),
                }
            }
            tracing::info!(server = %r.server, "disconnected from the team server");
        }
        self.describe().await
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

/// `get_connection`: [`Connection::describe`]; if its probe found the server
/// lost or back, the window is told (`CONNECTION_EVENT`) as a call's
/// failure or success would, and a server back is pulled from.
pub async fn get_connection<R: Runtime>(
    app: &AppHandle<R>,
    state: &crate::state::AppState,
) -> Result<ConnectionDto> {
    let conn = &state.connection;
    let was = conn.offline_now();
    let out = conn.describe().await?;
    let now = out.state == ConnectionState::Offline;
    if out.state != ConnectionState::SignedOut && now != was {
        let _ = app.emit(CONNECTION_EVENT, ());
        if !now {
            conn.want_pull();
        }
    }
    Ok(out)
}

/// Where this window's pages get their data: `archive`, `local` (this
/// machine's store), `connected` (the team server) or `offline` (its replica).
pub fn data_source(state: &crate::state::AppState) -> &'static str {
    let conn = &state.connection;
    match conn.remote() {
        _ if state.archive.is_some() => "archive",
        None => "local",
        Some(_) if conn.offline_now() => "offline",
        Some(_) => "connected",
    }
}

/// `tray_state` while connected: the server's pending count, summed over
/// the person's tenants, and its newest pending requests. `None`: not
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
    let pending = r.pending(lockbox_core::alerts::TRAY_REQUESTS).await?;
    Ok(Some(pending.tray(enabled)))
}

impl Remote {
    /// Whether the server answers at all (its `/healthz`, within 5 s).
    pub async fn reachable(&self) -> bool {
        self.http
            .get(format!("{}/healthz", self.server))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .is_ok()
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

/// Sign out of `r`'s server: its session ends there (when it answers), and
/// the keyring entry goes.
async fn forget_tokens(r: &Remote) -> Result<()> {
    let server = r.server.clone();
    if let Ok(tokens) = blocking(move || kept(&server)).await {
        lockbox_client::sign_out(&r.http, &r.server, &tokens).await;
    }
    let server = r.server.clone();
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
