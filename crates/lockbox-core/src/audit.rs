//! The audit log's hash chain: a canonical encoding of each entry, SHA-256
//! over it and the previous entry's hash, and a verifier that names the first
//! bad entry. Storage lives in [`crate::store`]; this module is pure.

use crate::clock::Time;
use crate::model::ActorKind;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored audit entry. `details` is canonical JSON text (sorted keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
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
    pub seq: i64,
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
    hex::encode(entry_digest(e))
}

/// [`entry_hash`] as raw bytes.
fn entry_digest(e: &HashInput<'_>) -> [u8; 32] {
    digest(&Encoded {
        seq: e.seq,
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
    })
}

/// The hashed fields as bytes: tenant, actor kind, actor, operation in `text`.
struct Encoded<'a> {
    seq: i64,
    at_ms: i64,
    recorded_ms: i64,
    text: [&'a [u8]; 4],
    request_id: Option<&'a [u8]>,
    details: &'a [u8],
    prev_hash: &'a [u8],
}

/// The encoding is built in one buffer and hashed in one call (two dozen
/// small `update` calls cost as much as the hashing itself).
fn digest(e: &Encoded<'_>) -> [u8; 32] {
    digest_in(&mut Vec::new(), e)
}

/// [`digest`], building the encoding in `buf` (reused across entries by the verifier).
fn digest_in(buf: &mut Vec<u8>, e: &Encoded<'_>) -> [u8; 32] {
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
    field(buf, b"lockbox-audit-v1");
    field(buf, &e.seq.to_be_bytes());
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
    Sha256::digest(&buf[..]).into()
}

/// Does the stored hex `hash` spell `digest`? (No allocation: verification is hot.)
fn hash_matches(digest: &[u8; 32], hash: &[u8]) -> bool {
    let mut hex = [0u8; 64];
    hex::encode_to_slice(digest, &mut hex).is_ok() && hex.as_slice() == hash
}

/// Result of verifying the whole chain, and the stored requests against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOutcome {
    pub entries: u64,
    pub head_hash: Option<String>,
    /// The first entry that does not verify, and why.
    pub first_bad: Option<(i64, String)>,
    /// Requests checked against their audit entries (see [`crate::consistency`]).
    pub requests: u64,
    /// The first request whose stored state disagrees with its audit entries.
    pub first_disagreement: Option<crate::consistency::Disagreement>,
}

impl VerifyOutcome {
    /// The chain is intact and every stored request agrees with it.
    pub fn ok(&self) -> bool {
        self.first_bad.is_none() && self.first_disagreement.is_none()
    }
}

/// Streaming verifier: feed entries in stored order.
#[derive(Debug)]
pub struct Verifier {
    expected_seq: i64,
    prev_hash: Vec<u8>,
    entries: u64,
    first_bad: Option<(i64, String)>,
    /// Scratch space for each entry's encoding.
    buf: Vec<u8>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            expected_seq: 1,
            prev_hash: GENESIS.as_bytes().to_vec(),
            entries: 0,
            first_bad: None,
            buf: Vec::new(),
        }
    }
}

/// A raw row as read for verification (text as stored bytes: no parsing,
/// no UTF-8 check — the hash is over the bytes).
pub struct RawEntry<'a> {
    pub seq: i64,
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

impl Verifier {
    /// Returns false once a bad entry was found (the caller may stop).
    pub fn feed(&mut self, e: &RawEntry<'_>) -> bool {
        if self.first_bad.is_some() {
            return false;
        }
        self.entries += 1;
        let problem = if e.seq != self.expected_seq {
            Some(format!(
                "sequence number {} found where {} was expected (an entry was deleted or inserted)",
                e.seq, self.expected_seq
            ))
        } else if e.prev_hash != self.prev_hash.as_slice() {
            Some("its prev_hash does not match the previous entry's hash (entries were removed, reordered or forged)".to_string())
        } else {
            let computed = digest_in(
                &mut self.buf,
                &Encoded {
                    seq: e.seq,
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
        };
        match problem {
            Some(p) => {
                // Name the sequence position where the chain first breaks.
                self.first_bad = Some((self.expected_seq.min(e.seq), p));
                false
            }
            None => {
                self.expected_seq += 1;
                self.prev_hash.clear();
                self.prev_hash.extend_from_slice(e.hash);
                true
            }
        }
    }

    /// A verifier that continues a chain at `expected_seq`, after an entry
    /// whose hash is `prev_hash` (to verify a chain in ranges, in parallel).
    pub fn resume(expected_seq: i64, prev_hash: &str) -> Verifier {
        Verifier {
            expected_seq,
            prev_hash: prev_hash.as_bytes().to_vec(),
            entries: 0,
            first_bad: None,
            buf: Vec::new(),
        }
    }

    /// The sequence number the next entry must have.
    pub fn next_seq(&self) -> i64 {
        self.expected_seq
    }

    pub fn finish(self) -> VerifyOutcome {
        let head = (self.entries > 0 && self.first_bad.is_none())
            .then(|| String::from_utf8_lossy(&self.prev_hash).into_owned());
        VerifyOutcome {
            entries: self.entries,
            head_hash: head,
            first_bad: self.first_bad,
            requests: 0,
            first_disagreement: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(seq: i64, details: &'a str, prev: &'a str) -> HashInput<'a> {
        HashInput {
            seq,
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
