//! Wire types: what crosses the boundary (CLI `--json`, IPC, HTTP). Domain
//! types convert into these; TypeScript types are generated from them with
//! ts-rs (`make bindings`), committed under `ui/src/bindings/`, and a test
//! fails when the committed files drift.

use crate::audit::{AuditEntry, VerifyOutcome};
use crate::clock::{parse_time, rfc3339};
use crate::model::{self, AccessDecision, ActorKind, Request, Settings, State, Tenant, User};
use crate::store::{self, RequestSort as Sort};
use crate::Result;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RequestState))]
#[serde(rename_all = "snake_case")]
#[ts(rename = "RequestState")]
pub enum RequestStateDto {
    AwaitingProvider,
    Pending,
    Approved,
    Completed,
    Rejected,
    Expired,
    Canceled,
    Revoked,
}

impl From<State> for RequestStateDto {
    fn from(s: State) -> Self {
        match s {
            State::AwaitingProvider => Self::AwaitingProvider,
            State::Pending => Self::Pending,
            State::Approved => Self::Approved,
            State::Completed => Self::Completed,
            State::Rejected => Self::Rejected,
            State::Expired => Self::Expired,
            State::Canceled => Self::Canceled,
            State::Revoked => Self::Revoked,
        }
    }
}

impl From<RequestStateDto> for State {
    fn from(s: RequestStateDto) -> Self {
        match s {
            RequestStateDto::AwaitingProvider => State::AwaitingProvider,
            RequestStateDto::Pending => State::Pending,
            RequestStateDto::Approved => State::Approved,
            RequestStateDto::Completed => State::Completed,
            RequestStateDto::Rejected => State::Rejected,
            RequestStateDto::Expired => State::Expired,
            RequestStateDto::Canceled => State::Canceled,
            RequestStateDto::Revoked => State::Revoked,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionDto {
    /// "provider" or "customer".
    #[ts(type = "\"provider\" | \"customer\"")]
    pub level: String,
    pub actor: String,
    /// "approve", "reject", "revoke" or "cancel".
    #[ts(type = "\"approve\" | \"reject\" | \"revoke\" | \"cancel\"")]
    pub decision: String,
    pub comment: Option<String>,
    #[ts(type = "number | null")]
    pub duration_s: Option<i64>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestDto {
    pub id: String,
    pub tenant: String,
    pub state: RequestStateDto,
    pub case: String,
    pub workload: String,
    pub resource: String,
    pub reason: String,
    pub requester: String,
    #[ts(type = "number")]
    pub requested_duration_s: i64,
    #[ts(type = "number | null")]
    pub granted_duration_s: Option<i64>,
    pub created_at: String,
    pub expires_at: String,
    pub approved_at: Option<String>,
    pub access_ends_at: Option<String>,
    pub closed_at: Option<String>,
    pub approvals_required: u32,
    pub provider_approvals_required: u32,
    pub lockbox_required: bool,
    pub decisions: Vec<DecisionDto>,
}

impl From<&Request> for RequestDto {
    fn from(r: &Request) -> Self {
        RequestDto {
            id: r.id.clone(),
            tenant: r.tenant.clone(),
            state: r.state.into(),
            case: r.case.clone(),
            workload: r.workload.clone(),
            resource: r.resource.clone(),
            reason: r.reason.clone(),
            requester: r.requester.clone(),
            requested_duration_s: r.requested_duration_s,
            granted_duration_s: r.granted_duration_s,
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            approved_at: r.approved_at.map(rfc3339),
            access_ends_at: r.access_ends_at.map(rfc3339),
            closed_at: r.closed_at.map(rfc3339),
            approvals_required: r.approvals_required,
            provider_approvals_required: r.provider_approvals_required,
            lockbox_required: r.lockbox_required,
            decisions: r
                .decisions
                .iter()
                .map(|d| DecisionDto {
                    level: d.level.as_str().into(),
                    actor: d.actor.clone(),
                    decision: d.kind.as_str().into(),
                    comment: d.comment.clone(),
                    duration_s: d.duration_s,
                    at: rfc3339(d.at),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestSort {
    #[default]
    Newest,
    Oldest,
    ExpiresSoonest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    pub states: Option<Vec<RequestStateDto>>,
    pub search: Option<String>,
    pub sort: Option<RequestSort>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl RequestQuery {
    pub fn to_store(&self) -> store::RequestQuery {
        store::RequestQuery {
            states: self.states.iter().flatten().map(|s| (*s).into()).collect(),
            search: self.search.clone(),
            created_after: None,
            sort: match self.sort.unwrap_or_default() {
                RequestSort::Newest => Sort::Newest,
                RequestSort::Oldest => Sort::Oldest,
                RequestSort::ExpiresSoonest => Sort::ExpiresSoonest,
            },
            cursor: self.cursor.clone(),
            limit: self.limit.unwrap_or(50),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestPage {
    pub items: Vec<RequestDto>,
    pub next_cursor: Option<String>,
    #[ts(type = "number")]
    pub total: u64,
}

impl From<&crate::engine::RequestPage> for RequestPage {
    fn from(p: &crate::engine::RequestPage) -> Self {
        RequestPage {
            items: p.items.iter().map(Into::into).collect(),
            next_cursor: p.next_cursor.clone(),
            total: p.total,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(rename = "ActorKind")]
pub enum ActorKindDto {
    Customer,
    Provider,
    System,
}

impl From<ActorKind> for ActorKindDto {
    fn from(k: ActorKind) -> Self {
        match k {
            ActorKind::Customer => Self::Customer,
            ActorKind::Provider => Self::Provider,
            ActorKind::System => Self::System,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntryDto {
    /// Position in the store (all tenants).
    #[ts(type = "number")]
    pub seq: i64,
    /// Position in its tenant's hash chain.
    #[ts(type = "number")]
    pub tenant_seq: i64,
    pub at: String,
    pub recorded_at: String,
    pub tenant: String,
    pub actor_kind: ActorKindDto,
    pub actor: String,
    pub operation: String,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&AuditEntry> for AuditEntryDto {
    fn from(e: &AuditEntry) -> Self {
        AuditEntryDto {
            seq: e.seq,
            tenant_seq: e.tenant_seq,
            at: rfc3339(e.at),
            recorded_at: rfc3339(e.recorded_at),
            tenant: e.tenant.clone(),
            actor_kind: e.actor_kind.into(),
            actor: e.actor.clone(),
            operation: e.operation.clone(),
            request_id: e.request_id.clone(),
            details: serde_json::from_str(&e.details)
                .unwrap_or(serde_json::Value::String(e.details.clone())),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub request_id: Option<String>,
    pub actor: Option<String>,
    pub operation: Option<String>,
    pub text: Option<String>,
    #[ts(type = "number | null")]
    pub before_seq: Option<i64>,
    pub limit: Option<u32>,
}

impl AuditQuery {
    pub fn to_store(&self) -> Result<store::AuditQuery> {
        let t = |s: &Option<String>| {
            s.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(parse_time)
                .transpose()
        };
        Ok(store::AuditQuery {
            since: t(&self.since)?,
            until: t(&self.until)?,
            request_id: self.request_id.clone(),
            actor: self.actor.clone(),
            operation: self.operation.clone(),
            text: self.text.clone(),
            before_seq: self.before_seq,
            limit: self.limit,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditEntryDto>,
    #[ts(type = "number | null")]
    pub next_before_seq: Option<i64>,
}

impl AuditPage {
    /// A page from entries fetched with `limit`; a full page may have more after it.
    pub fn from_entries(entries: &[AuditEntry], limit: u32) -> Self {
        let next = (entries.len() as u32 >= limit)
            .then(|| entries.last().map(|e| e.seq))
            .flatten();
        AuditPage {
            items: entries.iter().map(Into::into).collect(),
            next_before_seq: next,
        }
    }
}

/// `audit verify`: the hash chain, and every stored request against its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyReport {
    /// The chain is intact and every stored request agrees with it.
    pub ok: bool,
    #[ts(type = "number")]
    pub entries: u64,
    /// Each tenant's chain as verified: its length and head hash.
    pub chains: Vec<ChainDto>,
    /// The first entry where the hash chain breaks.
    #[ts(type = "number | null")]
    pub first_bad_seq: Option<i64>,
    /// Why the chain breaks there.
    pub problem: Option<String>,
    /// Requests checked against their audit entries.
    #[ts(type = "number")]
    pub requests: u64,
    /// The first request whose stored state disagrees with its audit entries.
    pub first_disagreement: Option<DisagreementDto>,
    /// Signed checkpoints (or receipts) compared with the log, when given.
    pub checkpoints: Vec<CheckpointCheckDto>,
}

/// What one signed checkpoint or decision receipt vouches for, and whether the log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckpointCheckDto {
    /// Line of the document in its file.
    #[ts(type = "number")]
    pub line: u64,
    /// `checkpoint` or `receipt`.
    pub kind: String,
    pub tenant: String,
    #[ts(type = "number")]
    pub entries: i64,
    pub head_hash: String,
    pub signed_at: String,
    /// `None`: the log holds it.
    pub problem: Option<String>,
}

impl From<&crate::checkpoint::ClaimCheck> for CheckpointCheckDto {
    fn from(c: &crate::checkpoint::ClaimCheck) -> Self {
        CheckpointCheckDto {
            line: c.claim.line as u64,
            kind: c.claim.kind.to_string(),
            tenant: c.claim.tenant.clone(),
            entries: c.claim.entries,
            head_hash: c.claim.head_hash.clone(),
            signed_at: c.claim.at.clone(),
            problem: c.problem.clone(),
        }
    }
}

/// One tenant's audit chain: how many entries, and the newest one's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainDto {
    pub tenant: String,
    #[ts(type = "number")]
    pub entries: i64,
    pub head_hash: String,
}

/// A stored field of a request that its audit entries contradict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisagreementDto {
    pub request_id: String,
    /// `state`, `access_ends_at`, `decisions[1]`, `receipts[0].decision`, ...;
    /// `request` for a missing or unaudited row; `history` when the entries
    /// record a transition the stored state at the time could not have allowed.
    pub field: String,
    pub stored: String,
    pub audited: String,
    /// One sentence naming all of the above.
    pub message: String,
}

impl From<&crate::consistency::Disagreement> for DisagreementDto {
    fn from(d: &crate::consistency::Disagreement) -> Self {
        DisagreementDto {
            request_id: d.request_id.clone(),
            field: d.field.clone(),
            stored: d.stored.clone(),
            audited: d.audited.clone(),
            message: d.to_string(),
        }
    }
}

impl From<&VerifyOutcome> for VerifyReport {
    fn from(v: &VerifyOutcome) -> Self {
        VerifyReport {
            ok: v.ok(),
            entries: v.entries,
            chains: if v.first_bad.is_some() {
                Vec::new()
            } else {
                v.heads
                    .iter()
                    .map(|(tenant, h)| ChainDto {
                        tenant: tenant.clone(),
                        entries: h.entries,
                        head_hash: h.hash.clone(),
                    })
                    .collect()
            },
            first_bad_seq: v.first_bad.as_ref().map(|b| b.0),
            problem: v.first_bad.as_ref().map(|b| b.1.clone()),
            requests: v.requests,
            first_disagreement: v.first_disagreement.as_ref().map(Into::into),
            checkpoints: Vec::new(),
        }
    }
}

/// `audit verify --file`: an export file's hash chains, checked from the
/// file alone (CLI output; not part of the UI bindings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVerifyReport {
    /// Every line verified.
    pub ok: bool,
    pub file: String,
    /// `csv` or `jsonl`.
    pub format: String,
    /// Entries that verified (before the first bad line, if any).
    pub entries: u64,
    /// Each tenant's entries in the file (empty when a line is bad).
    pub chains: Vec<FileChainDto>,
    /// The first line that does not verify.
    pub first_bad: Option<BadLineDto>,
}

/// One tenant's entries in an export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChainDto {
    pub tenant: String,
    pub entries: u64,
    pub first_tenant_seq: i64,
    pub last_tenant_seq: i64,
    /// The file starts at the chain's first entry (tenant_seq 1 after
    /// GENESIS); otherwise it proves nothing about the entries before.
    pub from_genesis: bool,
    /// The `prev_hash` of the first entry in the file: what an earlier
    /// part of the chain must end with.
    pub first_prev_hash: String,
    pub head_hash: String,
    /// One sentence saying what the file proves about this chain.
    pub message: String,
}

/// Where an export file first fails to verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadLineDto {
    /// Physical line from 1 (CSV: where the record starts; the header is line 1).
    pub line: u64,
    pub tenant: Option<String>,
    pub tenant_seq: Option<i64>,
    /// The line is not an entry at all (bad JSON or CSV, a missing field).
    pub malformed: bool,
    pub problem: String,
}

impl FileVerifyReport {
    pub fn new(file: &str, v: &crate::export::ExportOutcome) -> Self {
        FileVerifyReport {
            ok: v.ok(),
            file: file.to_string(),
            format: v.format.as_str().to_string(),
            entries: v.entries,
            chains: v
                .chains
                .iter()
                .map(|c| FileChainDto {
                    tenant: c.tenant.clone(),
                    entries: c.entries,
                    first_tenant_seq: c.first_tenant_seq,
                    last_tenant_seq: c.last_tenant_seq,
                    from_genesis: c.from_genesis,
                    first_prev_hash: c.first_prev_hash.clone(),
                    head_hash: c.head_hash.clone(),
                    message: c.to_string(),
                })
                .collect(),
            first_bad: v.first_bad.as_ref().map(|b| BadLineDto {
                line: b.line,
                tenant: b.tenant.clone(),
                tenant_seq: b.tenant_seq,
                malformed: b.malformed,
                problem: b.problem.clone(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingsDto {
    pub lockbox_enabled: bool,
    #[ts(type = "number")]
    pub request_lifetime_s: i64,
    #[ts(type = "number")]
    pub max_access_duration_s: i64,
    pub approvals_required: u32,
    pub provider_approvals_required: u32,
    #[ts(type = "number | null")]
    pub reminder_lead_s: Option<i64>,
}

impl From<&Settings> for SettingsDto {
    fn from(s: &Settings) -> Self {
        SettingsDto {
            lockbox_enabled: s.lockbox_enabled,
            request_lifetime_s: s.request_lifetime_s,
            max_access_duration_s: s.max_access_duration_s,
            approvals_required: s.approvals_required,
            provider_approvals_required: s.provider_approvals_required,
            reminder_lead_s: s.reminder_lead_s,
        }
    }
}

impl From<&SettingsDto> for Settings {
    fn from(s: &SettingsDto) -> Self {
        Settings {
            lockbox_enabled: s.lockbox_enabled,
            request_lifetime_s: s.request_lifetime_s,
            max_access_duration_s: s.max_access_duration_s,
            approvals_required: s.approvals_required,
            provider_approvals_required: s.provider_approvals_required,
            reminder_lead_s: s.reminder_lead_s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(rename = "Role")]
pub enum RoleDto {
    Admin,
    Approver,
}

impl From<model::Role> for RoleDto {
    fn from(r: model::Role) -> Self {
        match r {
            model::Role::Admin => Self::Admin,
            model::Role::Approver => Self::Approver,
        }
    }
}

impl From<RoleDto> for model::Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Admin => model::Role::Admin,
            RoleDto::Approver => model::Role::Approver,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDto {
    pub name: String,
    pub role: RoleDto,
    pub email: Option<String>,
    pub created_at: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        UserDto {
            name: u.name.clone(),
            role: u.role.into(),
            email: u.email.clone(),
            created_at: rfc3339(u.created_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantDto {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl From<&Tenant> for TenantDto {
    fn from(t: &Tenant) -> Self {
        TenantDto {
            id: t.id.clone(),
            name: t.name.clone(),
            created_at: rfc3339(t.created_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessDto {
    pub request_id: String,
    pub allowed: bool,
    pub ends_at: Option<String>,
    pub reason: String,
}

impl AccessDto {
    pub fn new(request_id: &str, d: &AccessDecision) -> Self {
        AccessDto {
            request_id: request_id.into(),
            allowed: d.allowed,
            ends_at: d.ends_at.map(rfc3339),
            reason: d.reason.clone(),
        }
    }
}

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
}

/// A provider connection (its token is never shown again after issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TokenDto {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub active: bool,
}

impl TokenDto {
    pub fn new(t: &crate::store::TokenRow, now: crate::clock::Time) -> Self {
        TokenDto {
            id: t.id.clone(),
            name: t.name.clone(),
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
            active: t.is_active(now),
        }
    }
}

/// A newly issued token: `secret` is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IssuedTokenDto {
    pub token: TokenDto,
    pub secret: String,
}

/// SMTP settings as shown (the password is never sent back). `password_set`:
/// a login is configured; its password lives in the OS keyring (or
/// `LOCKBOX_SMTP_PASSWORD` where the email is sent), never in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmtpDto {
    pub host: String,
    pub port: u16,
    /// "none", "starttls" or "tls".
    pub security: String,
    pub username: Option<String>,
    pub password_set: bool,
    pub from_address: String,
}

impl From<&crate::store::SmtpRow> for SmtpDto {
    fn from(s: &crate::store::SmtpRow) -> Self {
        SmtpDto {
            host: s.host.clone(),
            port: s.port,
            security: s.security.clone(),
            username: s.username.clone(),
            password_set: s.username.is_some(),
            from_address: s.from_address.clone(),
        }
    }
}

/// SMTP settings to save. `password` goes to the OS keyring; `null` keeps the saved one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SmtpInput {
    pub host: String,
    pub port: u16,
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from_address: String,
}

/// One approver email's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeliveryDto {
    pub request_id: String,
    /// "pending" or "reminder".
    pub kind: String,
    /// "claimed", "sent", "failed" or "skipped".
    pub outcome: String,
    #[ts(type = "number")]
    pub attempts: i64,
    pub detail: Option<String>,
    pub next_attempt_at: Option<String>,
    pub at: String,
}

impl From<&crate::store::DeliveryRow> for DeliveryDto {
    fn from(d: &crate::store::DeliveryRow) -> Self {
        DeliveryDto {
            request_id: d.request_id.clone(),
            kind: d.kind.clone(),
            outcome: d.outcome.clone(),
            attempts: d.attempts,
            detail: d.detail.clone(),
            next_attempt_at: d.next_attempt_at.map(rfc3339),
            at: rfc3339(d.claimed_at),
        }
    }
}

/// The local provider API, as configured and as running in this app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ApiSettingsDto {
    pub enabled: bool,
    /// Address to listen on, e.g. 127.0.0.1:8787.
    pub bind: String,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// Where it is listening now (None when off or failed).
    pub listening_on: Option<String>,
    /// Why it is not running, if it should be.
    pub error: Option<String>,
}
