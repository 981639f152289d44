//! Tenants, their settings and their customer users.

use super::db::{p, Row};
use super::{bad_row, Tx};
use crate::clock::{from_millis, to_millis, Time};
use crate::model::{Role, Settings, Tenant, User};
use crate::Result;

/// A tenant's settings ([`Tx::settings`]): `?1` the tenant.
pub(super) const SETTINGS_OF: &str =
    "SELECT lockbox_enabled, request_lifetime_s, max_access_duration_s, approvals_required,
            provider_approvals_required, reminder_lead_s
     FROM settings WHERE tenant = ?1";

/// A user of a tenant ([`Tx::user`]): `?1` the tenant, `?2` the name.
pub(super) const USER_BY_NAME: &str =
    "SELECT name, role, email, created_at FROM users WHERE tenant = ?1 AND name = ?2";

impl Tx<'_> {
    pub fn tenants(&self) -> Result<Vec<Tenant>> {
        self.rows(
            "SELECT id, name, created_at FROM tenants ORDER BY created_at, id",
            p![],
            |r| {
                Ok(Tenant {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: from_millis(r.get(2)?),
                })
            },
        )
    }

    pub fn tenant_exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .opt("SELECT 1 FROM tenants WHERE id = ?1", p![id], |_| Ok(()))?
            .is_some())
    }

    pub fn insert_tenant(&self, t: &Tenant, settings: &Settings) -> Result<()> {
        self.exec(
            "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)",
            p![t.id, t.name, to_millis(t.created_at)],
        )?;
        self.put_settings(&t.id, settings)
    }

    pub fn settings(&self, tenant: &str) -> Result<Option<Settings>> {
        self.opt(SETTINGS_OF, p![tenant], |r| {
            Ok(Settings {
                lockbox_enabled: r.get(0)?,
                request_lifetime_s: r.get(1)?,
                max_access_duration_s: r.get(2)?,
                approvals_required: r.get(3)?,
                provider_approvals_required: r.get(4)?,
                reminder_lead_s: r.get(5)?,
            })
        })
    }

    pub fn put_settings(&self, tenant: &str, s: &Settings) -> Result<()> {
        self.exec(
            "INSERT INTO settings (tenant, lockbox_enabled, request_lifetime_s, max_access_duration_s,
                                   approvals_required, provider_approvals_required, reminder_lead_s)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (tenant) DO UPDATE SET
                lockbox_enabled = excluded.lockbox_enabled,
                request_lifetime_s = excluded.request_lifetime_s,
                max_access_duration_s = excluded.max_access_duration_s,
                approvals_required = excluded.approvals_required,
                provider_approvals_required = excluded.provider_approvals_required,
                reminder_lead_s = excluded.reminder_lead_s",
            p![
                tenant,
                s.lockbox_enabled,
                s.request_lifetime_s,
                s.max_access_duration_s,
                s.approvals_required,
                s.provider_approvals_required,
                s.reminder_lead_s
            ],
        )?;
        Ok(())
    }

    pub fn users(&self, tenant: &str) -> Result<Vec<User>> {
        self.rows(
            "SELECT name, role, email, created_at FROM users WHERE tenant = ?1 ORDER BY name",
            p![tenant],
            map_user,
        )
    }

    pub fn user(&self, tenant: &str, name: &str) -> Result<Option<User>> {
        self.opt(USER_BY_NAME, p![tenant, name], map_user)
    }

    pub fn role(&self, tenant: &str, name: &str) -> Result<Option<Role>> {
        Ok(self.user(tenant, name)?.map(|u| u.role))
    }

    pub fn insert_user(&self, tenant: &str, u: &User) -> Result<()> {
        self.exec(
            "INSERT INTO users (tenant, name, role, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            p![
                tenant,
                u.name,
                u.role.as_str(),
                u.email,
                to_millis(u.created_at)
            ],
        )?;
        Ok(())
    }

    pub fn delete_user(&self, tenant: &str, name: &str) -> Result<bool> {
        Ok(self.exec(
            "DELETE FROM users WHERE tenant = ?1 AND name = ?2",
            p![tenant, name],
        )? > 0)
    }

    pub fn count_admins(&self, tenant: &str) -> Result<i64> {
        self.one(
            "SELECT COUNT(*) FROM users WHERE tenant = ?1 AND role = 'admin'",
            p![tenant],
            |r| r.get(0),
        )
    }

    /// Tenants in which `name` is a customer user, with the role.
    pub fn memberships(&self, name: &str) -> Result<Vec<(String, Role)>> {
        self.rows(
            "SELECT tenant, role FROM users WHERE name = ?1 ORDER BY tenant",
            p![name],
            |r| {
                let role: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    Role::parse(&role).map_err(|e| bad_row("role", e))?,
                ))
            },
        )
    }
}

fn map_user(r: &Row<'_>) -> Result<User> {
    let role: String = r.get(1)?;
    let created: i64 = r.get(3)?;
    Ok(User {
        name: r.get(0)?,
        role: Role::parse(&role).map_err(|e| bad_row("role", e))?,
        email: r.get(2)?,
        created_at: from_millis(created) as Time,
    })
}
