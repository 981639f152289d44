//! The team server's sign-in sessions. A person who shows a verified OpenID
//! Connect ID token (the API checks it) gets a session: an opaque access
//! token (`lbs_` + 32 random bytes, hex) good for [`ACCESS_LIFETIME`] and a
//! refresh token (`lbr_` + 32 random bytes) good for [`REFRESH_LIFETIME`].
//! Refreshing spends the refresh token and issues a new pair in the same
//! family; a spent refresh token shown again revokes the whole family (it
//! was copied: both holders lose the session). Signing out revokes the
//! family. Only the tokens' SHA-256 is stored; expiry is by the engine's
//! clock. A session is good only on a server with the issuer and client id
//! it was opened under (a server configured anew refuses the old ones).
//! Each row keeps the verified `iss`, `sub` and email, so every call
//! made with the session is the same [`Principal`] as the ID token named
//! (and audited as `{"method":"oidc","issuer","sub"}`).

use crate::clock::Time;
use crate::identity::Authn;
use crate::model::SessionRow;
use crate::tokens::hash_token;
use crate::{Engine, Error, ErrorCode, Principal, Result};

/// How long an access token is good for.
pub const ACCESS_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);
/// How long a refresh token is good for (each refresh issues a new one).
pub const REFRESH_LIFETIME: chrono::Duration = chrono::Duration::hours(12);
/// An access token starts with this; a provider token (`lbx_`) never does.
pub const ACCESS_PREFIX: &str = "lbs_";
/// A refresh token starts with this.
pub const REFRESH_PREFIX: &str = "lbr_";

/// A session's tokens, as issued (shown once) with their expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub access_expires_at: Time,
    pub refresh_expires_at: Time,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish_non_exhaustive()
    }
}

/// A verified session: its person and when its access token expires.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    pub expires_at: Time,
}

fn secret(prefix: &str) -> Result<String> {
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(raw)))
}

fn refused(message: &str) -> Error {
    Error::new(ErrorCode::Unauthorized, message)
}

/// A token of this shape could be one of ours (else it is not looked up).
fn shaped(token: &str, prefix: &str) -> bool {
    token.len() == prefix.len() + 64
        && token.starts_with(prefix)
        && token[prefix.len()..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl SessionRow {
    fn principal(&self) -> Result<Principal> {
        Principal::verified_oidc(&self.issuer, &self.subject, &self.email)
    }
}

/// The issuer and client id a server signs people in with: a session is
/// good only where both are those it was opened under.
#[derive(Debug, Clone, Copy)]
pub struct SignedInAt<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
}

impl SessionRow {
    fn opened_at(&self, at: SignedInAt<'_>) -> bool {
        self.issuer == at.issuer && self.client_id == at.client_id
    }
}

/// The next row of the session `like` (its family and person) at `now`,
/// and its tokens.
fn new_pair(like: &SessionRow, now: Time) -> Result<(SessionRow, Issued)> {
    let row = SessionRow {
        id: uuid::Uuid::now_v7().to_string(),
        family: like.family.clone(),
        issuer: like.issuer.clone(),
        subject: like.subject.clone(),
        email: like.email.clone(),
        client_id: like.client_id.clone(),
        created_at: now,
        access_expires_at: now + ACCESS_LIFETIME,
        refresh_expires_at: now + REFRESH_LIFETIME,
        rotated_at: None,
        revoked_at: None,
    };
    let issued = Issued {
        access_token: secret(ACCESS_PREFIX)?,
        refresh_token: secret(REFRESH_PREFIX)?,
        access_expires_at: row.access_expires_at,
        refresh_expires_at: row.refresh_expires_at,
    };
    Ok((row, issued))
}

/// What a refresh found, decided inside its transaction (a reuse's
/// revocation is committed, then refused).
enum Refresh {
    Issued(Issued),
    Refused(&'static str),
}

impl Engine {
    /// Open a session for `person`, whose ID token for `client_id` the
    /// caller verified (`Principal::verified_oidc`: named by the email,
    /// `Authn::Oidc`). Rows whose refresh token expired are forgotten on the
    /// way.
    pub fn open_session(&mut self, person: &Principal, client_id: &str) -> Result<Issued> {
        let Authn::Oidc { issuer, subject } = person.authn() else {
            return Err(Error::input(
                "a session is only for a person signed in with OpenID Connect",
            ));
        };
        let now = self.now();
        let like = SessionRow {
            id: String::new(),
            family: uuid::Uuid::now_v7().to_string(),
            issuer: issuer.clone(),
            subject: subject.clone(),
            email: person.name().to_string(),
            client_id: client_id.to_string(),
            created_at: now,
            access_expires_at: now,
            refresh_expires_at: now,
            rotated_at: None,
            revoked_at: None,
        };
        let (row, issued) = new_pair(&like, now)?;
        self.store().doing("open a session").write(|tx| {
            tx.delete_sessions_before(now)?;
            tx.insert_session(
                &row,
                &hash_token(&issued.access_token),
                &hash_token(&issued.refresh_token),
            )
        })?;
        Ok(issued)
    }

    /// The person of access token `token`, if it is a live session's (not
    /// expired by the engine's clock, not revoked, opened `at` this
    /// server's issuer and client id); else `Unauthorized`.
    pub fn session(&mut self, token: &str, at: SignedInAt<'_>) -> Result<Verified> {
        if !shaped(token, ACCESS_PREFIX) {
            return Err(refused("the bearer is not a Lockbox session token"));
        }
        let now = self.now();
        let row = self
            .store()
            .read(|tx| tx.session_by_access(&hash_token(token)))?
            .ok_or_else(|| refused("no such session"))?;
        if row.revoked_at.is_some() {
            return Err(refused("the session was ended: sign in again"));
        }
        if !row.opened_at(at) {
            return Err(refused(
                "the session was opened with another issuer or client id: sign in again",
            ));
        }
        if now >= row.access_expires_at {
            return Err(refused("the session has expired: renew it"));
        }
        Ok(Verified {
            principal: row.principal()?,
            expires_at: row.access_expires_at,
        })
    }

    /// Spend refresh token `token` for a new pair of the same session. A
    /// refresh token used before revokes its whole session (committed) and
    /// is refused, as are unknown, revoked and expired ones and those of
    /// another issuer or client id.
    pub fn refresh_session(&mut self, token: &str, at: SignedInAt<'_>) -> Result<Issued> {
        if !shaped(token, REFRESH_PREFIX) {
            return Err(refused("not a Lockbox refresh token"));
        }
        let now = self.now();
        let hash = hash_token(token);
        let out = self.store().doing("refresh a session").write(|tx| {
            let Some(row) = tx.session_by_refresh(&hash)? else {
                return Ok(Refresh::Refused("no such session"));
            };
            if row.revoked_at.is_some() {
                return Ok(Refresh::Refused("the session was ended: sign in again"));
            }
            if !row.opened_at(at) {
                return Ok(Refresh::Refused(
                    "the session was opened with another issuer or client id: sign in again",
                ));
            }
            if row.rotated_at.is_some() || !tx.rotate_session(&row.id, now)? {
                tx.revoke_session_family(&row.family, now)?;
                return Ok(Refresh::Refused(
                    "this refresh token was used before: the session is ended, sign in again",
                ));
            }
            if now >= row.refresh_expires_at {
                return Ok(Refresh::Refused("the session has expired: sign in again"));
            }
            let (next, issued) = new_pair(&row, now)?;
            tx.insert_session(
                &next,
                &hash_token(&issued.access_token),
                &hash_token(&issued.refresh_token),
            )?;
            Ok(Refresh::Issued(issued))
        })?;
        match out {
            Refresh::Issued(i) => Ok(i),
            Refresh::Refused(m) => Err(refused(m)),
        }
    }

    /// Sign out: revoke the session that access or refresh token `token`
    /// belongs to, while it can still be renewed (its access token may have
    /// expired). A token of an ended or expired session is no session any
    /// more: `Unauthorized`, as is an unknown one, and nothing is written.
    pub fn end_session(&mut self, token: &str) -> Result<()> {
        let hash = hash_token(token);
        let access = shaped(token, ACCESS_PREFIX);
        if !access && !shaped(token, REFRESH_PREFIX) {
            return Err(refused("not a Lockbox session token"));
        }
        let now = self.now();
        let refusal = self.store().doing("end a session").write(|tx| {
            let row = if access {
                tx.session_by_access(&hash)?
            } else {
                tx.session_by_refresh(&hash)?
            };
            let Some(row) = row else {
                return Ok(Some("no such session"));
            };
            if row.revoked_at.is_some() {
                return Ok(Some("the session was ended already"));
            }
            if now >= row.refresh_expires_at {
                return Ok(Some("the session has expired"));
            }
            tx.revoke_session_family(&row.family, now)?;
            Ok(None)
        })?;
        match refusal {
            None => Ok(()),
            Some(why) => Err(refused(why)),
        }
    }
}
