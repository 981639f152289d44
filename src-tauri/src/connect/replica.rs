//! Connected mode's audit replica and offline reads (see `super`): the
//! replica's file and state, its pulls, and an engine command answered from
//! it, read-only, when the server cannot be reached.

use super::*;

/// The local audit replica of the server in use, and whether that server
/// answers.
#[derive(Default)]
pub(super) struct Replica {
    /// The server's address these fields are about.
    pub(super) server: String,
    /// Its last call failed because it could not be reached.
    pub(super) offline: bool,
    /// When the last pull succeeded (RFC 3339).
    pub(super) pulled_at: Option<String>,
    /// The replica opened read-only for offline reads, and its description
    /// (dropped after each pull: opened again on the next offline read).
    pub(super) open: Option<(EngineHandle, ArchiveDto)>,
}

impl Connection {
    pub(super) fn replica_state(&self) -> std::sync::MutexGuard<'_, Replica> {
        self.replica.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The replica's state for `server`: reset when the server changed.
    pub(super) fn replica_for(&self, server: &str) -> std::sync::MutexGuard<'_, Replica> {
        let mut g = self.replica_state();
        if g.server != server {
            *g = Replica {
                server: server.to_string(),
                ..Replica::default()
            };
        }
        g
    }

    /// The audit replica's file for `server`: beside `connection.json`,
    /// named after the server's address (file-name safe, and a hash of the
    /// whole address so that two addresses never share a file).
    pub fn replica_path(&self, server: &str) -> PathBuf {
        self.path
            .with_file_name(format!("replica-{}.db", file_safe(server)))
    }

    /// Record whether `server` answers; whether that changed.
    pub fn set_offline(&self, server: &str, offline: bool) -> bool {
        let mut g = self.replica_for(server);
        let changed = g.offline != offline;
        g.offline = offline;
        if changed {
            if offline {
                tracing::warn!(
                    server,
                    "the team server cannot be reached: reads answer from the local replica"
                );
            } else {
                tracing::info!(server, "the team server answers again");
            }
        }
        changed
    }

    /// Whether the server in use was last found unreachable.
    pub fn offline_now(&self) -> bool {
        self.remote()
            .is_some_and(|r| self.replica_for(&r.server).offline)
    }

    /// Ask for a pull of the replica (coalesced with one in progress).
    pub fn want_pull(&self) {
        self.pulls.notify_one();
    }

    /// Pull the server's audit into the replica now.
    pub async fn pull_replica(&self) -> Result<lockbox_client::replica::Pulled> {
        let Some(r) = self.remote() else {
            return Err(Error::input("not connected to a team server"));
        };
        let path = self.replica_path(&r.server);
        // wall-clock: the sign-in's expiry is judged by the real time, and the pull's time is shown to the person.
        let now = chrono::Utc::now();
        // The file changes under a copy opened read-only (maybe `immutable`):
        // the next offline read opens it again.
        self.replica_for(&r.server).open = None;
        let pulled =
            lockbox_client::replica::pull(&r.http, &r.server, now.timestamp(), &path).await;
        self.replica_for(&r.server).open = None;
        match pulled {
            Ok(p) => {
                let mut g = self.replica_for(&r.server);
                g.pulled_at = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                Ok(p)
            }
            Err(e) => {
                if is_unreachable(&e) {
                    self.set_offline(&r.server, true);
                }
                Err(e)
            }
        }
    }

    /// The replica of `server` opened read-only (as an archive is), and
    /// what the session says of it.
    pub(super) async fn offline_engine(&self, server: &str) -> Result<(EngineHandle, ArchiveDto)> {
        if let Some(open) = self.replica_for(server).open.clone() {
            return Ok(open);
        }
        let path = self.replica_path(server);
        if !path.is_file() {
            return Err(Error::new(
                ErrorCode::StoreUnavailable,
                format!(
                    "{server} cannot be reached, and this machine has no copy of its audit log yet \
                     (it is pulled while the server answers)"
                ),
            ));
        }
        let (engine, info) = blocking(move || {
            // wall-clock: the read-only replica's engine shows times as of now, as an archive's does.
            let mut e =
                lockbox_core::Engine::open_read_only(&path, Arc::new(lockbox_core::SystemClock))?;
            let info = crate::archive::read_info(&mut e, &path)?;
            Ok((e, info))
        })
        .await?;
        let open = (EngineHandle::new(engine), info);
        self.replica_for(server).open = Some(open.clone());
        Ok(open)
    }
}

/// An engine command while connected: the server's answer. If the server
/// cannot be reached, a read is answered from the audit replica (read-only,
/// the session naming it as its archive) and a write is refused; the
/// window is told when the server is lost or back (`CONNECTION_EVENT`).
pub async fn run_connected<R: Runtime>(
    app: &AppHandle<R>,
    state: &crate::state::AppState,
    r: &Remote,
    spec: &CommandSpec,
    args: serde_json::Value,
) -> Result<serde_json::Value> {
    let conn = &state.connection;
    match r.call(spec.name, args.clone()).await {
        Ok(v) => {
            if conn.set_offline(&r.server, false) {
                let _ = app.emit(CONNECTION_EVENT, ());
                conn.want_pull();
            }
            Ok(v)
        }
        Err(e) if is_unreachable(&e) => {
            if conn.set_offline(&r.server, true) {
                let _ = app.emit(CONNECTION_EVENT, ());
            }
            if spec.access != Access::Read {
                return Err(Error::new(
                    ErrorCode::StoreUnavailable,
                    format!(
                        "the server cannot be reached: decisions are off until it is back ({})",
                        e.message
                    ),
                ));
            }
            let (engine, info) = conn.offline_engine(&r.server).await?;
            let caller = Caller {
                principal: state.user.clone(),
                archive: Some(info),
            };
            commands::call(&engine, &caller, spec.name, args)
                .await
                .unwrap_or_else(|| Err(Error::internal(format!("{} has no handler", spec.name))))
        }
        Err(e) => Err(e),
    }
}

/// The client's "cannot reach …" (`lockbox_client::unreachable`), not
/// another store-unavailable error (the keyring's).
pub(super) fn is_unreachable(e: &Error) -> bool {
    e.code == ErrorCode::StoreUnavailable && e.message.starts_with("cannot reach ")
}

/// `server` as part of a file name: letters, digits and `-`, then a hash
/// of the whole address (FNV-1a, 64 bits: stable across builds).
fn file_safe(server: &str) -> String {
    let mut name = String::new();
    let bare = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    for c in bare.chars().take(80) {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let hash = server.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{:08x}", name.trim_matches('-'), hash >> 32)
}

#[cfg(test)]
mod tests {
    use super::file_safe;

    #[test]
    fn a_replica_file_name_is_safe_and_one_per_address() {
        let name = file_safe("https://lockbox.example:8787");
        assert!(name.starts_with("lockbox-example-8787-"), "{name}");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{name}"
        );
        assert_eq!(name, file_safe("https://lockbox.example:8787"));
        // Addresses that read alike in the name still get files of their own.
        assert_ne!(
            file_safe("http://a-b.example"),
            file_safe("http://a.b.example")
        );
        assert_ne!(
            file_safe("http://x.example"),
            file_safe("https://x.example")
        );
        let odd = file_safe("https://../../etc/passwd");
        assert!(!odd.contains('/') && !odd.contains(".."), "{odd}");
    }
}
