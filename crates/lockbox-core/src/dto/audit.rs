//! Audit entries, their queries and pages.

use crate::audit::AuditEntry;
use crate::clock::{parse_time, rfc3339};
use crate::model::{self, ActorKind};
use crate::Result;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
    pub fn to_store(&self) -> Result<model::AuditQuery> {
        let t = |s: &Option<String>| {
            s.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(parse_time)
                .transpose()
        };
        Ok(model::AuditQuery {
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
