//! Requests: their state, decisions, queries, pages and access checks.

use crate::clock::rfc3339;
use crate::model::{self, AccessDecision, Request, RequestSort as Sort, State};
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
    pub fn to_store(&self) -> model::RequestQuery {
        model::RequestQuery {
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

impl From<&crate::model::RequestPage> for RequestPage {
    fn from(p: &crate::model::RequestPage) -> Self {
        RequestPage {
            items: p.items.iter().map(Into::into).collect(),
            next_cursor: p.next_cursor.clone(),
            total: p.total,
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
