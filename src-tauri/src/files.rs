//! The native save dialog for exports (files are written by
//! `lockbox_core::files`, whole or not at all).

use lockbox_core::{Error, Result};

/// Ask where to save an export (native save dialog); `None` when canceled.
/// `LOCKBOX_E2E_SAVE_PATH` answers for the dialog in end-to-end tests, since
/// WebDriver cannot drive a native dialog.
pub async fn choose_save_path<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    format: lockbox_core::export::ExportFormat,
) -> Result<Option<std::path::PathBuf>> {
    use lockbox_core::export::ExportFormat;
    use tauri_plugin_dialog::DialogExt;
    if let Some(p) = std::env::var_os("LOCKBOX_E2E_SAVE_PATH").filter(|p| !p.is_empty()) {
        return Ok(Some(p.into()));
    }
    let ext = match format {
        ExportFormat::Csv => "csv",
        ExportFormat::Jsonl => "jsonl",
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Export audit history")
        .set_file_name(format!("lockbox-audit.{ext}"))
        .add_filter(if ext == "csv" { "CSV" } else { "JSON Lines" }, &[ext])
        .save_file(move |p| {
            let _ = tx.send(p);
        });
    let picked = rx
        .await
        .map_err(|_| Error::internal("the save dialog closed unexpectedly"))?;
    Ok(picked.and_then(|p| p.into_path().ok()))
}
