//! The listings the engine's reads take (re-exported from [`crate::store`],
//! which turns them into SQL).

use super::State;
use crate::clock::Time;

/// A filtered audit listing of one tenant, newest first, keyset-paged by `before_seq`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Effective time at or after.
    pub since: Option<Time>,
    /// Effective time before.
    pub until: Option<Time>,
    pub request_id: Option<String>,
    pub actor: Option<String>,
    pub operation: Option<String>,
    /// Substring of actor, operation, request id or details (case-insensitive).
    pub text: Option<String>,
    pub before_seq: Option<i64>,
    pub limit: Option<u32>,
}

/// How a request listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestSort {
    #[default]
    Newest,
    Oldest,
    /// Soonest deadline (expiry or end of access) first; decided requests last.
    ExpiresSoonest,
}

/// A filtered, keyset-paged request listing.
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    pub states: Vec<State>,
    /// Matches case number, requester, workload, resource or id (substring, case-insensitive).
    pub search: Option<String>,
    pub created_after: Option<Time>,
    pub sort: RequestSort,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
    pub limit: u32,
}
