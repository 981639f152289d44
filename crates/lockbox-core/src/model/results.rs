//! What the engine's use cases return: domain results, not the wire format
//! (the adapters convert them to [`crate::dto`] types).

use super::{Request, State};

/// One page of requests.
#[derive(Debug, Clone)]
pub struct RequestPage {
    pub items: Vec<Request>,
    pub total: u64,
    pub next_cursor: Option<String>,
}

/// What one deadline sweep changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swept {
    pub request_id: String,
    pub tenant: String,
    pub state: State,
}

/// What the audit log gained since a given entry (all tenants), for change
/// notifications: which tenants got entries, and which got settings changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditChanges {
    /// The newest entry's seq (0 for an empty log).
    pub head: i64,
    pub tenants: std::collections::BTreeSet<String>,
    pub settings_tenants: std::collections::BTreeSet<String>,
    /// More entries than were looked at (a large sweep): treat every tenant as changed.
    pub truncated: bool,
    /// Every entry looked at is an unanswered request's expiry (true when
    /// there were none; false when truncated): a change nobody made, which a
    /// window may show late (`feed::ExpiryHold`).
    pub expiries_only: bool,
}

impl AuditChanges {
    /// These changes and `later` ones as one look: both looks' tenants,
    /// `later`'s head.
    pub fn then(mut self, later: AuditChanges) -> AuditChanges {
        self.head = later.head;
        self.tenants.extend(later.tenants);
        self.settings_tenants.extend(later.settings_tenants);
        self.truncated |= later.truncated;
        self.expiries_only &= later.expiries_only;
        self
    }
}

/// [`AuditChanges`] as one person may hear them (`Engine::audit_changes_for`):
/// only tenants they are a user of, and which those are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopedChanges {
    /// `tenants` and `settings_tenants` narrowed to `tenants` below.
    pub changes: AuditChanges,
    /// The tenants the person is a user of (any role), read with the changes.
    pub tenants: std::collections::BTreeSet<String>,
}

/// Store-wide settings of the local provider API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    pub enabled: bool,
    pub bind: String,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
}

/// The Home page's cards and 30-day chart (see [`crate::Engine::home_stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeStats {
    pub pending: u64,
    pub expiring_within_2h: u64,
    pub active_grants: u64,
    pub decisions_last_30d: u64,
    pub per_day: Vec<DayCount>,
}

/// Outcomes on one day (UTC) of the Home page's chart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayCount {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub approved: u64,
    pub rejected: u64,
    pub expired: u64,
    pub canceled: u64,
}
