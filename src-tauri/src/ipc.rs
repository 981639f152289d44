//! The one IPC handler: every command of the table declared once in
//! `lockbox_core::commands`. Engine commands go to the engine (as the OS
//! user, on a blocking thread) or, when the app is connected to a team
//! server (`connect/`; never in an archive window), to that server's admin
//! API as the signed-in person; shell commands to [`crate::shell::Desktop`].
//! An unknown name is "Command … not found", as Tauri says it.
//! Errors cross as `{code, message}` (lockbox_core::Error's serialization).

use crate::shell::Desktop;
use crate::state::AppState;
use lockbox_core::commands::{self, CommandSpec, Runs};
use lockbox_core::{Error, Result};
use serde_json::Value;
use tauri::ipc::{Invoke, InvokeBody, InvokeError};
use tauri::{AppHandle, Manager, Runtime};

/// The app's invoke handler (also used by the tests, through `handlers!()`).
pub fn handler<R: Runtime>() -> impl Fn(Invoke<R>) -> bool + Send + Sync + 'static {
    |invoke: Invoke<R>| {
        let Some(spec) = commands::spec(invoke.message.command()) else {
            return false;
        };
        let args = match invoke.message.payload() {
            InvokeBody::Json(v) => Ok(v.clone()),
            InvokeBody::Raw(_) => Err(Error::input(format!(
                "{}: arguments must be JSON",
                spec.name
            ))),
        };
        let app = invoke.message.webview().app_handle().clone();
        invoke.resolver.respond_async(async move {
            let out = match args {
                Ok(args) => dispatch(app, spec, args).await,
                Err(e) => Err(e),
            };
            out.map_err(InvokeError::from)
        });
        true
    }
}

async fn dispatch<R: Runtime>(app: AppHandle<R>, spec: &CommandSpec, args: Value) -> Result<Value> {
    let state = app.state::<AppState>().inner().clone();
    let remote = state.archive.is_none().then(|| state.connection.remote());
    let out = match (spec.runs, remote.flatten()) {
        (Runs::Engine, Some(server)) => {
            Some(crate::connect::run_connected(&app, &state, &server, spec, args).await)
        }
        (Runs::Engine, None) => {
            commands::call(&state.engine, &state.caller(), spec.name, args).await
        }
        (Runs::Shell, _) => {
            commands::run_shell_command(&Desktop { app, state }, spec.name, args).await
        }
    };
    out.unwrap_or_else(|| Err(Error::internal(format!("{} has no handler", spec.name))))
}
