//! Lockbox desktop app: a thin Tauri 2 shell around `lockbox-core`. It runs
//! the scheduler and change feed, shows the tray and OS notifications, and
//! exposes the engine to the admin-center UI through IPC commands.

pub mod api;
pub mod archive;
pub mod autostart;
pub mod connect;
pub mod files;
pub mod instance;
pub mod ipc;
pub mod logging;
pub mod notify;
pub mod runtime;
pub mod shell;
pub mod state;
pub mod tray;
#[cfg(target_os = "linux")]
pub mod watch;

use lockbox_core::engine::default_db_path;
use lockbox_core::{Engine, SystemClock};
use state::AppState;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager, Runtime, WindowEvent};

/// The IPC handler of every command (`lockbox_core::commands`), shared by
/// the app and its tests.
#[macro_export]
macro_rules! handlers {
    () => {
        $crate::ipc::handler()
    };
}

/// `--db PATH` (or `--db=PATH`), else `LOCKBOX_DB`, else the user's data dir.
pub fn db_path_from(args: impl IntoIterator<Item = String>) -> lockbox_core::Result<PathBuf> {
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--db" {
            if let Some(p) = it.next() {
                return Ok(PathBuf::from(p));
            }
        } else if let Some(p) = a.strip_prefix("--db=") {
            return Ok(PathBuf::from(p));
        }
    }
    match std::env::var_os("LOCKBOX_DB") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => default_db_path(),
    }
}

/// Open the store as the OS user and build the shared state.
pub fn open_state(db: &std::path::Path) -> lockbox_core::Result<AppState> {
    let user = lockbox_core::Principal::current_os_user();
    let engine = Engine::open(db, Arc::new(SystemClock), user.name())?;
    let prefs = db
        .parent()
        .map(|d| d.join("app-prefs.json"))
        .unwrap_or_else(|| PathBuf::from("app-prefs.json"));
    Ok(AppState::new(engine, user, prefs))
}

static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// When this process started (first call wins; `run` calls it first thing).
pub fn started() -> std::time::Instant {
    *STARTED.get_or_init(std::time::Instant::now)
}

pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Show the window on an admin-center route (`alerts::Target::route`): a
/// notification click, a tray item. The UI parses it (`parseHash`).
pub fn open_route<R: Runtime>(app: &AppHandle<R>, route: &str) {
    show_main(app);
    let _ = app.emit("lockbox://navigate", route);
}

/// `--page requests|settings|audit|home` (or `LOCKBOX_START_PAGE`): the page the window opens on.
pub fn start_page_from(args: impl IntoIterator<Item = String>) -> String {
    let mut it = args.into_iter();
    let mut page = std::env::var("LOCKBOX_START_PAGE").unwrap_or_default();
    while let Some(a) = it.next() {
        if a == "--page" {
            page = it.next().unwrap_or_default();
        } else if let Some(p) = a.strip_prefix("--page=") {
            page = p.to_string();
        }
    }
    match page.as_str() {
        "requests" | "settings" | "audit" => page,
        _ => "home".to_string(),
    }
}

/// The admin-center window (created here rather than in tauri.conf.json so it can open on any page).
fn create_main_window<R: Runtime>(app: &AppHandle<R>, page: &str) -> tauri::Result<()> {
    let url = tauri::WebviewUrl::App(format!("index.html#/{page}").into());
    let window = tauri::WebviewWindowBuilder::new(app, "main", url)
        .title("Lockbox admin center")
        .inner_size(1280.0, 820.0)
        .min_inner_size(900.0, 600.0);
    shown_when_its_page_has_loaded(window).build()?;
    Ok(())
}

/// A window that appears when its page has loaded, not before. WebKit
/// painting without compositing (no GPU, `lockbox_webkit`) makes the window's
/// first draw wait for the web process, up to 500 ms, and the web process
/// may itself be waiting on the app meanwhile: a quarter of the starts on a
/// 2-core machine lost those 500 ms, with the window shown at once or when
/// the page started loading (BENCHMARKS.md §6, stop 33). It never shows a
/// blank frame either.
pub(crate) fn shown_when_its_page_has_loaded<'a, R: Runtime, M: Manager<R>>(
    window: tauri::WebviewWindowBuilder<'a, R, M>,
) -> tauri::WebviewWindowBuilder<'a, R, M> {
    let shown = std::sync::atomic::AtomicBool::new(false);
    window.visible(false).on_page_load(move |w, load| {
        // Once: a later load (a reload) leaves a window hidden to the tray hidden.
        if load.event() == tauri::webview::PageLoadEvent::Finished
            && !shown.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            if let Err(e) = w.show() {
                tracing::warn!("cannot show the window: {e}");
            }
        }
    })
}

pub(crate) fn on_menu<R: Runtime>(app: &AppHandle<R>, id: tray::MenuId) {
    match id {
        tray::MenuId::Open => show_main(app),
        tray::MenuId::ServiceRequests => {
            show_main(app);
            let _ = app.emit("lockbox://navigate", "requests");
        }
        tray::MenuId::OpenArchive => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = archive::choose_and_open(&app).await {
                    tracing::warn!("cannot open the audit archive: {e}");
                    use tauri_plugin_dialog::{DialogExt, MessageDialogKind};
                    app.dialog()
                        .message(e.message)
                        .title("Couldn't open the audit archive")
                        .kind(MessageDialogKind::Error)
                        .show(|_| {});
                }
            });
        }
        tray::MenuId::ToggleNotifications => {
            let state = app.state::<AppState>();
            let mut prefs = state.prefs();
            prefs.notifications_enabled = !prefs.notifications_enabled;
            if let Err(e) = state.set_prefs(&prefs) {
                tracing::warn!("cannot save preferences: {e}");
            }
            state.changed.notify_one();
        }
        tray::MenuId::Quit => app.exit(0),
    }
}

pub fn run() {
    started();
    let context = tauri::generate_context!();
    // `--archive PATH`: a read-only window on a store copy, a process of its own.
    if let Some(path) = archive::archive_path_from(std::env::args().skip(1)) {
        return archive::run(path, context);
    }
    // Before anything may speak TLS (the API over HTTPS, email): one rustls provider.
    lockbox_api::install_crypto_provider();
    let db = match db_path_from(std::env::args().skip(1)) {
        Ok(p) => p,
        Err(e) => fail(&e),
    };
    let log_dir = db
        .parent()
        .map(|d| d.join("logs"))
        .unwrap_or_else(|| PathBuf::from("logs"));
    let _log_guard = logging::init(&log_dir);
    tracing::info!(db = %db.display(), logs = %log_dir.display(), "Lockbox starting");
    tune_webkit();
    let state = match open_state(&db) {
        Ok(s) => s,
        Err(e) => fail(&e),
    };
    let start_at_login = state.prefs().start_at_login;
    let start_page = start_page_from(std::env::args().skip(1));
    let bg_state = state.clone();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_main(app)
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_dialog::init())
        // Size and place come back; when to show the window is ours
        // (shown_when_its_page_has_loaded).
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .build(),
        )
        .manage(state)
        .manage(api::ApiRuntime::default())
        .invoke_handler(handlers!())
        .setup(move |app| {
            let handle = app.handle().clone();
            create_main_window(&handle, &start_page)?;
            let tray = tray::Tray::build(&handle, bg_state.prefs().notifications_enabled)?;
            app.manage(tray);
            if let Err(e) = autostart::apply(&handle, start_at_login) {
                tracing::warn!("{e}");
            }
            runtime::spawn(handle.clone(), bg_state.clone());
            connect::follow(handle.clone(), &bg_state);
            let api = handle.state::<api::ApiRuntime>().inner().clone();
            let api_state = bg_state.clone();
            tauri::async_runtime::spawn(async move { api.restart(&api_state).await });
            Ok(())
        })
        .on_window_event(|window, event| {
            // The close button hides to the tray; Quit (tray menu) exits.
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .run(context);
    if let Err(e) = result {
        if instance::handoff_lost(&e) {
            let made = std::env::var(instance::RESTART_ENV).ok();
            if let Some(n) = instance::next_restart(made.as_deref()) {
                tracing::warn!(
                    "the running Lockbox quit while this start handed over to it ({e}); starting again ({n} of {})",
                    instance::HANDOFF_RESTARTS
                );
                drop(_log_guard); // exec runs no destructors: flush the log now
                let why = instance::restart(n);
                eprintln!("lockbox-app: cannot start again: {why}");
                std::process::exit(1);
            }
        }
        tracing::error!("Lockbox stopped with an error: {e}");
        std::process::exit(1);
    }
}

/// WebKit settings Tauri does not expose, before the first window
/// (`lockbox_webkit`): the web process's memory poll, 30 s → 5 min; without
/// a GPU, painting without compositing.
pub(crate) fn tune_webkit() {
    #[cfg(target_os = "linux")]
    {
        if let Err(why) = lockbox_webkit::set_web_process_memory_poll() {
            tracing::warn!("the web process keeps WebKit's memory poll: {why}");
        }
        match lockbox_webkit::paint_without_compositing_when_no_gpu() {
            Ok(true) => tracing::info!("no GPU: WebKit paints without compositing"),
            Ok(false) => {}
            Err(why) => tracing::warn!("WebKit keeps compositing without a GPU: {why}"),
        }
    }
}

pub(crate) fn fail(e: &lockbox_core::Error) -> ! {
    tracing::error!(code = e.code.as_str(), "{}", e.message);
    eprintln!("lockbox-app: error ({}): {}", e.code.as_str(), e.message);
    std::process::exit(3)
}
