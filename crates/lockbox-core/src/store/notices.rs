//! Notices (what the outside world must hear about), their per-channel
//! delivery records, reminders, and dashboard counts.

use super::db::p;
use super::Tx;
use crate::clock::{from_millis, to_millis, Time};
use crate::model::NoticeRow;
use crate::Result;

/// How a channel handled a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Claimed,
    Sent,
    Failed,
    /// Too old to be worth telling (e.g. the app was not running for days).
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Claimed => "claimed",
            Outcome::Sent => "sent",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

impl Tx<'_> {
    /// Notices that `channel` has not claimed yet, oldest first.
    pub fn unclaimed_notices(&self, channel: &str, limit: u32) -> Result<Vec<NoticeRow>> {
        let rows: Vec<(i64, String, i64, String, String)> = self.rows(
            "SELECT n.id, n.kind, n.created_at, n.tenant, n.request_id FROM notices n
             WHERE NOT EXISTS (SELECT 1 FROM notice_deliveries d WHERE d.notice_id = n.id AND d.channel = ?1)
             ORDER BY n.id LIMIT ?2",
            p![channel, limit],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, kind, created, tenant, request_id) in rows {
            if let Some(request) = self.request(&tenant, &request_id)? {
                out.push(NoticeRow {
                    id,
                    kind,
                    created_at: from_millis(created),
                    request,
                });
            }
        }
        Ok(out)
    }

    /// Claim a notice for a channel. False when someone claimed it first.
    pub fn claim_notice(
        &self,
        notice_id: i64,
        channel: &str,
        outcome: Outcome,
        now: Time,
    ) -> Result<bool> {
        // A claim to send is an attempt (one a killed sender never ends);
        // a notice skipped as stale was never tried.
        let attempts = i64::from(outcome == Outcome::Claimed);
        Ok(self.exec(
            "INSERT INTO notice_deliveries (notice_id, channel, claimed_at, outcome, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            p![
                notice_id,
                channel,
                to_millis(now),
                outcome.as_str(),
                attempts
            ],
        )? > 0)
    }

    /// Record how a claimed delivery ended.
    pub fn finish_delivery(
        &self,
        notice_id: i64,
        channel: &str,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Result<()> {
        self.exec(
            "UPDATE notice_deliveries SET outcome = ?3, detail = ?4 WHERE notice_id = ?1 AND channel = ?2",
            p![notice_id, channel, outcome.as_str(), detail],
        )?;
        Ok(())
    }

    /// Pending requests (any tenant) whose reminder time has come and that have no reminder yet.
    pub fn due_reminders(&self, now: Time, limit: u32) -> Result<Vec<(String, String)>> {
        self.rows(
            // Tenants with reminders first (CROSS JOIN keeps SQLite's order),
            // then each one's pending requests expiring within its lead, a
            // range of the `requests_pending` index: no reminders, no scan.
            "SELECT r.tenant, r.id FROM settings s CROSS JOIN requests r
             WHERE s.reminder_lead_s IS NOT NULL AND r.tenant = s.tenant AND r.state = 'pending'
               AND r.expires_at <= CAST(?1 AS BIGINT) + s.reminder_lead_s * 1000 AND r.expires_at > ?1
               AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.request_id = r.id AND n.kind = 'reminder')
             LIMIT ?2",
            p![to_millis(now), limit],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The next future reminder time of any pending request without a reminder.
    pub fn next_reminder(&self, now: Time) -> Result<Option<Time>> {
        let v: Option<i64> = self
            .opt(
                // Per tenant with reminders, its first such request in
                // `requests_pending` order (expires_at): no full scan.
                "SELECT MIN((SELECT r.expires_at FROM requests r
                   WHERE r.state = 'pending' AND r.tenant = s.tenant
                     AND r.expires_at > CAST(?1 AS BIGINT) + s.reminder_lead_s * 1000
                     AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.request_id = r.id AND n.kind = 'reminder')
                   ORDER BY r.expires_at LIMIT 1) - s.reminder_lead_s * 1000)
                 FROM settings s WHERE s.reminder_lead_s IS NOT NULL",
                p![to_millis(now)],
                |r| r.get(0),
            )?
            .flatten();
        Ok(v.map(from_millis))
    }

    /// Dashboard counts for `tenant` at `now`: (pending, expiring within 2h, active grants).
    pub fn dashboard_counts(&self, tenant: &str, now: Time) -> Result<(u64, u64, u64)> {
        let now_ms = to_millis(now);
        self.one(
            "SELECT
                COUNT(CASE WHEN state = 'pending' THEN 1 END),
                COUNT(CASE WHEN state = 'pending' AND expires_at <= CAST(?2 AS BIGINT) + 7200000 THEN 1 END),
                COUNT(CASE WHEN state = 'approved' AND access_ends_at > ?2 THEN 1 END)
             FROM requests WHERE tenant = ?1 AND state IN ('pending', 'approved')",
            p![tenant, now_ms],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// Outcomes per UTC day since `since`: (day, outcome, count); outcome is
    /// approved (by approval time), rejected, expired or canceled (by close time).
    pub fn outcomes_per_day(
        &self,
        tenant: &str,
        since: Time,
    ) -> Result<Vec<(String, String, u64)>> {
        self.rows(
            self.pick(
                "SELECT day, outcome, COUNT(*) FROM (
                SELECT strftime('%Y-%m-%d', approved_at / 1000, 'unixepoch') AS day, 'approved' AS outcome
                  FROM requests WHERE tenant = ?1 AND approved_at >= ?2
                UNION ALL
                SELECT strftime('%Y-%m-%d', closed_at / 1000, 'unixepoch'), state
                  FROM requests WHERE tenant = ?1 AND state IN ('rejected', 'expired', 'canceled') AND closed_at >= ?2
             ) GROUP BY day, outcome ORDER BY day, outcome",
                "SELECT day, outcome, COUNT(*) FROM (
                SELECT to_char(to_timestamp(approved_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                       'approved' COLLATE \"C\" AS outcome
                  FROM requests WHERE tenant = ?1 AND approved_at >= ?2
                UNION ALL
                SELECT to_char(to_timestamp(closed_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), state
                  FROM requests WHERE tenant = ?1 AND state IN ('rejected', 'expired', 'canceled') AND closed_at >= ?2
             ) AS o GROUP BY day, outcome ORDER BY day, outcome",
            ),
            p![tenant, to_millis(since)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }
}
