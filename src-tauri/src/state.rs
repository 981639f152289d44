//! Shared app state: the engine handle (`lockbox_core::runtime`), who is
//! acting, per-machine preferences, and the "something changed" signal.

use lockbox_core::commands::Caller;
use lockbox_core::dto::AppPrefsDto;
use lockbox_core::files::{self, AtomicFile};
use lockbox_core::runtime::EngineHandle;
use lockbox_core::{Engine, Error, Principal, Result};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct AppState {
    pub engine: EngineHandle,
    /// Set in an archive window: the engine is read-only and this is the file.
    pub archive: Option<Arc<crate::archive::Archive>>,
    /// The OS user running the app (by uid), who acts in the admin center.
    pub user: Principal,
    pub prefs: Arc<Mutex<AppPrefsDto>>,
    pub prefs_path: PathBuf,
    /// The team server engine commands go to, if any (`connect/`).
    pub connection: crate::connect::Connection,
    /// Woken whenever the store changed (by us or another process): the
    /// engine handle's signal.
    pub changed: Arc<Notify>,
    /// Paths the user picked in the save dialog, each writable by one export.
    export_paths: Arc<Mutex<Vec<PathBuf>>>,
}

impl AppState {
    pub fn new(engine: Engine, user: Principal, prefs_path: PathBuf) -> Self {
        let prefs = load_prefs(&prefs_path);
        let engine = EngineHandle::new(engine);
        AppState {
            connection: crate::connect::Connection::load(
                prefs_path.with_file_name("connection.json"),
            ),
            changed: engine.changed().clone(),
            engine,
            archive: None,
            user,
            prefs: Arc::new(Mutex::new(prefs)),
            prefs_path,
            export_paths: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The state of an archive window: `engine` opened read-only on the
    /// archive; default preferences, never read or written.
    pub fn for_archive(engine: Engine, user: Principal, archive: crate::archive::Archive) -> Self {
        let engine = EngineHandle::new(engine);
        AppState {
            changed: engine.changed().clone(),
            engine,
            archive: Some(Arc::new(archive)),
            user,
            prefs: Arc::new(Mutex::new(AppPrefsDto::default())),
            prefs_path: PathBuf::new(),
            connection: crate::connect::Connection::default(),
            export_paths: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Remember a path the user chose in the save dialog; returns it as text.
    pub fn allow_export_path(&self, p: PathBuf) -> String {
        let text = p.display().to_string();
        let mut v = self.export_paths.lock().unwrap_or_else(|e| e.into_inner());
        v.retain(|q| *q != p);
        v.push(p);
        let n = v.len();
        v.drain(..n.saturating_sub(8));
        text
    }

    /// The path an export may write: only one the user chose in the save
    /// dialog (once). The page cannot name any other file.
    pub fn take_export_path(&self, path: &str) -> Result<PathBuf> {
        let p = PathBuf::from(path);
        let mut v = self.export_paths.lock().unwrap_or_else(|e| e.into_inner());
        match v.iter().position(|q| *q == p) {
            Some(i) => Ok(v.remove(i)),
            None => Err(Error::not_permitted(format!(
                "{path} was not chosen in the save dialog: choose where to export first"
            ))),
        }
    }

    /// Who calls the engine commands: the OS user, and the archive shown.
    pub fn caller(&self) -> Caller {
        Caller {
            principal: self.user.clone(),
            archive: self.archive.as_ref().map(|a| a.info.clone()),
        }
    }

    /// Run `f` with the engine on a blocking thread (never on the async runtime).
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine, &Principal) -> Result<T> + Send + 'static,
    {
        let user = self.user.clone();
        self.engine.run(move |e| f(e, &user)).await
    }

    /// Like [`run`](Self::run), then signal a change (for writes).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine, &Principal) -> Result<T> + Send + 'static,
    {
        let user = self.user.clone();
        self.engine.write(move |e| f(e, &user)).await
    }

    pub fn prefs(&self) -> AppPrefsDto {
        self.prefs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_prefs(&self, p: &AppPrefsDto) -> Result<()> {
        crate::archive::refuse_in_archive(self, "preferences")?;
        let text = serde_json::to_string_pretty(p)?;
        let mut f = AtomicFile::new(&self.prefs_path, files::MODE_DEFAULT)?;
        f.file().write_all(text.as_bytes())?;
        f.commit()?;
        *self.prefs.lock().unwrap_or_else(|e| e.into_inner()) = p.clone();
        Ok(())
    }
}

fn load_prefs(path: &std::path::Path) -> AppPrefsDto {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), "ignoring unreadable preferences: {e}");
            AppPrefsDto::default()
        }),
        Err(_) => AppPrefsDto::default(),
    }
}
