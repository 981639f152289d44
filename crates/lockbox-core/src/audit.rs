//! The audit log's hash chains: a canonical encoding of each entry, SHA-256
//! over it and the previous entry's hash, and a verifier that names the first
//! bad entry. Storage lives in [`crate::store`]; this module is pure.
//!
//! **One chain per tenant** (format `lockbox-audit-v2`): an entry's
//! `prev_hash` is the hash of the previous entry *of its tenant*, and its
//! `tenant_seq` counts that tenant's entries from 1, so a tenant's entries
//! verify on their own (an export, a tenant moved to another database).
//! `seq` is the entry's position in the store (all tenants), used for paging;
//! it is not hashed. The byte encoding is specified in `docs/audit-format.md`.
//!
//! Stores written before per-tenant chains (`lockbox-audit-v1`: one global
//! chain over `seq`) were re-chained by migration 7, which kept each entry's
//! v1 hash beside it and appended to every tenant's chain an
//! `audit_rechained` entry recording the old chain's length and head; the v1
//! chain stays checkable ([`V1Verifier`]).

use crate::clock::Time;
use crate::model::ActorKind;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The format tag that starts every v2 encoding.
pub const FORMAT_V2: &str = "lockbox-audit-v2";
/// The format tag of the global chain of stores before migration 7.
pub const FORMAT_V1: &str = "lockbox-audit-v1";

/// One stored audit entry. `details` is canonical JSON text (sorted keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the store (all tenants); not hashed.
    pub seq: i64,
    /// Position in its tenant's chain, from 1.
    pub tenant_seq: i64,
    pub at: Time,
    pub recorded_at: Time,
    pub tenant: String,
    pub actor_kind: ActorKind,
    pub actor: String,
    pub operation: String,
    pub request_id: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields that are hashed, borrowed.
pub struct HashInput<'a> {
    pub tenant_seq: i64,
    pub at_ms: i64,
    pub recorded_ms: i64,
    pub tenant: &'a str,
    pub actor_kind: &'a str,
    pub actor: &'a str,
    pub operation: &'a str,
    pub request_id: Option<&'a str>,
    pub details: &'a str,
    pub prev_hash: &'a str,
}

fn field(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// SHA-256 over a length-prefixed encoding of every field, as lowercase hex.
/// Length prefixes make the encoding unambiguous: no two different entries
/// share an encoding.
pub fn entry_hash(e: &HashInput<'_>) -> String {
    hex::encode(digest(
        &mut Vec::new(),
        &encoded(FORMAT_V2, e.tenant_seq, e),
    ))
}

/// The bytes [`entry_hash`] hashes (`docs/audit-format.md` shows them for
/// an example entry).
pub fn entry_encoding(e: &HashInput<'_>) -> Vec<u8> {
    let mut buf = Vec::new();
    encode(&mut buf, &encoded(FORMAT_V2, e.tenant_seq, e));
    buf
}

/// The v1 hash of an entry at store position `seq` (before migration 7: one
/// chain over all tenants, `prev_hash` = the previous entry's v1 hash).
pub fn entry_hash_v1(seq: i64, e: &HashInput<'_>) -> String {
    hex::encode(digest(&mut Vec::new(), &encoded(FORMAT_V1, seq, e)))
}

fn encoded<'a>(format: &'static str, position: i64, e: &HashInput<'a>) -> Encoded<'a> {
    Encoded {
        format,
        position,
        at_ms: e.at_ms,
        recorded_ms: e.recorded_ms,
        text: [
            e.tenant.as_bytes(),
            e.actor_kind.as_bytes(),
            e.actor.as_bytes(),
            e.operation.as_bytes(),
        ],
        request_id: e.request_id.map(str::as_bytes),
        details: e.details.as_bytes(),
        prev_hash: e.prev_hash.as_bytes(),
    }
}

/// The hashed fields as bytes: tenant, actor kind, actor, operation in
/// `text`; `position` is the tenant sequence number (v2) or the store
/// position (v1).
struct Encoded<'a> {
    format: &'static str,
    position: i64,
    at_ms: i64,
    recorded_ms: i64,
    text: [&'a [u8]; 4],
    request_id: Option<&'a [u8]>,
    details: &'a [u8],
    prev_hash: &'a [u8],
}

/// The encoding is built in one buffer (reused across entries by the
/// verifier) and hashed in one call (two dozen small `update` calls cost as
/// much as the hashing itself).
fn digest(buf: &mut Vec<u8>, e: &Encoded<'_>) -> [u8; 32] {
    encode(buf, e);
    Sha256::digest(&buf[..]).into()
}

fn encode(buf: &mut Vec<u8>, e: &Encoded<'_>) {
    buf.clear();
    let len = 12 * 8
        + 16
        + 24
        + 1
        + e.text.iter().map(|t| t.len()).sum::<usize>()
        + e.request_id.map_or(0, <[u8]>::len)
        + e.details.len()
        + e.prev_hash.len();
    buf.reserve(len);
    field(buf, e.format.as_bytes());
    field(buf, &e.position.to_be_bytes());
    field(buf, &e.at_ms.to_be_bytes());
    field(buf, &e.recorded_ms.to_be_bytes());
    for t in e.text {
        field(buf, t);
    }
    match e.request_id {
        Some(r) => {
            buf.push(1);
            field(buf, r);
        }
        None => buf.push(0),
    }
    field(buf, e.details);
    field(buf, e.prev_hash);
}

/// Does the stored hex `hash` spell `digest`? (No allocation: verification is hot.)
fn hash_matches(digest: &[u8; 32], hash: &[u8]) -> bool {
    let mut hex = [0u8; 64];
    hex::encode_to_slice(digest, &mut hex).is_ok() && hex.as_slice() == hash
}

/// One tenant's chain: how many entries it has and its head hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub entries: i64,
    pub hash: String,
}

/// Result of verifying every chain, and the stored requests against them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOutcome {
    pub entries: u64,
    /// Each tenant's chain as verified (empty when an entry is bad).
    pub heads: BTreeMap<String, ChainHead>,
    /// The first entry that does not verify (its store position `seq`), and why.
    pub first_bad: Option<(i64, String)>,
    /// Requests checked against their audit entries (see [`crate::consistency`]).
    pub requests: u64,
    /// The first request whose stored state disagrees with its audit entries.
    pub first_disagreement: Option<crate::consistency::Disagreement>,
}

impl VerifyOutcome {
    /// The chains are intact and every stored request agrees with them.
    pub fn ok(&self) -> bool {
        self.first_bad.is_none() && self.first_disagreement.is_none()
    }

    /// The head of `tenant`'s chain (`None`: no entries, or a broken chain).
    pub fn head_of(&self, tenant: &str) -> Option<&ChainHead> {
        self.heads.get(tenant).filter(|_| self.first_bad.is_none())
    }
}

/// A raw row as read for verification (text as stored bytes: no parsing,
/// no UTF-8 check — the hash is over the bytes).
pub struct RawEntry<'a> {
    pub seq: i64,
    pub tenant_seq: i64,
    pub at_ms: i64,
    pub recorded_ms: i64,
    pub tenant: &'a [u8],
    pub actor_kind: &'a [u8],
    pub actor: &'a [u8],
    pub operation: &'a [u8],
    pub request_id: Option<&'a [u8]>,
    pub details: &'a [u8],
    pub prev_hash: &'a [u8],
    pub hash: &'a [u8],
}

/// Where a tenant's chain stands in a verifier.
#[derive(Debug, Clone)]
struct Tail {
    next: i64,
    prev: Vec<u8>,
}

/// The first entry of a tenant that a verifier met without knowing the
/// chain before it (a verifier over a range of the store, or over an export
/// that starts after the tenant's first entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstSight {
    pub seq: i64,
    pub tenant_seq: i64,
    pub prev_hash: String,
}

/// Streaming verifier of the per-tenant chains: feed entries in stored order.
#[derive(Debug)]
pub struct Verifier {
    /// The store position the next entry must have (`None`: any increasing
    /// positions, as in a filtered export).
    expected_seq: Option<i64>,
    last_seq: i64,
    tails: HashMap<Vec<u8>, Tail>,
    /// Chains met mid-way are taken as they come (see [`FirstSight`]);
    /// otherwise every chain must start at tenant_seq 1 after [`GENESIS`].
    open_start: bool,
    first_sights: HashMap<Vec<u8>, FirstSight>,
    entries: u64,
    first_bad: Option<(i64, String)>,
    /// Scratch space for each entry's encoding.
    buf: Vec<u8>,
}

impl Default for Verifier {
    /// A verifier of a whole store: positions 1, 2, 3...; chains from genesis.
    fn default() -> Self {
        Verifier::at(Some(1), false)
    }
}

impl Verifier {
    fn at(expected_seq: Option<i64>, open_start: bool) -> Verifier {
        Verifier {
            expected_seq,
            last_seq: i64::MIN,
            tails: HashMap::new(),
            open_start,
            first_sights: HashMap::new(),
            entries: 0,
            first_bad: None,
            buf: Vec::new(),
        }
    }

    /// A verifier of a range of the store that starts at position
    /// `expected_seq`: each tenant's chain is taken up where the range first
    /// meets it ([`Verifier::first_sights`]); the caller checks those links
    /// against the ranges before.
    pub fn resume(expected_seq: i64) -> Verifier {
        Verifier::at(Some(expected_seq), true)
    }

    /// A verifier of exported entries: positions need only increase, and
    /// with `from_genesis` every tenant's chain must start at its first entry
    /// (a complete export); otherwise where the file first meets it.
    pub fn for_export(from_genesis: bool) -> Verifier {
        Verifier::at(None, !from_genesis)
    }

    /// Returns false once a bad entry was found (the caller may stop).
    pub fn feed(&mut self, e: &RawEntry<'_>) -> bool {
        if self.first_bad.is_some() {
            return false;
        }
        self.entries += 1;
        let problem = self.check(e);
        match problem {
            Some(p) => {
                // Name the store position where the chains first break.
                let at = self.expected_seq.map_or(e.seq, |x| x.min(e.seq));
                self.first_bad = Some((at, p));
                false
            }
            None => {
                if let Some(x) = &mut self.expected_seq {
                    *x += 1;
                }
                self.last_seq = e.seq;
                let tail = self.tails.get_mut(e.tenant).expect("checked");
                tail.next += 1;
                tail.prev.clear();
                tail.prev.extend_from_slice(e.hash);
                true
            }
        }
    }

    fn check(&mut self, e: &RawEntry<'_>) -> Option<String> {
        let tenant = String::from_utf8_lossy(e.tenant);
        match self.expected_seq {
            Some(x) if e.seq != x => {
                return Some(format!(
                "store position {} found where {x} was expected (an entry was deleted or inserted)",
                e.seq
            ))
            }
            None if e.seq <= self.last_seq => {
                return Some(format!(
                    "store position {} does not come after {} (entries were reordered)",
                    e.seq, self.last_seq
                ))
            }
            _ => {}
        }
        if !self.tails.contains_key(e.tenant) {
            let tail = if self.open_start {
                self.first_sights.insert(
                    e.tenant.to_vec(),
                    FirstSight {
                        seq: e.seq,
                        tenant_seq: e.tenant_seq,
                        prev_hash: String::from_utf8_lossy(e.prev_hash).into_owned(),
                    },
                );
                Tail {
                    next: e.tenant_seq,
                    prev: e.prev_hash.to_vec(),
                }
            } else {
                Tail {
                    next: 1,
                    prev: GENESIS.as_bytes().to_vec(),
                }
            };
            self.tails.insert(e.tenant.to_vec(), tail);
        }
        let tail = &self.tails[e.tenant];
        if e.tenant_seq != tail.next {
            return Some(format!(
                "tenant '{tenant}' chain position {} found where {} was expected (an entry of that tenant was deleted or inserted)",
                e.tenant_seq, tail.next
            ));
        }
        if e.prev_hash != tail.prev.as_slice() {
            return Some(format!(
                "its prev_hash does not match the hash of tenant '{tenant}''s previous entry (entries were removed, reordered or forged)"
            ));
        }
        let computed = digest(
            &mut self.buf,
            &Encoded {
                format: FORMAT_V2,
                position: e.tenant_seq,
                at_ms: e.at_ms,
                recorded_ms: e.recorded_ms,
                text: [e.tenant, e.actor_kind, e.actor, e.operation],
                request_id: e.request_id,
                details: e.details,
                prev_hash: e.prev_hash,
            },
        );
        (!hash_matches(&computed, e.hash))
            .then(|| "its content does not match its hash (the entry was edited)".to_string())
    }

    /// The store position the next entry must have.
    pub fn next_seq(&self) -> Option<i64> {
        self.expected_seq
    }

    /// Where each chain taken up mid-way was first met (see [`Verifier::resume`]).
    pub fn first_sights(&self) -> impl Iterator<Item = (String, &FirstSight)> {
        self.first_sights
            .iter()
            .map(|(t, s)| (String::from_utf8_lossy(t).into_owned(), s))
    }

    /// The outcome; heads only of chains that verified whole (none once an
    /// entry is bad).
    pub fn finish(self) -> VerifyOutcome {
        let bad = self.first_bad.is_some();
        let heads = self
            .tails
            .into_iter()
            // Only chains with a verified entry have a head.
            .filter(|_| !bad)
            .filter(|(t, tail)| tail.next > self.first_sights.get(t).map_or(1, |s| s.tenant_seq))
            .map(|(t, tail)| {
                (
                    String::from_utf8_lossy(&t).into_owned(),
                    ChainHead {
                        entries: tail.next - 1,
                        hash: String::from_utf8_lossy(&tail.prev).into_owned(),
                    },
                )
            })
            .collect();
        VerifyOutcome {
            entries: self.entries,
            heads,
            first_bad: self.first_bad,
            requests: 0,
            first_disagreement: None,
        }
    }
}

/// The v1 chain of a store from before migration 7, recomputed from the
/// entries' content and their store positions: migration 7 kept each
/// entry's v1 hash (`v1_hash`) and recorded the old chain's head in every
/// tenant's `audit_rechained` entry.
#[derive(Debug)]
pub struct V1Verifier {
    expected_seq: i64,
    prev: String,
    first_bad: Option<(i64, String)>,
}

impl Default for V1Verifier {
    fn default() -> Self {
        V1Verifier {
            expected_seq: 1,
            prev: GENESIS.to_string(),
            first_bad: None,
        }
    }
}

impl V1Verifier {
    /// Feed the next entry of the old chain (store order) with its kept v1 hash.
    pub fn feed(&mut self, seq: i64, e: &HashInput<'_>, v1_hash: &str) -> bool {
        if self.first_bad.is_some() {
            return false;
        }
        let problem = if seq != self.expected_seq {
            Some(format!(
                "store position {seq} found where {} was expected in the chain before re-chaining",
                self.expected_seq
            ))
        } else if entry_hash_v1(
            seq,
            &HashInput {
                prev_hash: &self.prev,
                ..*e
            },
        ) != v1_hash
        {
            Some("its content does not match its hash in the chain before re-chaining (the entry was edited)".into())
        } else {
            None
        };
        if let Some(p) = problem {
            self.first_bad = Some((seq.min(self.expected_seq), p));
            return false;
        }
        self.expected_seq += 1;
        self.prev = v1_hash.to_string();
        true
    }

    /// `(entries, head hash)` of the old chain, or the first bad entry.
    pub fn finish(self) -> std::result::Result<(i64, String), (i64, String)> {
        match self.first_bad {
            Some(b) => Err(b),
            None => Ok((self.expected_seq - 1, self.prev)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(seq: i64, details: &'a str, prev: &'a str) -> HashInput<'a> {
        HashInput {
            tenant_seq: seq,
            at_ms: 1,
            recorded_ms: 2,
            tenant: "default",
            actor_kind: "system",
            actor: "lockbox",
            operation: "tenant_added",
            request_id: None,
            details,
            prev_hash: prev,
        }
    }

    #[test]
    fn hash_depends_on_every_field_and_is_unambiguous() {
        let base = entry_hash(&input(1, "{}", GENESIS));
        assert_eq!(base.len(), 64);
        assert_ne!(base, entry_hash(&input(2, "{}", GENESIS)));
        assert_ne!(base, entry_hash(&input(1, "{ }", GENESIS)));
        let mut i = input(1, "{}", GENESIS);
        i.request_id = Some("");
        assert_ne!(base, entry_hash(&i), "None and Some(\"\") must differ");
        let mut a = input(1, "{}", GENESIS);
        a.tenant = "ab";
        a.actor_kind = "c";
        let mut b = input(1, "{}", GENESIS);
        b.tenant = "a";
        b.actor_kind = "bc";
        assert_ne!(entry_hash(&a), entry_hash(&b), "field boundaries matter");
    }
}
