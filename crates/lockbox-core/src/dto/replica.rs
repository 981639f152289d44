//! A connected desktop's audit replica: its tenants' chains pulled page by
//! page from the team server, as stored (the hashed fields exactly), with
//! the rows of the requests they name and the server's signed checkpoint.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One audit entry as stored: every hashed field exactly (times in
/// milliseconds, `details` as its canonical JSON text), so the receiver
/// recomputes the hash. The store position (`seq`) is the sender's own and
/// is not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaEntryDto {
    #[ts(type = "number")]
    pub tenant_seq: i64,
    #[ts(type = "number")]
    pub at_ms: i64,
    #[ts(type = "number")]
    pub recorded_ms: i64,
    pub actor_kind: String,
    pub actor: String,
    pub operation: String,
    pub request_id: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
    /// Written after an entry with a later effective time (not hashed).
    pub late: bool,
}

/// Rows of one table as stored: the columns by name, each value a number,
/// a text or null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaRowsDto {
    pub table: String,
    pub columns: Vec<String>,
    #[ts(type = "Array<Array<number | string | null>>")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<Object>>))]
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// A signed checkpoint as stored: its body and signature (see `checkpoint.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckpointDto {
    pub body: String,
    pub signature: String,
}

/// A page of a tenant's chain after position `after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaPageDto {
    pub tenant: String,
    /// The chain's length when this page was read.
    #[ts(type = "number")]
    pub head: i64,
    /// Entries `after + 1 ..`, oldest first, at most the page's limit.
    pub entries: Vec<ReplicaEntryDto>,
    /// Whether `entries` reach `head`. Only then are the request rows and
    /// `checkpoint` filled, read in the same transaction as the entries.
    pub complete: bool,
    /// The tenant's row (table `tenants`); on the page that reaches the
    /// head also every request named by an entry after `since`, with its
    /// decisions and receipts (`requests`, `decisions`, `receipts`).
    pub rows: Vec<ReplicaRowsDto>,
    /// The tenant's newest signed checkpoint (signed for this page when the
    /// chain had grown since the last one).
    pub checkpoint: Option<CheckpointDto>,
    /// The server's receipt key (base64 Ed25519), which signs checkpoints.
    pub public_key: String,
}
