//! Domain types. These are not the wire format: see [`crate::dto`].

use crate::clock::Time;
use crate::{Error, Result};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// A string enum as stored in the database and the audit log: strum derives
/// its spellings (`snake_case` of the variant; `Display` and `&'static str`
/// from the same table). This adds what every caller uses: `ALL`, `as_str()`
/// and `parse()` with Lockbox's own error (`invalid_input`, naming the
/// accepted values).
macro_rules! stored_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            EnumString, IntoStaticStr, Display, VariantArray,
        )]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = <$name as VariantArray>::VARIANTS;
            pub fn as_str(self) -> &'static str {
                self.into()
            }
            pub fn parse(s: &str) -> Result<Self> {
                s.parse().map_err(|_| Error::input(format!(
                    "'{s}' is not a valid {}: expected one of {}",
                    stringify!($name).to_lowercase(),
                    $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                )))
            }
        }
    };
}

stored_enum! {
    /// The lifecycle of a lockbox request.
    pub enum State {
        AwaitingProvider,
        Pending,
        Approved,
        Completed,
        Rejected,
        Expired,
        Canceled,
        Revoked,
    }
}

impl State {
    /// Terminal states never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Completed | State::Rejected | State::Expired | State::Canceled | State::Revoked
        )
    }
    /// Still waiting for a decision (provider or customer).
    pub fn is_undecided(self) -> bool {
        matches!(self, State::AwaitingProvider | State::Pending)
    }
}

stored_enum! {
    /// A customer user's role in a tenant.
    pub enum Role {
        Admin,
        Approver,
    }
}

stored_enum! {
    /// Who performed an action.
    pub enum ActorKind {
        Customer,
        Provider,
        System,
    }
}

stored_enum! {
    /// Which side decided.
    pub enum Level {
        Provider,
        Customer,
    }
}

stored_enum! {
    pub enum DecisionKind {
        Approve,
        Reject,
        Revoke,
        Cancel,
    }
}

stored_enum! {
    /// Every kind of audited action.
    pub enum Operation {
        RequestCreated,
        ProviderApproved,
        Approved,
        AutoApproved,
        Rejected,
        Expired,
        Canceled,
        Revoked,
        Completed,
        AccessUsed,
        AccessDenied,
        SettingsChanged,
        UserAdded,
        UserRemoved,
        TenantAdded,
        TokenIssued,
        TokenRevoked,
        ReceiptKeyCreated,
        ReceiptKeyRotated,
        AuditRechained,
    }
}

impl Operation {
    /// A change to a tenant's configuration (settings, users, tokens) rather
    /// than to a request.
    pub fn changes_settings(self) -> bool {
        matches!(
            self,
            Operation::SettingsChanged
                | Operation::UserAdded
                | Operation::UserRemoved
                | Operation::TenantAdded
                | Operation::TokenIssued
                | Operation::TokenRevoked
                | Operation::ReceiptKeyCreated
                | Operation::ReceiptKeyRotated
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub name: String,
}

impl Actor {
    pub fn customer(name: impl Into<String>) -> Self {
        Actor {
            kind: ActorKind::Customer,
            name: name.into(),
        }
    }
    pub fn provider(name: impl Into<String>) -> Self {
        Actor {
            kind: ActorKind::Provider,
            name: name.into(),
        }
    }
    pub fn system() -> Self {
        Actor {
            kind: ActorKind::System,
            name: "lockbox".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub level: Level,
    pub actor: String,
    pub kind: DecisionKind,
    pub comment: Option<String>,
    pub duration_s: Option<i64>,
    pub at: Time,
}

/// A lockbox request with the policy it was filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: String,
    pub tenant: String,
    pub state: State,
    pub case: String,
    pub workload: String,
    pub resource: String,
    pub reason: String,
    pub requester: String,
    pub requested_duration_s: i64,
    pub granted_duration_s: Option<i64>,
    pub created_at: Time,
    pub expires_at: Time,
    pub approved_at: Option<Time>,
    pub access_ends_at: Option<Time>,
    pub closed_at: Option<Time>,
    /// Policy snapshot taken at filing: changing settings never touches existing requests.
    pub approvals_required: u32,
    pub provider_approvals_required: u32,
    pub lockbox_required: bool,
    pub decisions: Vec<Decision>,
}

impl Request {
    /// The next instant at which time alone changes this request, if any.
    pub fn deadline(&self) -> Option<Time> {
        match self.state {
            State::AwaitingProvider | State::Pending => Some(self.expires_at),
            State::Approved => self.access_ends_at,
            _ => None,
        }
    }

    pub fn approvals(&self, level: Level) -> impl Iterator<Item = &Decision> {
        self.decisions
            .iter()
            .filter(move |d| d.level == level && d.kind == DecisionKind::Approve)
    }

    pub fn has_decided(&self, level: Level, actor: &str) -> bool {
        self.decisions
            .iter()
            .any(|d| d.level == level && crate::text::same_person(&d.actor, actor))
    }
}

/// What an engineer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub engineer: String,
    pub case: String,
    pub workload: String,
    pub resource: String,
    pub reason: String,
    /// `None` asks for the tenant's maximum.
    pub duration_s: Option<i64>,
}

/// Per-tenant policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub lockbox_enabled: bool,
    pub request_lifetime_s: i64,
    pub max_access_duration_s: i64,
    pub approvals_required: u32,
    pub provider_approvals_required: u32,
    /// Remind approvers this long before a pending request expires; `None` = off.
    pub reminder_lead_s: Option<i64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lockbox_enabled: true,
            request_lifetime_s: 12 * 3600,
            max_access_duration_s: 4 * 3600,
            approvals_required: 1,
            provider_approvals_required: 1,
            reminder_lead_s: Some(3600),
        }
    }
}

pub const MAX_LIFETIME_S: i64 = 30 * 86_400;

impl Settings {
    /// Check every field; the message names the offending key.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_LIFETIME_S).contains(&self.request_lifetime_s) {
            return Err(Error::input("request-lifetime must be between 1s and 30d"));
        }
        if !(1..=MAX_LIFETIME_S).contains(&self.max_access_duration_s) {
            return Err(Error::input(
                "max-access-duration must be between 1s and 30d",
            ));
        }
        if !(1..=100).contains(&self.approvals_required) {
            return Err(Error::input("approvals-required must be between 1 and 100"));
        }
        if self.provider_approvals_required > 100 {
            return Err(Error::input(
                "provider-approvals-required must be between 0 and 100",
            ));
        }
        if let Some(r) = self.reminder_lead_s {
            if !(1..=MAX_LIFETIME_S).contains(&r) {
                return Err(Error::input(
                    "reminder-lead must be off or between 1s and 30d",
                ));
            }
        }
        Ok(())
    }

    /// Settings as ordered (key, value) pairs in their CLI spelling.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        use crate::duration::format_duration as f;
        vec![
            (
                "lockbox",
                if self.lockbox_enabled {
                    "on".into()
                } else {
                    "off".into()
                },
            ),
            ("request-lifetime", f(self.request_lifetime_s)),
            ("max-access-duration", f(self.max_access_duration_s)),
            ("approvals-required", self.approvals_required.to_string()),
            (
                "provider-approvals-required",
                self.provider_approvals_required.to_string(),
            ),
            (
                "reminder-lead",
                self.reminder_lead_s.map(f).unwrap_or_else(|| "off".into()),
            ),
        ]
    }

    /// Set one key from its CLI spelling; returns the new settings (validated).
    pub fn with(&self, key: &str, value: &str) -> Result<Settings> {
        use crate::duration::parse_duration as d;
        let mut s = self.clone();
        let count = |v: &str| -> Result<u32> {
            v.trim()
                .parse::<u32>()
                .map_err(|_| Error::input(format!("{key} takes a whole number, not '{v}'")))
        };
        match key {
            "lockbox" => {
                s.lockbox_enabled = match value.trim().to_ascii_lowercase().as_str() {
                    "on" | "true" | "yes" => true,
                    "off" | "false" | "no" => false,
                    _ => return Err(Error::input(format!("lockbox takes on or off, not '{value}'"))),
                }
            }
            "request-lifetime" => s.request_lifetime_s = d(value)?,
            "max-access-duration" => s.max_access_duration_s = d(value)?,
            "approvals-required" => s.approvals_required = count(value)?,
            "provider-approvals-required" => s.provider_approvals_required = count(value)?,
            "reminder-lead" => {
                s.reminder_lead_s =
                    if value.trim() == "off" { None } else { Some(d(value)?) }
            }
            _ => {
                return Err(Error::input(format!(
                    "unknown setting '{key}': expected one of lockbox, request-lifetime, \
                     max-access-duration, approvals-required, provider-approvals-required, reminder-lead"
                )))
            }
        }
        s.validate()?;
        Ok(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub email: Option<String>,
    pub created_at: Time,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: Time,
}

/// The answer to "is access allowed now?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDecision {
    pub allowed: bool,
    pub ends_at: Option<Time>,
    pub reason: String,
}

/// Field limits for anything a caller types.
pub mod limits {
    pub const NAME: usize = 128;
    pub const CASE: usize = 64;
    pub const WORKLOAD: usize = 64;
    pub const RESOURCE: usize = 512;
    pub const REASON: usize = 4000;
    pub const COMMENT: usize = 2000;
    pub const ACTION: usize = 2000;
    pub const TENANT_ID: usize = 64;
}

/// Trim and check a required one-line field (a name, a case number, a
/// resource): no control characters (line breaks included) and no invisible
/// format characters such as bidi controls.
pub fn required(field: &str, value: &str, max: usize) -> Result<String> {
    check_text(field, value, max, false)
}

/// Trim and check a required multi-line field (a reason, a comment): line
/// breaks and tabs are allowed, other control and format characters are not.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String> {
    check_text(field, value, max, true)
}

fn check_text(field: &str, value: &str, max: usize, multiline: bool) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::input(format!("{field} must not be empty")));
    }
    // The limit counts what was sent (as the API's schema documents it), not
    // what is left after trimming.
    if value.chars().count() > max {
        return Err(Error::input(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if let Some(what) = crate::text::refused_char(v, multiline) {
        return Err(Error::input(format!("{field} contains {what}")));
    }
    Ok(v.to_string())
}

/// Trim an optional multi-line field (a comment); empty becomes `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required_text(field, v, max).map(Some),
    }
}

/// Trim an optional text field; empty becomes `None`.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required(field, v, max).map(Some),
    }
}

mod queries;
mod records;
mod results;
pub use queries::*;
pub use records::*;
pub use results::*;

#[cfg(test)]
mod tests {
    use super::*;

    /// These spellings are stored in the database and the audit log: strum's
    /// `snake_case` must keep producing exactly them.
    #[test]
    fn enum_spellings_are_the_stored_ones() {
        let all = |v: Vec<&'static str>| v.join(",");
        assert_eq!(
            all(State::ALL.iter().map(|s| s.as_str()).collect()),
            "awaiting_provider,pending,approved,completed,rejected,expired,canceled,revoked"
        );
        assert_eq!(
            all(Role::ALL.iter().map(|s| s.as_str()).collect()),
            "admin,approver"
        );
        assert_eq!(
            all(ActorKind::ALL.iter().map(|s| s.as_str()).collect()),
            "customer,provider,system"
        );
        assert_eq!(
            all(Level::ALL.iter().map(|s| s.as_str()).collect()),
            "provider,customer"
        );
        assert_eq!(
            all(DecisionKind::ALL.iter().map(|s| s.as_str()).collect()),
            "approve,reject,revoke,cancel"
        );
        assert_eq!(
            all(Operation::ALL.iter().map(|s| s.as_str()).collect()),
            "request_created,provider_approved,approved,auto_approved,rejected,expired,\
             canceled,revoked,completed,access_used,access_denied,settings_changed,user_added,\
             user_removed,tenant_added,token_issued,token_revoked,receipt_key_created,\
             receipt_key_rotated,audit_rechained"
        );
        for &op in Operation::ALL {
            assert_eq!(Operation::parse(op.as_str()).unwrap(), op);
            assert_eq!(op.to_string(), op.as_str());
        }
    }

    #[test]
    fn parse_refuses_other_spellings_with_the_accepted_ones() {
        for bad in ["Admin", " admin", "owner", ""] {
            let e = Role::parse(bad).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidInput);
            assert_eq!(
                e.message,
                format!("'{bad}' is not a valid role: expected one of admin, approver")
            );
        }
        assert_eq!(
            ActorKind::parse("robot").unwrap_err().message,
            "'robot' is not a valid actorkind: expected one of customer, provider, system"
        );
    }
}
