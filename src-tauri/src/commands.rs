//! IPC commands: each a few lines that call the engine and convert to DTOs.
//! Errors cross as `{code, message}` (lockbox_core::Error's serialization).

use crate::archive::refuse_in_archive;
use crate::state::AppState;
use lockbox_core::dto::*;
use lockbox_core::export::{export_audit as export, ExportFormat};
use lockbox_core::Result;
use tauri::State;

fn session_of(e: &mut lockbox_core::Engine, me: &lockbox_core::Principal) -> Result<SessionDto> {
    let member: Vec<_> = e.memberships(me.name())?;
    let tenants = e
        .tenants()?
        .iter()
        .filter(|t| member.iter().any(|(id, _)| *id == t.id))
        .map(TenantDto::from)
        .collect();
    Ok(SessionDto {
        user: me.name().to_string(),
        role: member.first().map(|m| m.1.into()),
        tenants,
        archive: None,
    })
}

/// In an archive window: every tenant of the archive (an auditor need not
/// belong to it), no role, and the archive.
fn archive_session_of(
    e: &mut lockbox_core::Engine,
    me: &lockbox_core::Principal,
    archive: &ArchiveDto,
) -> Result<SessionDto> {
    Ok(SessionDto {
        user: me.name().to_string(),
        role: None,
        tenants: e.tenants()?.iter().map(TenantDto::from).collect(),
        archive: Some(archive.clone()),
    })
}

/// The session of this window: the user's, or an archive's.
fn session_for(
    state: &AppState,
    e: &mut lockbox_core::Engine,
    me: &lockbox_core::Principal,
) -> Result<SessionDto> {
    match &state.archive {
        Some(a) => archive_session_of(e, me, &a.info),
        None => session_of(e, me),
    }
}

#[tauri::command]
pub async fn session(state: State<'_, AppState>) -> Result<SessionDto> {
    let s = state.inner().clone();
    state.run(move |e, me| session_for(&s, e, me)).await
}

/// What the window's first page needs, in one round trip read under one engine
/// lock: the session and, when the window opens on Service requests, the first
/// page of requests (for `tenant` when the user belongs to it, else their first tenant).
#[tauri::command]
pub async fn boot(
    state: State<'_, AppState>,
    tenant: Option<String>,
    requests: Option<RequestQuery>,
) -> Result<BootDto> {
    let s = state.inner().clone();
    state
        .run(move |e, me| {
            let session = session_for(&s, e, me)?;
            let tenant = tenant
                .filter(|t| session.tenants.iter().any(|x| x.id == *t))
                .or_else(|| session.tenants.first().map(|t| t.id.clone()));
            let requests = match (&tenant, requests) {
                (Some(t), Some(q)) => Some(RequestPage::from(&e.list_requests(t, &q.to_store())?)),
                _ => None,
            };
            Ok(BootDto {
                session,
                tenant,
                requests,
            })
        })
        .await
}

#[tauri::command]
pub async fn list_requests(
    state: State<'_, AppState>,
    tenant: String,
    query: RequestQuery,
) -> Result<RequestPage> {
    state
        .run(move |e, _| {
            Ok(RequestPage::from(
                &e.list_requests(&tenant, &query.to_store())?,
            ))
        })
        .await
}

#[tauri::command]
pub async fn get_request(
    state: State<'_, AppState>,
    tenant: String,
    id: String,
) -> Result<RequestDto> {
    state
        .run(move |e, _| Ok(RequestDto::from(&e.request(&tenant, &id)?)))
        .await
}

#[tauri::command]
pub async fn request_audit(
    state: State<'_, AppState>,
    tenant: String,
    id: String,
) -> Result<Vec<AuditEntryDto>> {
    let q = lockbox_core::store::AuditQuery {
        request_id: Some(id),
        limit: Some(1000),
        ..Default::default()
    };
    state
        .run(move |e, _| {
            Ok(e.audit_page(&tenant, &q)?
                .iter()
                .rev()
                .map(AuditEntryDto::from)
                .collect())
        })
        .await
}

#[tauri::command]
pub async fn approve_request(
    state: State<'_, AppState>,
    tenant: String,
    id: String,
    comment: Option<String>,
    duration_s: Option<i64>,
) -> Result<RequestDto> {
    state
        .write(move |e, me| {
            Ok(RequestDto::from(&e.approve(
                &tenant,
                &id,
                me,
                comment.as_deref(),
                duration_s,
            )?))
        })
        .await
}

#[tauri::command]
pub async fn reject_request(
    state: State<'_, AppState>,
    tenant: String,
    id: String,
    comment: Option<String>,
) -> Result<RequestDto> {
    state
        .write(move |e, me| {
            Ok(RequestDto::from(&e.reject(
                &tenant,
                &id,
                me,
                comment.as_deref(),
            )?))
        })
        .await
}

#[tauri::command]
pub async fn revoke_request(
    state: State<'_, AppState>,
    tenant: String,
    id: String,
    comment: Option<String>,
) -> Result<RequestDto> {
    state
        .write(move |e, me| {
            Ok(RequestDto::from(&e.revoke(
                &tenant,
                &id,
                me,
                comment.as_deref(),
            )?))
        })
        .await
}

#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>, tenant: String) -> Result<SettingsDto> {
    state
        .run(move |e, _| Ok(SettingsDto::from(&e.settings(&tenant)?)))
        .await
}

#[tauri::command]
pub async fn update_settings(
    state: State<'_, AppState>,
    tenant: String,
    settings: SettingsDto,
) -> Result<SettingsDto> {
    state
        .write(move |e, me| {
            Ok(SettingsDto::from(&e.update_settings(
                &tenant,
                me,
                &(&settings).into(),
            )?))
        })
        .await
}

#[tauri::command]
pub async fn get_prefs(state: State<'_, AppState>) -> Result<AppPrefsDto> {
    Ok(state.prefs())
}

#[tauri::command]
pub async fn set_prefs<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    prefs: AppPrefsDto,
) -> Result<AppPrefsDto> {
    refuse_in_archive(&state, "preferences")?;
    crate::autostart::apply(&app, prefs.start_at_login)?;
    state.set_prefs(&prefs)?;
    state.changed.notify_one();
    Ok(prefs)
}

#[tauri::command]
pub async fn list_users(state: State<'_, AppState>, tenant: String) -> Result<Vec<UserDto>> {
    state
        .run(move |e, _| Ok(e.users(&tenant)?.iter().map(UserDto::from).collect()))
        .await
}

#[tauri::command]
pub async fn add_user(
    state: State<'_, AppState>,
    tenant: String,
    name: String,
    role: RoleDto,
    email: Option<String>,
) -> Result<UserDto> {
    state
        .write(move |e, me| {
            Ok(UserDto::from(&e.add_user(
                &tenant,
                me,
                &name,
                role.into(),
                email.as_deref(),
            )?))
        })
        .await
}

#[tauri::command]
pub async fn remove_user(state: State<'_, AppState>, tenant: String, name: String) -> Result<()> {
    state
        .write(move |e, me| e.remove_user(&tenant, me, &name))
        .await
}

#[tauri::command]
pub async fn query_audit(
    state: State<'_, AppState>,
    tenant: String,
    query: AuditQuery,
) -> Result<AuditPage> {
    let limit = query.limit.unwrap_or(50).clamp(1, 1000);
    let q = lockbox_core::store::AuditQuery {
        limit: Some(limit),
        ..query.to_store()?
    };
    state
        .run(move |e, _| Ok(AuditPage::from_entries(&e.audit_page(&tenant, &q)?, limit)))
        .await
}

#[tauri::command]
pub async fn export_audit(
    state: State<'_, AppState>,
    tenant: String,
    query: AuditQuery,
    format: String,
    path: String,
) -> Result<u64> {
    let fmt = ExportFormat::parse(&format)?;
    let q = query.to_store()?;
    // The page may only write where the user chose in the save dialog.
    let path = state.take_export_path(&path)?;
    state
        .run(move |e, _| {
            lockbox_core::files::write_atomically(&path, |f| export(e, &tenant, &q, fmt, f))
        })
        .await
}

#[tauri::command]
pub async fn verify_audit(state: State<'_, AppState>) -> Result<VerifyReport> {
    state
        .run(|e, _| Ok(VerifyReport::from(&e.verify_audit()?)))
        .await
}

#[tauri::command]
pub async fn home_stats(state: State<'_, AppState>, tenant: String) -> Result<HomeStats> {
    state.run(move |e, _| e.home_stats(&tenant)).await
}

#[tauri::command]
pub async fn tray_state(state: State<'_, AppState>) -> Result<TrayStateDto> {
    let enabled = state.prefs().notifications_enabled;
    state
        .run(move |e, _| Ok(crate::tray::tray_state(e.pending_count_all()?, enabled)))
        .await
}

/// Ask where to save an audit export (native save dialog). `None` = canceled.
/// `LOCKBOX_E2E_SAVE_PATH` answers for the dialog in end-to-end tests, since
/// WebDriver cannot drive a native dialog.
#[tauri::command]
pub async fn choose_export_path<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    format: String,
) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let ext = match ExportFormat::parse(&format)? {
        ExportFormat::Csv => "csv",
        ExportFormat::Jsonl => "jsonl",
    };
    if let Some(p) = std::env::var_os("LOCKBOX_E2E_SAVE_PATH").filter(|p| !p.is_empty()) {
        return Ok(Some(state.allow_export_path(p.into())));
    }
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
        .map_err(|_| lockbox_core::Error::internal("the save dialog closed unexpectedly"))?;
    Ok(picked
        .and_then(|p| p.into_path().ok())
        .map(|p| state.allow_export_path(p)))
}

// ---------- provider connections, email, API (issue: provider intake API) ----------

#[tauri::command]
pub async fn list_tokens(state: State<'_, AppState>, tenant: String) -> Result<Vec<TokenDto>> {
    state
        .run(move |e, _| {
            let now = e.now();
            Ok(e.tokens(&tenant)?
                .iter()
                .map(|t| TokenDto::new(t, now))
                .collect())
        })
        .await
}

#[tauri::command]
pub async fn issue_token(
    state: State<'_, AppState>,
    tenant: String,
    name: String,
    expires_s: Option<i64>,
) -> Result<IssuedTokenDto> {
    state
        .write(move |e, me| {
            let (t, secret) = e.issue_token(&tenant, me, &name, expires_s)?;
            Ok(IssuedTokenDto {
                token: TokenDto::new(&t, e.now()),
                secret,
            })
        })
        .await
}

#[tauri::command]
pub async fn revoke_token(
    state: State<'_, AppState>,
    tenant: String,
    name: String,
) -> Result<TokenDto> {
    state
        .write(move |e, me| {
            e.revoke_token(&tenant, me, &name)
                .map(|t| TokenDto::new(&t, e.now()))
        })
        .await
}

#[tauri::command]
pub async fn get_smtp(state: State<'_, AppState>, tenant: String) -> Result<Option<SmtpDto>> {
    state
        .run(move |e, _| Ok(e.smtp(&tenant)?.as_ref().map(SmtpDto::from)))
        .await
}

#[tauri::command]
pub async fn set_smtp(
    state: State<'_, AppState>,
    tenant: String,
    smtp: Option<SmtpInput>,
) -> Result<Option<SmtpDto>> {
    // Before the keyring is touched (the engine would refuse only the row).
    refuse_in_archive(&state, "the SMTP server")?;
    let row = smtp.map(|i| lockbox_core::store::SmtpRow {
        host: i.host,
        port: i.port,
        security: i.security,
        username: i.username.filter(|u| !u.trim().is_empty()),
        // Empty or null: keep the saved one (in the keyring).
        password: i.password.filter(|p| !p.is_empty()),
        from_address: i.from_address,
    });
    // The engine checks it (rules, an admin); the keyring is written without
    // the engine lock (D-Bus, maybe an unlock prompt); then the row is saved.
    let (t, r) = (tenant.clone(), row.clone());
    let change = state
        .run(move |e, me| e.prepare_smtp(&t, me, r.as_ref()))
        .await?;
    tokio::task::spawn_blocking(move || change.apply_secret())
        .await
        .map_err(|e| lockbox_core::Error::internal(e.to_string()))??;
    state
        .write(move |e, me| {
            e.save_smtp(&tenant, me, row)?;
            Ok(e.smtp(&tenant)?.as_ref().map(SmtpDto::from))
        })
        .await
}

/// Send a test email now (no engine lock held while talking to the server).
#[tauri::command]
pub async fn test_smtp(state: State<'_, AppState>, tenant: String, to: String) -> Result<()> {
    refuse_in_archive(&state, "sending email")?;
    let (smtp, account) = state
        .run(move |e, _| {
            let smtp = e.smtp(&tenant)?.ok_or_else(|| {
                lockbox_core::Error::input("no SMTP server is set for this tenant")
            })?;
            Ok((smtp, e.smtp_account(&tenant)?))
        })
        .await?;
    tokio::task::spawn_blocking(move || {
        lockbox_core::mail::send_with(
            &smtp,
            &account,
            std::slice::from_ref(&to),
            "Lockbox test message",
            "This is a test message from Lockbox. It contains no links.\n",
        )
    })
    .await
    .map_err(|e| lockbox_core::Error::internal(e.to_string()))?
    .map_err(|why| lockbox_core::Error::input(format!("test message not sent: {why}")))
}

#[tauri::command]
pub async fn email_status(state: State<'_, AppState>, tenant: String) -> Result<Vec<DeliveryDto>> {
    state
        .run(move |e, _| {
            Ok(e.email_deliveries(&tenant, 100)?
                .iter()
                .map(DeliveryDto::from)
                .collect())
        })
        .await
}

#[tauri::command]
pub async fn get_api_settings(
    state: State<'_, AppState>,
    api: State<'_, crate::api::ApiRuntime>,
) -> Result<ApiSettingsDto> {
    let s = state.run(|e, _| e.api_settings()).await?;
    Ok(api.dto(&s))
}

#[tauri::command]
pub async fn set_api_settings(
    state: State<'_, AppState>,
    api: State<'_, crate::api::ApiRuntime>,
    tenant: String,
    settings: ApiSettingsDto,
) -> Result<ApiSettingsDto> {
    let new = lockbox_core::engine::ApiSettings {
        enabled: settings.enabled,
        bind: settings.bind,
        tls_cert: settings.tls_cert.filter(|s| !s.is_empty()),
        tls_key: settings.tls_key.filter(|s| !s.is_empty()),
    };
    let saved = state
        .write(move |e, me| e.set_api_settings(&tenant, me, &new))
        .await?;
    api.restart(&state).await;
    Ok(api.dto(&saved))
}

/// The UI calls this once, two animation frames after its first page rendered:
/// logs the time from process start to first paint (cold-start benchmark).
/// An archive window's verification starts now, off the first page's path.
#[tauri::command]
pub async fn ui_ready(state: State<'_, AppState>, page: String) -> Result<u64> {
    let ms = crate::started().elapsed().as_millis() as u64;
    tracing::info!(ms, %page, "first paint");
    if let Some(a) = &state.archive {
        a.start_verification();
    }
    Ok(ms)
}

/// Archive window: the verification of the archive, started when it was
/// opened; answers when it is done (the banner fills in then).
#[tauri::command]
pub async fn archive_verify(state: State<'_, AppState>) -> Result<VerifyReport> {
    match &state.archive {
        Some(a) => a.verified().await,
        None => Err(lockbox_core::Error::input(
            "this window shows no audit archive",
        )),
    }
}

/// "Open audit archive…": choose a store file and open it read-only in a new
/// process (`--archive`). The file opened, or `None` when canceled.
/// `LOCKBOX_E2E_OPEN_PATH` answers for the dialog in end-to-end tests.
#[tauri::command]
pub async fn open_archive<R: tauri::Runtime>(app: tauri::AppHandle<R>) -> Result<Option<String>> {
    crate::archive::choose_and_open(&app).await
}
