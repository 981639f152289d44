//! Signed decision receipts. When a request is decided (approved,
//! auto-approved, rejected, revoked) the engine signs a receipt — request,
//! tenant, decision, deciders, granted window and the audit chain's head at
//! that point — with the store's Ed25519 key, in the same transaction. An
//! expiry writes none: its receipt is derived when asked for from what the
//! expiry fixed for good (the terminal request and its `expired` entry, which
//! is the chain's head right after it) — Ed25519 is deterministic, so it is
//! the same bytes every time, and a sweep of 100 000 expiries writes no
//! receipts. A provider's access broker verifies them offline with the public key.
//!
//! Receipt file format (any changed, added or removed byte fails):
//! ```text
//! LOCKBOX-RECEIPT-V1
//! {canonical JSON body on one line}
//! {base64 Ed25519 signature over "LOCKBOX-RECEIPT-V1\n" + body}
//! ```

use crate::clock::{rfc3339, Time};
use crate::model::Request;
use crate::{Error, ErrorCode, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const HEADER: &str = "LOCKBOX-RECEIPT-V1";

/// The store's signing key. A store opened read-only may know only its
/// public key (the key file is not beside the copy: it is recorded in the
/// audit log), or no key at all; such a signer refuses to sign.
pub struct Signer {
    key: Option<SigningKey>,
    public: Option<VerifyingKey>,
    /// [`key_id_of`] the public key, computed once (it is in every receipt).
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.key_id())
    }
}

fn random32() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(b)
}

/// Where the private key of the store at `db` lives: beside it, mode 0600.
/// The store records the id of the key it signs with (and the audit log every
/// creation and rotation), so a missing or swapped file is never silently replaced.
pub fn key_path_for(db: &Path) -> PathBuf {
    db.with_file_name("lockbox-receipts.key")
}

/// Where the receipt key of the store at `loc` lives when none is named: a
/// file store's beside it ([`key_path_for`]); a PostgreSQL store's in the
/// user's data folder (a team server names one shared by its instances:
/// `lockbox serve --receipt-key`).
pub fn default_key_path(loc: &crate::store::StoreLocation) -> Result<PathBuf> {
    match loc {
        crate::store::StoreLocation::File(p) => Ok(key_path_for(p)),
        crate::store::StoreLocation::Postgres(_) => {
            Ok(key_path_for(&crate::engine::default_db_path()?))
        }
    }
}

/// Where a copied store's receipt key is (see [`carry_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopiedKey {
    /// Copied beside the new file store.
    Copied(PathBuf),
    /// Beside the new file store already (left as it was), or none to copy.
    Beside(PathBuf),
    /// A PostgreSQL copy: its instances must be given this key file.
    NameIt(PathBuf),
}

/// After `lockbox store copy`: give the copy the key its log records. A file
/// destination gets the source's key (`key`, else the source's default)
/// beside it, mode 0600, unless one is there; a PostgreSQL destination is
/// opened with the key named (nothing to write).
pub fn carry_key(
    from: &crate::store::StoreLocation,
    to: &crate::store::StoreLocation,
    key: Option<&Path>,
) -> Result<CopiedKey> {
    let src = match key {
        Some(k) => k.to_path_buf(),
        None => default_key_path(from)?,
    };
    let dst = match to {
        crate::store::StoreLocation::Postgres(_) => return Ok(CopiedKey::NameIt(src)),
        crate::store::StoreLocation::File(p) => key_path_for(p),
    };
    if !src.is_file() || dst.exists() {
        return Ok(CopiedKey::Beside(dst));
    }
    let bytes = std::fs::read(&src).map_err(|e| {
        Error::new(
            ErrorCode::StoreUnavailable,
            format!("cannot read the receipt key {}: {e}", src.display()),
        )
    })?;
    let io = |e: std::io::Error| {
        Error::new(
            ErrorCode::StoreUnavailable,
            format!("cannot write the receipt key {}: {e}", dst.display()),
        )
    };
    let mut f = crate::files::AtomicFile::new(&dst, 0o600).map_err(io)?;
    std::io::Write::write_all(f.file(), &bytes).map_err(io)?;
    f.commit_new().map_err(io)?;
    Ok(CopiedKey::Copied(dst))
}

impl Signer {
    fn new(key: SigningKey) -> Signer {
        let public = key.verifying_key();
        Signer {
            key_id: key_id_of(&public),
            key: Some(key),
            public: Some(public),
        }
    }

    /// A signer that knows only the public key (base64): it verifies, names
    /// the key, and refuses to sign.
    pub fn public_only(public_key: &str) -> Result<Signer> {
        let public = parse_public_key(public_key)?;
        Ok(Signer {
            key_id: key_id_of(&public),
            key: None,
            public: Some(public),
        })
    }

    /// A signer without any key (a read-only store that never recorded one):
    /// its public key and key id are empty, and it refuses to sign.
    pub fn none() -> Signer {
        Signer {
            key: None,
            public: None,
            key_id: String::new(),
        }
    }

    /// Does this signer hold the private key?
    pub fn can_sign(&self) -> bool {
        self.key.is_some()
    }

    /// A key for this process only (in-memory stores, tests).
    pub fn ephemeral() -> Result<Signer> {
        Ok(Signer::new(SigningKey::from_bytes(&random32()?)))
    }

    /// Load the key at `path`; `None` if there is no such file. A key file
    /// that group or others may read or write is refused: anyone who can read
    /// it can sign receipts in this store's name.
    pub fn load(path: &Path) -> Result<Option<Signer>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(key_error(path, e)),
        };
        check_private(path)?;
        Self::from_text(&text, path).map(Some)
    }

    /// Create a new key at `path` (mode 0600). If another process created it
    /// first, theirs is returned with `false`.
    pub fn create(path: &Path) -> Result<(Signer, bool)> {
        let key = SigningKey::from_bytes(&random32()?);
        match write_key(path, &key, true) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created the receipt signing key");
                Ok((Signer::new(key), true))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let theirs = Self::load(path)?.ok_or_else(|| {
                    key_error(
                        path,
                        std::io::Error::other("it vanished while being created"),
                    )
                })?;
                Ok((theirs, false))
            }
            Err(e) => Err(key_error(path, e)),
        }
    }

    /// Replace the key at `path` (or create it) with a new one: written to a
    /// temporary file (mode 0600) and renamed over, so the file is never half-written.
    pub fn replace(path: &Path) -> Result<Signer> {
        let key = SigningKey::from_bytes(&random32()?);
        write_key(path, &key, false).map_err(|e| key_error(path, e))?;
        tracing::info!(path = %path.display(), "replaced the receipt signing key");
        Ok(Signer::new(key))
    }

    fn from_text(text: &str, path: &Path) -> Result<Signer> {
        let bytes: [u8; 32] = B64
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("receipt key {} is damaged", path.display()),
                )
            })?;
        Ok(Signer::new(SigningKey::from_bytes(&bytes)))
    }

    /// The public key (base64); empty if none is known.
    pub fn public_key(&self) -> String {
        self.public
            .map(|p| B64.encode(p.to_bytes()))
            .unwrap_or_default()
    }

    /// Short id of the public key: first 16 hex digits of its SHA-256
    /// (empty if no key is known).
    pub fn key_id(&self) -> String {
        self.key_id.clone()
    }

    /// Sign `body` (canonical JSON on one line) and return the receipt file
    /// text and the signature. Refused by a signer without the private key.
    pub fn sign(&self, body: &str) -> Result<(String, String)> {
        let sig = self.sign_under(HEADER, body)?;
        Ok((receipt_text(body, &sig), sig))
    }

    /// The base64 signature over `header` + "\n" + `body` (each kind of
    /// signed document has its own header, so one can never pass for another).
    pub fn sign_under(&self, header: &str, body: &str) -> Result<String> {
        let Some(key) = &self.key else {
            return Err(Error::new(
                ErrorCode::ReadOnly,
                "no receipt signing key is at hand (this store is open read-only without its \
                 key file): nothing can be signed",
            ));
        };
        Ok(B64.encode(key.sign(format!("{header}\n{body}").as_bytes()).to_bytes()))
    }
}

fn key_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::StoreUnavailable,
        format!("receipt key {}: {e}", path.display()),
    )
}

/// Write `key` to `path`, mode 0600, whole (a temporary file synced and
/// renamed over it). `create_new`: fail with `AlreadyExists` if there is a
/// file at `path`, and leave it as it is.
fn write_key(path: &Path, key: &SigningKey, create_new: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = crate::files::AtomicFile::new(path, crate::files::MODE_PRIVATE)?;
    f.file()
        .write_all(format!("{}\n", B64.encode(key.to_bytes())).as_bytes())?;
    if create_new {
        f.commit_new()
    } else {
        f.commit()
    }
}

/// Refuse a key file that group or others may read or write.
fn check_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| key_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::new(
                ErrorCode::StoreUnavailable,
                format!(
                    "receipt key {} has mode {:o}: group or others may read or write it, so \
                     anyone who could may sign receipts in this store's name. Make it private \
                     (chmod 600 {}), and if others may have read it, make a new key with \
                     `lockbox receipt rotate-key`.",
                    path.display(),
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn key_id_of(k: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(k.to_bytes())[..8])
}

fn signed_bytes(body: &str) -> String {
    format!("{HEADER}\n{body}")
}

pub fn receipt_text(body: &str, signature: &str) -> String {
    format!("{HEADER}\n{body}\n{signature}\n")
}

/// The body of the receipt of `req`'s decision, `req` as it stands right
/// after it: `(decision, canonical JSON)`. `head` is the audit chain's head
/// after the decision's entries, `issued_at` when it was signed (the
/// decision's time; for an expiry, when the sweep wrote the `expired` entry).
/// The engine signs it; `audit verify` rebuilds it from the audit log to
/// check stored receipts (for every receipt of a store: hence typed fields in
/// sorted order, the bytes `serde_json` writes for the same object as a map).
pub fn body(
    req: &Request,
    auto: bool,
    (head_seq, head_hash): (i64, Option<&str>),
    issued_at: Time,
    key_id: &str,
) -> (&'static str, String) {
    #[derive(Serialize)]
    struct Body<'a> {
        audit_head: Head<'a>,
        case: &'a str,
        closed_at: Option<String>,
        deciders: Vec<Decider<'a>>,
        decision: &'a str,
        granted_window: Option<Window>,
        issued_at: String,
        key_id: &'a str,
        request_id: &'a str,
        requester: &'a str,
        resource: &'a str,
        tenant: &'a str,
        v: u32,
        workload: &'a str,
    }
    #[derive(Serialize)]
    struct Head<'a> {
        hash: Option<&'a str>,
        seq: i64,
    }
    #[derive(Serialize)]
    struct Decider<'a> {
        actor: &'a str,
        at: String,
        decision: &'a str,
        level: &'a str,
    }
    #[derive(Serialize)]
    struct Window {
        from: String,
        to: String,
    }
    let decision = if auto {
        "auto_approved"
    } else {
        req.state.as_str()
    };
    let body = Body {
        audit_head: Head {
            hash: head_hash,
            seq: head_seq,
        },
        case: &req.case,
        closed_at: req.closed_at.map(rfc3339),
        deciders: req
            .decisions
            .iter()
            .map(|d| Decider {
                actor: &d.actor,
                at: rfc3339(d.at),
                decision: d.kind.as_str(),
                level: d.level.as_str(),
            })
            .collect(),
        decision,
        granted_window: match (req.approved_at, req.access_ends_at) {
            (Some(from), Some(to)) => Some(Window {
                from: rfc3339(from),
                to: rfc3339(to),
            }),
            _ => None,
        },
        issued_at: rfc3339(issued_at),
        key_id,
        request_id: &req.id,
        requester: &req.requester,
        resource: &req.resource,
        tenant: &req.tenant,
        v: 1,
        workload: &req.workload,
    };
    // Serializing borrowed strings and numbers cannot fail.
    (decision, serde_json::to_string(&body).unwrap_or_default())
}

/// Does `signature` (base64) sign `header` + "\n" + `body` with `key`?
pub fn signature_ok(header: &str, body: &str, signature: &str, key: &VerifyingKey) -> bool {
    let Some(sig) = B64
        .decode(signature)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return false;
    };
    key.verify(
        format!("{header}\n{body}").as_bytes(),
        &Signature::from_bytes(&sig),
    )
    .is_ok()
}

/// Short id of a public key: first 16 hex digits of its SHA-256.
pub fn key_id_of_public(k: &VerifyingKey) -> String {
    key_id_of(k)
}

/// Parse a public key given as base64 text (or the content of a key file).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey> {
    let bytes: [u8; 32] = B64
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            Error::input("the public key is not a base64 Ed25519 key (44 characters)")
        })?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|e| Error::input(format!("the public key is not valid: {e}")))
}

/// Verify a receipt file's exact text; returns its body on success.
pub fn verify(text: &str, public_key: &VerifyingKey) -> Result<serde_json::Value> {
    let bad = |why: &str| {
        Error::new(
            ErrorCode::AccessDenied,
            format!("receipt does NOT verify: {why}"),
        )
    };
    let body_and_sig = text
        .strip_prefix(HEADER)
        .and_then(|t| t.strip_prefix('\n'))
        .ok_or_else(|| bad("wrong header"))?;
    let (body, rest) = body_and_sig
        .split_once('\n')
        .ok_or_else(|| bad("truncated"))?;
    let sig_text = rest.strip_suffix('\n').ok_or_else(|| bad("truncated"))?;
    if sig_text.contains('\n') || body.is_empty() {
        return Err(bad("unexpected extra lines"));
    }
    let sig: [u8; 64] = B64
        .decode(sig_text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("the signature is malformed"))?;
    public_key
        .verify(signed_bytes(body).as_bytes(), &Signature::from_bytes(&sig))
        .map_err(|_| bad("the signature does not match the content and key"))?;
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|_| bad("the body is not JSON"))?;
    if value.get("key_id").and_then(|v| v.as_str()) != Some(key_id_of(public_key).as_str()) {
        return Err(bad("it names a different key"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_and_every_changed_byte_fails() {
        let s = Signer::ephemeral().unwrap();
        let body = format!(
            r#"{{"decision":"approved","key_id":"{}","request_id":"r1"}}"#,
            s.key_id()
        );
        let (text, _) = s.sign(&body).unwrap();
        let pk = parse_public_key(&s.public_key()).unwrap();
        assert_eq!(verify(&text, &pk).unwrap()["decision"], "approved");
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] ^= 0x01;
            if let Ok(t) = String::from_utf8(b) {
                assert!(verify(&t, &pk).is_err(), "flipping byte {i} still verified");
            }
        }
        assert!(verify(&format!("{text}x"), &pk).is_err(), "appended byte");
        let other = Signer::ephemeral().unwrap();
        assert!(
            verify(&text, &parse_public_key(&other.public_key()).unwrap()).is_err(),
            "another key"
        );
    }

    /// The typed body is byte for byte what serde_json writes for the same
    /// object as a map (how receipts were built before): stored receipts of
    /// either kind compare equal.
    #[test]
    fn the_body_is_the_canonical_json_of_the_map() {
        use crate::clock::from_millis;
        use crate::model::{Decision, DecisionKind, Level, State};
        use serde_json::json;
        let t = |ms: i64| from_millis(1_796_000_000_000 + ms);
        let d = |level, actor: &str, kind, at| Decision {
            level,
            actor: actor.into(),
            kind,
            comment: Some("c \"quoted\" é".into()),
            duration_s: Some(60),
            at,
        };
        for (state, window, closed, hash) in [
            (State::Approved, true, false, Some("ab")),
            (State::Revoked, true, true, Some("cd")),
            (State::Expired, false, true, None),
        ] {
            let req = Request {
                id: "01a2-id".into(),
                tenant: "ten\"ant".into(),
                state,
                case: "SR-1 <&>".into(),
                workload: "Teams".into(),
                resource: "Mailbox: a@b.example\n".into(),
                reason: "r".into(),
                requester: "eng".into(),
                requested_duration_s: 3600,
                granted_duration_s: window.then_some(60),
                created_at: t(0),
                expires_at: t(9_000),
                approved_at: window.then(|| t(1_500)),
                access_ends_at: window.then(|| t(61_500)),
                closed_at: closed.then(|| t(2_000)),
                approvals_required: 1,
                provider_approvals_required: 1,
                lockbox_required: true,
                decisions: vec![
                    d(Level::Provider, "mgr", DecisionKind::Approve, t(1_000)),
                    d(Level::Customer, "root", DecisionKind::Approve, t(1_500)),
                ],
            };
            let (decision, typed) = body(&req, false, (42, hash), t(2_000), "k1");
            let map = json!({
                "v": 1, "request_id": req.id, "tenant": req.tenant, "case": req.case,
                "requester": req.requester, "workload": req.workload, "resource": req.resource,
                "decision": decision,
                "deciders": req.decisions.iter().map(|d| json!({ "level": d.level.as_str(), "actor": d.actor, "decision": d.kind.as_str(), "at": rfc3339(d.at) })).collect::<Vec<_>>(),
                "granted_window": match (req.approved_at, req.access_ends_at) {
                    (Some(f), Some(to)) => json!({ "from": rfc3339(f), "to": rfc3339(to) }),
                    _ => serde_json::Value::Null,
                },
                "closed_at": req.closed_at.map(rfc3339),
                "audit_head": { "seq": 42, "hash": hash },
                "issued_at": rfc3339(t(2_000)),
                "key_id": "k1",
            });
            assert_eq!(typed, serde_json::to_string(&map).unwrap(), "{state}");
        }
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        assert!(Signer::load(&p).unwrap().is_none());
        let (a, created) = Signer::create(&p).unwrap();
        assert!(created);
        let (b, created) = Signer::create(&p).unwrap();
        assert!(!created, "a second create uses the first one's key");
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(
            Signer::load(&p).unwrap().unwrap().public_key(),
            a.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}

#[cfg(all(test, unix))]
mod mode_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_file_open_to_group_or_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        Signer::create(&p).unwrap();
        for mode in [0o640, 0o604, 0o620, 0o602, 0o644, 0o660] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = Signer::load(&p).unwrap_err();
            assert_eq!(e.code, ErrorCode::StoreUnavailable);
            assert!(
                e.message.contains(&format!("mode {mode:o}"))
                    && e.message.contains("chmod 600")
                    && e.message.contains(&p.display().to_string()),
                "{mode:o}: {}",
                e.message
            );
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(Signer::load(&p).unwrap().is_some(), "{mode:o}");
        }
    }

    #[test]
    fn replace_writes_a_new_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let (a, _) = Signer::create(&p).unwrap();
        let b = Signer::replace(&p).unwrap();
        assert_ne!(a.key_id(), b.key_id());
        assert_eq!(Signer::load(&p).unwrap().unwrap().key_id(), b.key_id());
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
