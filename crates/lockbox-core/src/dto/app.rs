//! The desktop app: Home page, session, archive, preferences, change events, tray.

use super::{RequestPage, RoleDto, TenantDto};
use crate::model;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayCount {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    #[ts(type = "number")]
    pub approved: u64,
    #[ts(type = "number")]
    pub rejected: u64,
    #[ts(type = "number")]
    pub expired: u64,
    #[ts(type = "number")]
    pub canceled: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HomeStats {
    #[ts(type = "number")]
    pub pending: u64,
    #[ts(type = "number")]
    pub expiring_within_2h: u64,
    #[ts(type = "number")]
    pub active_grants: u64,
    #[ts(type = "number")]
    pub decisions_last_30d: u64,
    pub per_day: Vec<DayCount>,
}

impl From<&model::DayCount> for DayCount {
    fn from(d: &model::DayCount) -> Self {
        DayCount {
            day: d.day.clone(),
            approved: d.approved,
            rejected: d.rejected,
            expired: d.expired,
            canceled: d.canceled,
        }
    }
}

impl From<&model::HomeStats> for HomeStats {
    fn from(h: &model::HomeStats) -> Self {
        HomeStats {
            pending: h.pending,
            expiring_within_2h: h.expiring_within_2h,
            active_grants: h.active_grants,
            decisions_last_30d: h.decisions_last_30d,
            per_day: h.per_day.iter().map(Into::into).collect(),
        }
    }
}

/// Who is signed in to the admin center, and the tenants they can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionDto {
    pub user: String,
    /// The user's role in the first tenant they belong to.
    pub role: Option<RoleDto>,
    pub tenants: Vec<TenantDto>,
    /// Set when the window shows an audit archive (a store copy opened
    /// read-only): every tenant in it, no role, no decisions or settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub archive: Option<ArchiveDto>,
}

/// The store copy an archive window shows read-only, as read when it was
/// opened. Its verification ([`VerifyReport`]) comes separately, when done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchiveDto {
    /// The file as given (absolute).
    pub path: String,
    pub file_name: String,
    /// Entries in the audit log: sequence numbers 1..=entries.
    #[ts(type = "number")]
    pub entries: u64,
    /// The newest entry's hash, as stored (not yet verified).
    pub head_hash: Option<String>,
    /// When the newest entry was recorded.
    pub newest_at: Option<String>,
    /// One line on the archive's signed checkpoint; `None`: it holds none.
    pub checkpoint: Option<String>,
}

/// What the admin center's first page needs, in one round trip: the session
/// and, when the window opens on Service requests, the first page of requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BootDto {
    pub session: SessionDto,
    /// The tenant `requests` was read for (the one asked for when the user
    /// belongs to it, else their first).
    pub tenant: Option<String>,
    pub requests: Option<RequestPage>,
}

/// Per-machine preferences of the desktop app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AppPrefsDto {
    pub notifications_enabled: bool,
    pub start_at_login: bool,
}

impl Default for AppPrefsDto {
    fn default() -> Self {
        AppPrefsDto {
            notifications_enabled: true,
            start_at_login: false,
        }
    }
}

/// Where the desktop app's engine commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// On this machine's store (no team server).
    Local,
    /// On the team server, as the person signed in to it.
    Connected,
    /// A team server is set, but its sign-in is gone (expired, removed from
    /// the keyring): nothing runs until the person signs in again or
    /// disconnects.
    SignedOut,
    /// A team server is set and signed in to, but it cannot be reached: the
    /// reads answer from the local audit replica (read-only, as of
    /// `replica_at`), decisions are off until it is back.
    Offline,
}

/// The desktop app's connection to a team server (`get_connection`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionDto {
    pub state: ConnectionState,
    /// The server's address (`https://…`), when one is set.
    pub server: Option<String>,
    /// The CA file trusted for it, when one was given.
    pub ca: Option<String>,
    /// Who is signed in (the ID token's email, else its name).
    pub person: Option<String>,
    /// When the local audit replica was last pulled from the server (RFC
    /// 3339); if not since the app started, when its file last changed.
    pub replica_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LockboxEventKind {
    RequestsChanged,
    SettingsChanged,
    AuditAppended,
}

/// Emitted to the UI as `lockbox://changed` when the store changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockboxEvent {
    pub kind: LockboxEventKind,
    pub tenant: Option<String>,
}

/// What the tray shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrayStateDto {
    #[ts(type = "number")]
    pub pending: u64,
    pub tooltip: String,
    pub notifications_enabled: bool,
    /// The newest pending requests (up to 5), each a menu item that opens it.
    pub requests: Vec<TrayRequestDto>,
}

/// A tray menu item that opens one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrayRequestDto {
    /// One line of plain text (`alerts::tray_label`).
    pub label: String,
    /// The admin-center route it opens (`alerts::Target::route`).
    pub route: String,
}

/// How a client signs in to a team server: the issuer to ask and the client
/// id to ask as (`GET /admin/v1/sign-in`; `lockbox login` reads it). Not
/// secret: public clients only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignIn {
    /// The OpenID Connect issuer, exactly as its ID tokens' `iss` says it.
    pub issuer: String,
    /// The client id ID tokens must name in `aud`.
    pub client_id: String,
}
