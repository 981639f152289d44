//! Wire types: what crosses the boundary (CLI `--json`, IPC, HTTP). Domain
//! types convert into these; TypeScript types are generated from them with
//! ts-rs (`make bindings`), committed under `ui/src/bindings/`, and a test
//! fails when the committed files drift.

mod app;
mod audit;
mod directory;
mod provider;
mod requests;
mod verify;

pub use app::*;
pub use audit::*;
pub use directory::*;
pub use provider::*;
pub use requests::*;
pub use verify::*;

use ts_rs::TS;

/// Write the TypeScript declaration of every wire type (and what they use)
/// into `dir`, one file per type, as ts-rs lays them out.
pub fn export_typescript(dir: &std::path::Path) -> std::result::Result<(), ts_rs::ExportError> {
    let cfg = ts_rs::Config::new().with_out_dir(dir);
    RequestDto::export_all(&cfg)?;
    RequestQuery::export_all(&cfg)?;
    RequestPage::export_all(&cfg)?;
    AuditEntryDto::export_all(&cfg)?;
    AuditQuery::export_all(&cfg)?;
    AuditPage::export_all(&cfg)?;
    VerifyReport::export_all(&cfg)?;
    DisagreementDto::export_all(&cfg)?;
    SettingsDto::export_all(&cfg)?;
    UserDto::export_all(&cfg)?;
    TenantDto::export_all(&cfg)?;
    AccessDto::export_all(&cfg)?;
    crate::error::Error::export_all(&cfg)?;
    HomeStats::export_all(&cfg)?;
    SessionDto::export_all(&cfg)?;
    ArchiveDto::export_all(&cfg)?;
    BootDto::export_all(&cfg)?;
    AppPrefsDto::export_all(&cfg)?;
    LockboxEvent::export_all(&cfg)?;
    TrayStateDto::export_all(&cfg)?;
    IssuedTokenDto::export_all(&cfg)?;
    SmtpDto::export_all(&cfg)?;
    SmtpInput::export_all(&cfg)?;
    DeliveryDto::export_all(&cfg)?;
    ApiSettingsDto::export_all(&cfg)?;
    Ok(())
}
