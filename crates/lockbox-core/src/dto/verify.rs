//! `audit verify` reports: the store's chains and requests, checkpoints, export files.

use crate::audit::VerifyOutcome;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
