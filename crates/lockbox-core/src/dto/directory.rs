//! Settings, roles, users and tenants.

use crate::clock::rfc3339;
use crate::model::{self, Settings, Tenant, User};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
