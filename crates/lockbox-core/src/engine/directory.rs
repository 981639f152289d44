//! Tenants, users, memberships and settings.

use super::{ensure_tenant, need_admin, tenant_settings, Engine};
use crate::clock::Time;
use crate::identity::Principal;
use crate::machine::AuditRecord;
use crate::model::*;
use crate::store::Tx;
use crate::{Error, ErrorCode, Result};
use serde_json::json;

impl Engine {
    pub fn settings(&mut self, tenant: &str) -> Result<Settings> {
        self.store.read(|tx| tenant_settings(tx, tenant))
    }

    /// Replace `tenant`'s settings (admins only); audits the keys that changed.
    pub fn update_settings(
        &mut self,
        tenant: &str,
        by: &Principal,
        new: &Settings,
    ) -> Result<Settings> {
        new.validate()?;
        let now = self.now();
        self.store.doing("change settings").write(|tx| {
            need_admin(tx, tenant, by.name())?;
            let old = tenant_settings(tx, tenant)?;
            let changes: Vec<_> = old
                .entries()
                .into_iter()
                .zip(new.entries())
                .filter(|(a, b)| a.1 != b.1)
                .map(|((k, o), (_, n))| json!({ "key": k, "old": o, "new": n }))
                .collect();
            if changes.is_empty() {
                return Ok(old);
            }
            tx.put_settings(tenant, new)?;
            let rec = AuditRecord {
                operation: Operation::SettingsChanged,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(json!({ "changes": changes })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(new.clone())
        })
    }

    /// Set one setting by its CLI key.
    pub fn set_setting(
        &mut self,
        tenant: &str,
        by: &Principal,
        key: &str,
        value: &str,
    ) -> Result<Settings> {
        let current = self.settings(tenant)?;
        let new = current.with(key, value)?;
        self.update_settings(tenant, by, &new)
    }

    pub fn users(&mut self, tenant: &str) -> Result<Vec<User>> {
        self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            tx.users(tenant)
        })
    }

    /// Tenants in which `name` is a customer user.
    pub fn memberships(&mut self, name: &str) -> Result<Vec<(String, Role)>> {
        self.store.read(|tx| tx.memberships(name))
    }

    pub fn add_user(
        &mut self,
        tenant: &str,
        by: &Principal,
        name: &str,
        role: Role,
        email: Option<&str>,
    ) -> Result<User> {
        let name = required("user name", name, limits::NAME)?;
        let email = optional("email", email, limits::NAME)?;
        if let Some(e) = &email {
            validate_email(e)?;
        }
        let now = self.now();
        self.store.doing("add a user").write(|tx| {
            need_admin(tx, tenant, by.name())?;
            // Two users who are "the same person" (case, width, invisible
            // characters) could each cast a vote of a quorum.
            if let Some(same) = same_person(tx, tenant, &name)? {
                return Err(Error::new(
                    ErrorCode::AlreadyExists,
                    format!(
                        "user '{}' already exists in tenant '{tenant}'{}",
                        same.name,
                        if same.name == name {
                            ""
                        } else {
                            " (the same name, written differently)"
                        }
                    ),
                ));
            }
            let user = User {
                name: name.clone(),
                role,
                email: email.clone(),
                created_at: now,
            };
            insert_user(tx, tenant, by, &user, false, now)?;
            Ok(user)
        })
    }

    /// Refuse `by` unless they are a user of `tenant` (any role): the rule of
    /// the commands that read a tenant's data (`commands::Who::Member`).
    pub fn need_member(&mut self, tenant: &str, by: &Principal) -> Result<()> {
        self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            match tx.role(tenant, by.name())? {
                Some(_) => Ok(()),
                None => Err(Error::not_permitted(format!(
                    "{} is not a user of tenant '{tenant}'",
                    by.name()
                ))),
            }
        })
    }

    /// `lockbox serve --bootstrap-admin EMAIL`: make the person who signs in
    /// with `email` an admin of the default tenant, unless a user of that
    /// name (the same person, see `text::same_person`) is already there, in
    /// any role. `by` is who starts the server (the OS user running it, who
    /// holds the store's configuration anyway, so no admin role is asked of
    /// them); the entry is `user_added` with `"bootstrap": true`. The user
    /// added, or `None` when there was one already.
    pub fn bootstrap_admin(&mut self, by: &Principal, email: &str) -> Result<Option<User>> {
        let name = required("admin email", &email.to_lowercase(), limits::NAME)?;
        validate_email(&name)?;
        let tenant = super::DEFAULT_TENANT;
        let now = self.now();
        self.store.doing("add the bootstrap admin").write(|tx| {
            ensure_tenant(tx, tenant)?;
            if same_person(tx, tenant, &name)?.is_some() {
                return Ok(None);
            }
            let user = User {
                name: name.clone(),
                role: Role::Admin,
                email: Some(name.clone()),
                created_at: now,
            };
            insert_user(tx, tenant, by, &user, true, now)?;
            Ok(Some(user))
        })
    }

    pub fn remove_user(&mut self, tenant: &str, by: &Principal, name: &str) -> Result<()> {
        let now = self.now();
        self.store.doing("remove a user").write(|tx| {
            need_admin(tx, tenant, by.name())?;
            let user = tx.user(tenant, name)?.ok_or_else(|| {
                Error::not_found(format!("no user '{name}' in tenant '{tenant}'"))
            })?;
            if user.role == Role::Admin && tx.count_admins(tenant)? <= 1 {
                return Err(Error::new(
                    ErrorCode::NotPermitted,
                    format!(
                        "'{name}' is the last admin of tenant '{tenant}': add another admin first"
                    ),
                ));
            }
            tx.delete_user(tenant, name)?;
            let rec = AuditRecord {
                operation: Operation::UserRemoved,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(json!({ "user": name, "role": user.role.as_str() })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(())
        })
    }

    pub fn tenants(&mut self) -> Result<Vec<Tenant>> {
        self.store.read(|tx| tx.tenants())
    }

    /// Add a tenant (an admin of `from_tenant` only); the actor becomes its first admin.
    pub fn add_tenant(
        &mut self,
        from_tenant: &str,
        by: &Principal,
        id: &str,
        name: &str,
    ) -> Result<Tenant> {
        let id = required("tenant id", id, limits::TENANT_ID)?;
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(Error::input(format!(
                "tenant id '{id}' may only use letters, digits, '-', '_' and '.'"
            )));
        }
        let name = required("tenant name", name, limits::NAME)?;
        let now = self.now();
        self.store.doing("add a tenant").write(|tx| {
            need_admin(tx, from_tenant, by.name())?;
            if tx.tenant_exists(&id)? {
                return Err(Error::new(
                    ErrorCode::AlreadyExists,
                    format!("tenant '{id}' already exists"),
                ));
            }
            create_tenant(tx, &id, &name, &by.actor(), by.name(), now)?;
            Ok(Tenant {
                id: id.clone(),
                name: name.clone(),
                created_at: now,
            })
        })
    }
}

/// The user of `tenant` who is the same person as `name`
/// (`text::same_person`), if there is one.
fn same_person(tx: &Tx<'_>, tenant: &str, name: &str) -> Result<Option<User>> {
    Ok(tx
        .users(tenant)?
        .into_iter()
        .find(|u| crate::text::same_person(&u.name, name)))
}

/// Add `user` to `tenant` and audit it (`user_added` by `by`; its details
/// say `"bootstrap": true` for `lockbox serve --bootstrap-admin`).
fn insert_user(
    tx: &Tx<'_>,
    tenant: &str,
    by: &Principal,
    user: &User,
    bootstrap: bool,
    now: Time,
) -> Result<()> {
    tx.insert_user(tenant, user)?;
    let mut details = json!({ "user": user.name, "role": user.role.as_str(), "email": user.email });
    if bootstrap {
        details["bootstrap"] = json!(true);
    }
    let rec = AuditRecord {
        operation: Operation::UserAdded,
        actor: by.actor(),
        at: now,
        request_id: None,
        details: by.with_authn(details),
    };
    tx.append_audit(tenant, &[&rec], now)?;
    Ok(())
}

fn validate_email(e: &str) -> Result<()> {
    crate::mail::parse_email(e).map(drop)
}

pub(super) fn create_tenant(
    tx: &Tx<'_>,
    id: &str,
    name: &str,
    by: &Actor,
    first_admin: &str,
    now: Time,
) -> Result<()> {
    let settings = Settings::default();
    tx.insert_tenant(
        &Tenant {
            id: id.into(),
            name: name.into(),
            created_at: now,
        },
        &settings,
    )?;
    tx.insert_user(
        id,
        &User {
            name: first_admin.into(),
            role: Role::Admin,
            email: None,
            created_at: now,
        },
    )?;
    let added = AuditRecord {
        operation: Operation::TenantAdded,
        actor: by.clone(),
        at: now,
        request_id: None,
        details: json!({ "tenant": id, "name": name, "settings": settings.entries().into_iter().collect::<std::collections::BTreeMap<_, _>>() }),
    };
    let admin = AuditRecord {
        operation: Operation::UserAdded,
        actor: by.clone(),
        at: now,
        request_id: None,
        details: json!({ "user": first_admin, "role": "admin", "email": null, "first_admin": true }),
    };
    tx.append_audit(id, &[&added, &admin], now)?;
    Ok(())
}
