//! The desktop shell's commands: those of the command table
//! (`lockbox_core::commands`) that need the shell — native dialogs, the
//! keyring without the engine lock, this machine's preferences, the API it
//! runs, the archive window. Each a few lines; the rules live in the engine.
//! Engine commands never come here: `ipc.rs` sends them to the engine.

use crate::archive::refuse_in_archive;
use crate::connect::refuse_when_connected;
use crate::state::AppState;
use lockbox_core::commands::{args::*, smtp, Shell};
use lockbox_core::dto::*;
use lockbox_core::export::{export_audit, ExportFormat};
use lockbox_core::{Engine, Error, Principal, Result};
use tauri::{AppHandle, Manager, Runtime};

/// The shell side of one call: the app, its state, its provider API.
pub struct Desktop<R: Runtime> {
    pub app: AppHandle<R>,
    pub state: AppState,
}

impl<R: Runtime> Desktop<R> {
    fn api(&self) -> crate::api::ApiRuntime {
        self.app.state::<crate::api::ApiRuntime>().inner().clone()
    }
}

impl<R: Runtime> Shell for Desktop<R> {
    async fn get_prefs(&self, _: GetPrefsArgs) -> Result<AppPrefsDto> {
        Ok(self.state.prefs())
    }

    async fn set_prefs(&self, a: SetPrefsArgs) -> Result<AppPrefsDto> {
        refuse_in_archive(&self.state, "preferences")?;
        crate::autostart::apply(&self.app, a.prefs.start_at_login)?;
        self.state.set_prefs(&a.prefs)?;
        self.state.changed.notify_one();
        Ok(a.prefs)
    }

    /// Connected: the server's pending count and newest pending requests
    /// (`connect::tray_state`).
    async fn tray_state(&self, _: TrayStateArgs) -> Result<TrayStateDto> {
        if let Some(t) = crate::connect::tray_state(&self.state).await? {
            return Ok(t);
        }
        let enabled = self.state.prefs().notifications_enabled;
        let rows = |e: &mut Engine, _: &Principal| {
            let newest = e.newest_pending_all(lockbox_core::alerts::TRAY_REQUESTS)?;
            Ok((e.pending_count_all()?, newest))
        };
        let (n, newest) = self.state.run(rows).await?;
        Ok(crate::tray::tray_state(n, enabled, &newest))
    }

    /// The native save dialog; `LOCKBOX_E2E_SAVE_PATH` answers for it in
    /// end-to-end tests (WebDriver cannot drive a native dialog).
    async fn choose_export_path(&self, a: ChooseExportPathArgs) -> Result<Option<String>> {
        let format = ExportFormat::parse(&a.format)?;
        let picked = crate::files::choose_save_path(&self.app, format).await?;
        Ok(picked.map(|p| self.state.allow_export_path(p)))
    }

    /// The page may only write where the user chose in the save dialog.
    async fn export_audit(&self, a: ExportAuditArgs) -> Result<u64> {
        let (fmt, q) = (ExportFormat::parse(&a.format)?, a.query.to_store()?);
        refuse_when_connected(&self.state, "Exporting the audit log")?;
        let path = self.state.take_export_path(&a.path)?;
        let export = move |e: &mut Engine, _: &Principal| {
            lockbox_core::files::write_atomically(&path, |f| export_audit(e, &a.tenant, &q, fmt, f))
        };
        self.state.run(export).await
    }

    /// Refused in an archive window before the keyring is touched.
    async fn set_smtp(&self, a: SetSmtpArgs) -> Result<Option<SmtpDto>> {
        refuse_in_archive(&self.state, "the SMTP server")?;
        refuse_when_connected(&self.state, "The SMTP server")?;
        smtp::set(&self.state.engine, &self.state.user, &a.tenant, a.smtp).await
    }

    async fn test_smtp(&self, a: TestSmtpArgs) -> Result<()> {
        refuse_in_archive(&self.state, "sending email")?;
        refuse_when_connected(&self.state, "Test email")?;
        smtp::test(&self.state.engine, &a.tenant, &a.to).await
    }

    async fn get_api_settings(&self, _: GetApiSettingsArgs) -> Result<ApiSettingsDto> {
        let s = self.state.run(|e, _| e.api_settings()).await?;
        Ok(self.api().dto(&s))
    }

    async fn set_api_settings(&self, a: SetApiSettingsArgs) -> Result<ApiSettingsDto> {
        refuse_when_connected(&self.state, "The provider API")?;
        let new = (&a.settings).into();
        let saved = self
            .state
            .write(move |e, me| e.set_api_settings(&a.tenant, me, &new))
            .await?;
        self.api().restart(&self.state).await;
        Ok(self.api().dto(&saved))
    }

    /// Logs the time from process start to first paint (cold-start
    /// benchmark), and where the page's data came from (`local`, the team
    /// server: `connected`, or its replica: `offline`); an archive window's
    /// verification starts now, off the first page's path.
    async fn ui_ready(&self, a: UiReadyArgs) -> Result<u64> {
        let ms = crate::started().elapsed().as_millis() as u64;
        let mode = crate::connect::data_source(&self.state);
        tracing::info!(ms, page = %a.page, mode, "first paint");
        self.state
            .archive
            .iter()
            .for_each(|a| a.start_verification());
        Ok(ms)
    }

    /// Logs what the window shows (the headless test reads it).
    async fn ui_shown(&self, a: UiShownArgs) -> Result<()> {
        tracing::info!(route = %a.route, "window shows");
        Ok(())
    }

    async fn archive_verify(&self, _: ArchiveVerifyArgs) -> Result<VerifyReport> {
        let a = self.state.archive.as_ref();
        a.ok_or_else(|| Error::input("this window shows no audit archive"))?
            .verified()
            .await
    }

    /// `LOCKBOX_E2E_OPEN_PATH` answers for the dialog in end-to-end tests.
    async fn open_archive(&self, _: OpenArchiveArgs) -> Result<Option<String>> {
        crate::archive::choose_and_open(&self.app).await
    }

    async fn get_connection(&self, _: GetConnectionArgs) -> Result<ConnectionDto> {
        crate::connect::get_connection(&self.app, &self.state).await
    }

    /// The sign-in in the system browser (`connect::connect_server`).
    async fn connect_server(&self, a: ConnectServerArgs) -> Result<ConnectionDto> {
        crate::connect::connect_server(&self.app, &self.state, &a.url, a.ca.as_deref()).await
    }

    async fn disconnect_server(&self, _: DisconnectServerArgs) -> Result<ConnectionDto> {
        refuse_in_archive(&self.state, "a team server")?;
        let out = self.state.connection.disconnect().await?;
        self.state.changed.notify_one();
        Ok(out)
    }
}
