//! Archive mode: `lockbox-app --archive PATH` shows a store copy (a backup, a
//! file from another admin) read-only, for an offline audit: the Audit and
//! Service requests pages under a banner that says which file, its entries
//! and head hash, and whether they verify.
//!
//! An archive window is a process of its own, so the live app and the archive
//! never share state: it opens the file with `Engine::open_read_only` (the
//! engine then refuses every write) and starts none of the live app's work —
//! no single-instance hand-off, no scheduler or change feed, no
//! notifications, tray, autostart or provider API, no preferences file.
//!
//! The verification (about a second per million entries, on every core) runs
//! on its own read-only connections, in a thread at low CPU priority, once the
//! first page is on screen (`ui_ready`; at the latest [`START_AT_THE_LATEST`]
//! after opening): the first page neither waits for it nor shares the cores
//! with it, and the banner asks for it (`archive_verify`) and fills in when it
//! is done.

use crate::state::AppState;
use lockbox_core::dto::{ArchiveDto, VerifyReport};
use lockbox_core::store::AuditQuery;
use lockbox_core::{Clock, Engine, Error, ErrorCode, Result, SystemClock};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tauri::{AppHandle, Runtime};
use tokio::sync::watch;

/// `--archive PATH` (or `--archive=PATH`): the store copy to open read-only.
pub fn archive_path_from(args: impl IntoIterator<Item = String>) -> Option<PathBuf> {
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--archive" {
            return it.next().map(PathBuf::from);
        } else if let Some(p) = a.strip_prefix("--archive=") {
            return Some(PathBuf::from(p));
        }
    }
    None
}

/// When the verification starts if the page never says it is on screen.
pub const START_AT_THE_LATEST: Duration = Duration::from_secs(2);

/// The archive a window shows: what it was when opened, and its verification.
pub struct Archive {
    pub info: ArchiveDto,
    verified: watch::Receiver<Option<Result<VerifyReport>>>,
    go: std::sync::mpsc::SyncSender<()>,
}

impl Archive {
    /// Let the verification begin (the first page is on screen). Once; later
    /// calls do nothing.
    pub fn start_verification(&self) {
        let _ = self.go.try_send(());
    }

    /// The verification's outcome, once it is done.
    pub async fn verified(&self) -> Result<VerifyReport> {
        let mut rx = self.verified.clone();
        let done = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::internal("the archive verification stopped without a result"))?;
        match &*done {
            Some(r) => r.clone(),
            None => Err(Error::internal("the archive verification has no result")),
        }
    }
}

fn unavailable(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::StoreUnavailable,
        format!("cannot open the archive {}: {why}", path.display()),
    )
}

/// Open the store copy at `path` read-only, read what the banner shows, and
/// start verifying it in the background.
pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<(Engine, Archive)> {
    let path = std::fs::canonicalize(path).map_err(|e| unavailable(path, e))?;
    if !path.is_file() {
        return Err(unavailable(&path, "it is not a file"));
    }
    let mut engine = Engine::open_read_only(&path, clock.clone())?;
    let info = read_info(&mut engine, &path)?;
    let (tx, rx) = watch::channel(None);
    let (go, started) = std::sync::mpsc::sync_channel(1);
    let p = path.clone();
    std::thread::Builder::new()
        .name("archive-verify".into())
        .spawn(move || {
            let _ = started.recv_timeout(START_AT_THE_LATEST);
            lower_priority();
            let t = Instant::now();
            let r = Engine::open_read_only(&p, clock)
                .and_then(|mut e| e.verify_audit())
                .map(|v| VerifyReport::from(&v));
            let ms = t.elapsed().as_millis() as u64;
            let since_start_ms = crate::started().elapsed().as_millis() as u64;
            match &r {
                Ok(v) if v.ok => {
                    tracing::info!(ms, since_start_ms, entries = v.entries, "archive verified")
                }
                Ok(v) => tracing::warn!(
                    ms,
                    entries = v.entries,
                    first_bad = ?v.first_bad_seq,
                    problem = ?v.problem,
                    disagreement = ?v.first_disagreement.as_ref().map(|d| &d.message),
                    "archive verification FAILED"
                ),
                Err(e) => tracing::warn!(ms, "archive verification could not run: {e}"),
            }
            let _ = tx.send(Some(r));
        })
        .map_err(|e| Error::internal(format!("cannot start the archive verification: {e}")))?;
    Ok((
        engine,
        Archive {
            info,
            verified: rx,
            go,
        },
    ))
}

/// The file, its entries (1..=N), the newest entry's hash (the head of its
/// tenant's chain) and time as stored, and its newest signed checkpoint.
pub(crate) fn read_info(e: &mut Engine, path: &Path) -> Result<ArchiveDto> {
    let entries = e.audit_len()?;
    // Each tenant's newest entry is one index probe; the newest of them is the store's.
    let q = AuditQuery {
        limit: Some(1),
        ..Default::default()
    };
    let mut newest: Option<lockbox_core::audit::AuditEntry> = None;
    for t in e.tenants()? {
        if let Some(x) = e.audit_page(&t.id, &q)?.into_iter().next() {
            if newest.as_ref().is_none_or(|n| x.seq > n.seq) {
                newest = Some(x);
            }
        }
    }
    let checkpoint = match &newest {
        Some(n) => checkpoint_line(e, &n.tenant)?,
        None => None,
    };
    Ok(ArchiveDto {
        path: path.display().to_string(),
        file_name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string()),
        entries: entries.max(0) as u64,
        head_hash: newest.as_ref().map(|n| n.hash.clone()),
        newest_at: newest
            .as_ref()
            .map(|n| lockbox_core::clock::rfc3339(n.recorded_at)),
        checkpoint,
    })
}

/// One line on `tenant`'s newest checkpoint in the archive: whether the
/// archive's log holds what it vouches for (signature by a key the log
/// recorded, hash at its position), and how many entries came after it.
fn checkpoint_line(e: &mut Engine, tenant: &str) -> Result<Option<String>> {
    let Some(c) = e.store().read(|tx| tx.checkpoints(Some(tenant), 1))?.pop() else {
        return Ok(None);
    };
    let text = lockbox_core::checkpoint::text(&c.body, &c.signature);
    let check = e.check_claims(&text, None)?.pop();
    let (len, _) = e.audit_head(tenant)?;
    let at = lockbox_core::clock::rfc3339(c.at);
    Ok(Some(match check.and_then(|x| x.problem) {
        None if len > c.entries => format!(
            "Signed checkpoint of {tenant}: entries 1–{} as of {at} hold; the {} entries after it are not covered by a checkpoint",
            c.entries,
            len - c.entries
        ),
        None => format!("Signed checkpoint of {tenant}: entries 1–{} as of {at} hold", c.entries),
        Some(p) => format!("Signed checkpoint of {tenant} ({at}) FAILS: {p}"),
    }))
}

/// The verification yields the CPU to the window (its worker threads inherit this).
fn lower_priority() {
    #[cfg(unix)]
    if let Err(e) = rustix::process::setpriority_process(None, 10) {
        tracing::debug!("cannot lower the verification's priority: {e}");
    }
}

/// Refuse an action that would change something outside the engine (the
/// engine refuses its own writes): preferences, the keyring, email.
pub fn refuse_in_archive(state: &AppState, what: &str) -> Result<()> {
    match &state.archive {
        Some(a) => Err(Error::new(
            ErrorCode::ReadOnly,
            format!(
                "{} is an audit archive, open read-only: {what} is not available here",
                a.info.file_name
            ),
        )),
        None => Ok(()),
    }
}

// ---------- opening an archive from the live app ----------

/// Ask for a store file (native dialog). `None` = canceled.
/// `LOCKBOX_E2E_OPEN_PATH` answers for the dialog in end-to-end tests, since
/// WebDriver cannot drive a native dialog.
pub async fn choose<R: Runtime>(app: &AppHandle<R>) -> Result<Option<PathBuf>> {
    use tauri_plugin_dialog::DialogExt;
    if let Some(p) = std::env::var_os("LOCKBOX_E2E_OPEN_PATH").filter(|p| !p.is_empty()) {
        return Ok(Some(p.into()));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Open audit archive")
        .add_filter("Lockbox store", &["db", "sqlite", "sqlite3", "bak"])
        .add_filter("All files", &["*"])
        .pick_file(move |p| {
            let _ = tx.send(p);
        });
    let picked = rx
        .await
        .map_err(|_| Error::internal("the open dialog closed unexpectedly"))?;
    Ok(picked.and_then(|p| p.into_path().ok()))
}

/// Open `path` in a new archive process (`<this program> --archive PATH`),
/// after checking here that it opens as a store, so a wrong file is said in
/// the window that asked rather than by a process that exits at once.
/// Returns the new process's id.
pub fn spawn(path: &Path) -> Result<u32> {
    let exe = crate::instance::this_program()
        .map_err(|e| Error::internal(format!("cannot find this program to start it again: {e}")))?;
    spawn_with(&exe, path)
}

/// [`spawn`] with the program to start (tests).
pub fn spawn_with(exe: &Path, path: &Path) -> Result<u32> {
    let path = std::fs::canonicalize(path).map_err(|e| unavailable(path, e))?;
    drop(Engine::open_read_only(&path, Arc::new(SystemClock))?);
    let mut child = std::process::Command::new(exe)
        .arg("--archive")
        .arg(&path)
        .env_remove("LOCKBOX_START_PAGE")
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Error::internal(format!("cannot start {}: {e}", exe.display())))?;
    let pid = child.id();
    tracing::info!(pid, archive = %path.display(), "audit archive opened in a new process");
    // Reap it when it exits (no zombie while the live app runs on).
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(pid)
}

/// Choose a file and open it in a new archive process; the file opened, or
/// `None` when the dialog was canceled.
pub async fn choose_and_open<R: Runtime>(app: &AppHandle<R>) -> Result<Option<String>> {
    let Some(path) = choose(app).await? else {
        return Ok(None);
    };
    let p = path.clone();
    tokio::task::spawn_blocking(move || spawn(&p))
        .await
        .map_err(|e| Error::internal(format!("opening the archive failed: {e}")))??;
    Ok(Some(path.display().to_string()))
}

// ---------- the archive process ----------

/// The page an archive window opens on: `--page requests`, else Audit.
pub fn start_page(args: impl IntoIterator<Item = String>) -> &'static str {
    match crate::start_page_from(args).as_str() {
        "requests" => "requests",
        _ => "audit",
    }
}

/// Run an archive window on the store copy at `path` (from `--archive`).
pub fn run(path: PathBuf, context: tauri::Context<tauri::Wry>) {
    // Logs go beside the live app's (its store's folder), as archive-*.log:
    // never into the archive's folder, which may be read-only or someone else's.
    let log_dir = crate::db_path_from(std::env::args().skip(1))
        .ok()
        .and_then(|db| db.parent().map(|d| d.join("logs")))
        .unwrap_or_else(|| PathBuf::from("logs"));
    let _log_guard = crate::logging::init_named(&log_dir, "archive");
    tracing::info!(archive = %path.display(), "Lockbox audit archive starting");
    crate::tune_webkit();
    let user = lockbox_core::Principal::current_os_user();
    let (engine, archive) = match open(&path, Arc::new(SystemClock)) {
        Ok(x) => x,
        Err(e) => crate::fail(&e),
    };
    tracing::info!(
        ms = crate::started().elapsed().as_millis() as u64,
        entries = archive.info.entries,
        "archive open"
    );
    let title = format!("Lockbox audit archive — {}", archive.info.file_name);
    let state = AppState::for_archive(engine, user, archive);
    let page = start_page(std::env::args().skip(1));
    let result = tauri::Builder::default()
        // Only what a read-only window needs: the save dialog (export) and the
        // open dialog. No single instance: a live app must not swallow this process.
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        // Never started here; managed so its read-only command answers.
        .manage(crate::api::ApiRuntime::default())
        .invoke_handler(crate::handlers!())
        .setup(move |app| {
            use tauri::Manager;
            let url = tauri::WebviewUrl::App(format!("index.html#/{page}").into());
            let mut window = tauri::WebviewWindowBuilder::new(app, "main", url)
                .title(&title)
                .inner_size(1280.0, 820.0)
                .min_inner_size(900.0, 600.0);
            // Web storage of its own: nothing the page keeps is shared with the live app.
            if let Ok(dir) = app.path().app_cache_dir() {
                window = window.data_directory(dir.join("archive-webview"));
            }
            crate::shown_when_its_page_has_loaded(window).build()?;
            Ok(())
        })
        .run(context);
    if let Err(e) = result {
        tracing::error!("the archive window stopped with an error: {e}");
        std::process::exit(1);
    }
}
