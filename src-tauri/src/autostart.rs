//! Start at login (tauri-plugin-autostart), driven by the app preference.

use lockbox_core::{Error, Result};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::AutoLaunchManager;

pub fn apply<R: Runtime>(app: &AppHandle<R>, enabled: bool) -> Result<()> {
    let Some(manager) = app.try_state::<AutoLaunchManager>() else {
        return Ok(()); // not registered (tests)
    };
    let current = manager.is_enabled().unwrap_or(false);
    let res = match (enabled, current) {
        (true, false) => manager.enable(),
        (false, true) => manager.disable(),
        _ => Ok(()),
    };
    res.map_err(|e| Error::internal(format!("cannot change start at login: {e}")))
}
