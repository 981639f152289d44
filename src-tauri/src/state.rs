//! Shared app state: the engine (one connection, behind a mutex), who is
//! acting, per-machine preferences, and the "something changed" signal.

use lockbox_core::dto::AppPrefsDto;
use lockbox_core::{Engine, Error, Result};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Mutex<Engine>>,
    /// The OS user, who acts in the admin center.
    pub user: String,
    pub prefs: Arc<Mutex<AppPrefsDto>>,
    pub prefs_path: PathBuf,
    /// Woken whenever the store changed (by us or another process).
    pub changed: Arc<Notify>,
}

impl AppState {
    pub fn new(engine: Engine, user: String, prefs_path: PathBuf) -> Self {
        let prefs = load_prefs(&prefs_path);
        AppState {
            engine: Arc::new(Mutex::new(engine)),
            user,
            prefs: Arc::new(Mutex::new(prefs)),
            prefs_path,
            changed: Arc::new(Notify::new()),
        }
    }

    /// Run `f` with the engine on a blocking thread (never on the async runtime).
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine, &str) -> Result<T> + Send + 'static,
    {
        let engine = self.engine.clone();
        let user = self.user.clone();
        tokio::task::spawn_blocking(move || {
            let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut e, &user)
        })
        .await
        .map_err(|e| Error::internal(format!("engine task failed: {e}")))?
    }

    /// Like [`run`](Self::run), then signal a change (for writes).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine, &str) -> Result<T> + Send + 'static,
    {
        let out = self.run(f).await;
        self.changed.notify_one();
        out
    }

    pub fn prefs(&self) -> AppPrefsDto {
        self.prefs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_prefs(&self, p: &AppPrefsDto) -> Result<()> {
        let text = serde_json::to_string_pretty(p)?;
        let tmp = self.prefs_path.with_extension("json.tmp");
        std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &self.prefs_path))?;
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
