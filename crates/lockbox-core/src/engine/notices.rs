//! Notices, reminders, deliveries and the dashboard.

use super::{ensure_tenant, Engine};
use crate::clock::Time;
use crate::model::*;
use crate::store::Outcome;
use crate::Result;

impl Engine {
    /// Record a reminder notice for every pending request within its tenant's reminder lead.
    pub fn add_due_reminders(&mut self, now: Time) -> Result<usize> {
        let due = self.store.read(|tx| tx.due_reminders(now, 1000))?;
        if due.is_empty() {
            return Ok(0);
        }
        self.store.doing("record reminders").write(|tx| {
            let mut n = 0;
            for (tenant, id) in &due {
                if let Some(req) = tx.request(tenant, id)? {
                    if req.state == State::Pending && tx.add_notice(&req, "reminder", now)? {
                        n += 1;
                    }
                }
            }
            Ok(n)
        })
    }

    /// The next time a reminder becomes due, if any.
    pub fn next_reminder(&mut self, now: Time) -> Result<Option<Time>> {
        self.store.read(|tx| tx.next_reminder(now))
    }

    /// Claim every notice `channel` has not handled: those created before
    /// `stale_before` are marked skipped, the rest are returned to deliver.
    pub fn claim_notices(&mut self, channel: &str, stale_before: Time) -> Result<Vec<NoticeRow>> {
        self.claim_notices_up_to(channel, stale_before, 200)
    }

    /// [`Engine::claim_notices`], at most `limit` of them.
    pub fn claim_notices_up_to(
        &mut self,
        channel: &str,
        stale_before: Time,
        limit: u32,
    ) -> Result<Vec<NoticeRow>> {
        self.claim_notices_of(channel, stale_before, limit, |_| true)
    }

    /// [`Engine::claim_notices_up_to`] for a channel that delivers only the
    /// kinds `delivers` accepts: the others are marked skipped in the same
    /// transaction (one commit, not a claim and then a failure each).
    pub fn claim_notices_of(
        &mut self,
        channel: &str,
        stale_before: Time,
        limit: u32,
        delivers: impl Fn(&str) -> bool + Sync,
    ) -> Result<Vec<NoticeRow>> {
        let now = self.now();
        self.store.doing("claim notices").write(|tx| {
            let mut fresh = Vec::new();
            for n in tx.unclaimed_notices(channel, limit)? {
                let outcome = if n.created_at < stale_before || !delivers(&n.kind) {
                    Outcome::Skipped
                } else {
                    Outcome::Claimed
                };
                if tx.claim_notice(n.id, channel, outcome, now)? && outcome == Outcome::Claimed {
                    fresh.push(n);
                }
            }
            Ok(fresh)
        })
    }

    /// Record how a claimed delivery ended (sent, or failed with why).
    pub fn finish_delivery(
        &mut self,
        notice_id: i64,
        channel: &str,
        sent: bool,
        detail: Option<&str>,
    ) -> Result<()> {
        let outcome = if sent { Outcome::Sent } else { Outcome::Failed };
        self.store
            .doing("record a notice's delivery")
            .write(|tx| tx.finish_delivery(notice_id, channel, outcome, detail))
    }

    /// Pending requests across all tenants (the tray badge).
    pub fn pending_count_all(&mut self) -> Result<u64> {
        self.apply_due()?;
        self.store.read(|tx| tx.count_pending_all())
    }

    /// The newest pending requests across all tenants, newest first, at most
    /// `limit` (the tray menu lists them to open directly).
    pub fn newest_pending_all(&mut self, limit: u32) -> Result<Vec<Request>> {
        self.apply_due()?;
        let mut all = self.store.read(|tx| {
            let mut all = Vec::new();
            for t in tx.tenants()? {
                all.extend(tx.newest_pending(&t.id, limit)?);
            }
            Ok(all)
        })?;
        all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        all.truncate(limit as usize);
        Ok(all)
    }

    /// The Home page's cards and 30-day chart.
    pub fn home_stats(&mut self, tenant: &str) -> Result<HomeStats> {
        self.apply_due()?;
        let now = self.now();
        let since_day = (now - chrono::Duration::days(29)).date_naive();
        let since = since_day
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .unwrap_or(now);
        self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            let (pending, expiring, active) = tx.dashboard_counts(tenant, now)?;
            let rows = tx.outcomes_per_day(tenant, since)?;
            let mut per_day: Vec<DayCount> = (0..30)
                .map(|i| DayCount {
                    day: (since_day + chrono::Duration::days(i))
                        .format("%Y-%m-%d")
                        .to_string(),
                    ..Default::default()
                })
                .collect();
            let mut decisions = 0;
            for (day, outcome, n) in rows {
                if let Some(d) = per_day.iter_mut().find(|d| d.day == day) {
                    match outcome.as_str() {
                        "approved" => d.approved += n,
                        "rejected" => d.rejected += n,
                        "expired" => d.expired += n,
                        "canceled" => d.canceled += n,
                        _ => {}
                    }
                }
                if outcome == "approved" || outcome == "rejected" {
                    decisions += n;
                }
            }
            Ok(HomeStats {
                pending,
                expiring_within_2h: expiring,
                active_grants: active,
                decisions_last_30d: decisions,
                per_day,
            })
        })
    }
}
