//! The team server's sign-in sessions (`crate::sessions`): token hashes
//! only, never a token.

use super::db::{p, Row};
use super::Tx;
use crate::clock::{from_millis, to_millis, Time};
use crate::model::SessionRow;
use crate::Result;

const SESSION_COLS: &str = "id, family, issuer, subject, email, created_at, \
     access_expires_at, refresh_expires_at, rotated_at, revoked_at, client_id";

fn map_session(r: &Row<'_>) -> Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        family: r.get(1)?,
        issuer: r.get(2)?,
        subject: r.get(3)?,
        email: r.get(4)?,
        created_at: from_millis(r.get(5)?),
        access_expires_at: from_millis(r.get(6)?),
        refresh_expires_at: from_millis(r.get(7)?),
        rotated_at: r.get::<Option<i64>>(8)?.map(from_millis),
        revoked_at: r.get::<Option<i64>>(9)?.map(from_millis),
        client_id: r.get(10)?,
    })
}

impl Tx<'_> {
    /// Add a session row with its tokens' hashes.
    pub fn insert_session(
        &self,
        s: &SessionRow,
        access_hash: &str,
        refresh_hash: &str,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO admin_sessions (id, family, access_hash, refresh_hash, issuer, subject, email, \
             created_at, access_expires_at, refresh_expires_at, client_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            p![
                s.id,
                s.family,
                access_hash,
                refresh_hash,
                s.issuer,
                s.subject,
                s.email,
                to_millis(s.created_at),
                to_millis(s.access_expires_at),
                to_millis(s.refresh_expires_at),
                s.client_id
            ],
        )?;
        Ok(())
    }

    /// The session row whose access token hashes to `hash`.
    pub fn session_by_access(&self, hash: &str) -> Result<Option<SessionRow>> {
        self.opt(
            &format!("SELECT {SESSION_COLS} FROM admin_sessions WHERE access_hash = ?1"),
            p![hash],
            map_session,
        )
    }

    /// The session row whose refresh token hashes to `hash`.
    pub fn session_by_refresh(&self, hash: &str) -> Result<Option<SessionRow>> {
        self.opt(
            &format!("SELECT {SESSION_COLS} FROM admin_sessions WHERE refresh_hash = ?1"),
            p![hash],
            map_session,
        )
    }

    /// Mark row `id`'s refresh token used; false if it was used already.
    pub fn rotate_session(&self, id: &str, now: Time) -> Result<bool> {
        Ok(self.exec(
            "UPDATE admin_sessions SET rotated_at = ?2 WHERE id = ?1 AND rotated_at IS NULL",
            p![id, to_millis(now)],
        )? > 0)
    }

    /// Revoke every row of `family` not revoked yet; how many.
    pub fn revoke_session_family(&self, family: &str, now: Time) -> Result<u64> {
        self.exec(
            "UPDATE admin_sessions SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL",
            p![family, to_millis(now)],
        )
    }

    /// Forget the rows whose refresh token expired before `before`.
    pub fn delete_sessions_before(&self, before: Time) -> Result<u64> {
        self.exec(
            "DELETE FROM admin_sessions WHERE refresh_expires_at < ?1",
            p![to_millis(before)],
        )
    }
}
