//! Requests, their decisions, deadlines and notices.

use super::db::{p, Row, P};
use super::{bad_row, Tx};
use crate::clock::{from_millis, to_millis, Time};
use crate::machine::Notice;
use crate::model::{Decision, DecisionKind, Level, Request, RequestQuery, RequestSort, State};
use crate::{Error, Result};

macro_rules! request_columns {
    () => {
        "id, tenant, state, case_number, workload, resource, reason, requester,
    requested_duration_s, granted_duration_s, created_at, expires_at, approved_at, access_ends_at,
    closed_at, approvals_required, provider_approvals_required, lockbox_required"
    };
}
pub(super) const COLUMNS: &str = request_columns!();

/// A request and its decisions ([`Tx::request`]): `?1` the id, `?2` the tenant.
pub(super) const REQUEST_BY_ID: &str = concat!(
    "SELECT ",
    request_columns!(),
    ", d.level, d.actor, d.decision, d.comment, d.duration_s, d.at
     FROM requests LEFT JOIN decisions AS d ON d.request_id = requests.id
     WHERE requests.id = ?1 AND requests.tenant = ?2 ORDER BY d.idx"
);

/// Where a decision's columns start after [`COLUMNS`].
const DECISION_AT: usize = 18;

pub(super) fn map_request(r: &Row<'_>) -> Result<Request> {
    let state: String = r.get(2)?;
    let opt = |i: usize| -> Result<Option<Time>> { Ok(r.get::<Option<i64>>(i)?.map(from_millis)) };
    Ok(Request {
        id: r.get(0)?,
        tenant: r.get(1)?,
        state: State::parse(&state).map_err(|e| bad_row("state", e))?,
        case: r.get(3)?,
        workload: r.get(4)?,
        resource: r.get(5)?,
        reason: r.get(6)?,
        requester: r.get(7)?,
        requested_duration_s: r.get(8)?,
        granted_duration_s: r.get(9)?,
        created_at: from_millis(r.get(10)?),
        expires_at: from_millis(r.get(11)?),
        approved_at: opt(12)?,
        access_ends_at: opt(13)?,
        closed_at: opt(14)?,
        approvals_required: r.get(15)?,
        provider_approvals_required: r.get(16)?,
        lockbox_required: r.get(17)?,
        decisions: Vec::new(),
    })
}

/// A decision from `level, actor, decision, comment, duration_s, at`, starting at column `i`.
pub(super) fn map_decision(r: &Row<'_>, i: usize) -> Result<Decision> {
    let level: String = r.get(i)?;
    let kind: String = r.get(i + 2)?;
    Ok(Decision {
        level: Level::parse(&level).map_err(|e| bad_row("level", e))?,
        actor: r.get(i + 1)?,
        kind: DecisionKind::parse(&kind).map_err(|e| bad_row("decision", e))?,
        comment: r.get(i + 3)?,
        duration_s: r.get(i + 4)?,
        at: from_millis(r.get(i + 5)?),
    })
}

impl Tx<'_> {
    fn decisions(&self, request_id: &str) -> Result<Vec<Decision>> {
        self.rows(
            "SELECT level, actor, decision, comment, duration_s, at FROM decisions
             WHERE request_id = ?1 ORDER BY idx",
            p![request_id],
            |r| map_decision(r, 0),
        )
    }

    /// Load a request of `tenant` by its id, with its decisions: one
    /// statement (a round trip on PostgreSQL), a row per decision.
    pub fn request(&self, tenant: &str, id: &str) -> Result<Option<Request>> {
        let mut req: Option<Request> = None;
        self.each(REQUEST_BY_ID, p![id, tenant], |r| {
            let loaded = match &mut req {
                Some(q) => q,
                None => req.insert(map_request(r)?),
            };
            if r.get::<Option<String>>(DECISION_AT)?.is_some() {
                loaded.decisions.push(map_decision(r, DECISION_AT)?);
            }
            Ok(true)
        })?;
        Ok(req)
    }

    /// Load a request by id in any tenant (the deadline sweep).
    pub fn request_any_tenant(&self, id: &str) -> Result<Option<Request>> {
        let Some(mut req) = self.opt(
            &format!("SELECT {COLUMNS} FROM requests WHERE id = ?1"),
            p![id],
            map_request,
        )?
        else {
            return Ok(None);
        };
        req.decisions = self.decisions(&req.id)?;
        Ok(Some(req))
    }

    /// Ids of `tenant`'s requests starting with `prefix` (at most `limit`).
    pub fn request_ids_with_prefix(
        &self,
        tenant: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        // SQLite: an index range (no text sorts after 0xff); PostgreSQL's
        // `^@` (starts with) on the "C"-collated key.
        self.rows(
            self.pick(
                "SELECT id FROM requests WHERE tenant = ?1 AND id >= ?2 AND id < ?2 || x'ff' ORDER BY id LIMIT ?3",
                "SELECT id FROM requests WHERE tenant = ?1 AND id ^@ ?2 ORDER BY id LIMIT ?3",
            ),
            p![tenant, prefix, limit],
            |r| r.get(0),
        )
    }

    /// Ids of `tenant`'s requests ending with `suffix` (the admin center shows ids by their tail).
    pub fn request_ids_with_suffix(
        &self,
        tenant: &str,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        self.rows(
            self.pick(
                "SELECT id FROM requests WHERE tenant = ?1 AND substr(id, -length(?2)) = ?2 ORDER BY id LIMIT ?3",
                "SELECT id FROM requests WHERE tenant = ?1 AND right(id, length(?2)) = ?2 ORDER BY id LIMIT ?3",
            ),
            p![tenant, suffix, limit],
            |r| r.get(0),
        )
    }

    /// Insert a new request row and its decisions (a transition of a stored
    /// one is saved by [`Tx::update_request`]).
    pub fn insert_request(&self, req: &Request) -> Result<()> {
        self.in_scope(&req.tenant)?;
        let ms = |t: Option<Time>| t.map(to_millis);
        self.put(
            &format!(
                "INSERT INTO requests ({COLUMNS}, deadline_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            ),
            p![
            req.id,
            req.tenant,
            req.state.as_str(),
            req.case,
            req.workload,
            req.resource,
            req.reason,
            req.requester,
            req.requested_duration_s,
            req.granted_duration_s,
            to_millis(req.created_at),
            to_millis(req.expires_at),
            ms(req.approved_at),
            ms(req.access_ends_at),
            ms(req.closed_at),
            req.approvals_required,
            req.provider_approvals_required,
            req.lockbox_required,
            ms(req.deadline()),
            ],
            None,
        )?;
        self.insert_decisions(req, 0)
    }

    fn insert_decisions(&self, req: &Request, known_decisions: usize) -> Result<()> {
        for (i, d) in req.decisions.iter().enumerate().skip(known_decisions) {
            self.put(
                "INSERT INTO decisions (request_id, idx, level, actor, decision, comment, duration_s, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                p![
                req.id,
                i as i64,
                d.level.as_str(),
                d.actor,
                d.kind.as_str(),
                d.comment,
                d.duration_s,
                to_millis(d.at)
                ],
                None,
            )?;
        }
        Ok(())
    }

    /// Update the row of a stored request after a transition (only what a
    /// transition changes), and insert decisions it gained since `known_decisions`.
    pub fn update_request(&self, req: &Request, known_decisions: usize) -> Result<()> {
        self.in_scope(&req.tenant)?;
        let ms = |t: Option<Time>| t.map(to_millis);
        let vanished = format!("request {} vanished", req.id);
        self.put(
            "UPDATE requests SET state = ?2, granted_duration_s = ?3, approved_at = ?4,
                    access_ends_at = ?5, closed_at = ?6, deadline_at = ?7
                 WHERE id = ?1",
            p![
                req.id,
                req.state.as_str(),
                req.granted_duration_s,
                ms(req.approved_at),
                ms(req.access_ends_at),
                ms(req.closed_at),
                ms(req.deadline()),
            ],
            Some(&vanished),
        )?;
        self.insert_decisions(req, known_decisions)
    }

    /// The tenants with a deadline at or before `now`, by id.
    pub fn due_tenants(&self, now: Time) -> Result<Vec<String>> {
        // One seek of `requests_due_by_tenant` per tenant (every read asks
        // this first): a DISTINCT over the requests scanned that whole
        // index, 10 000 entries for 10 000 pending.
        self.rows(
            "SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM requests r WHERE r.tenant = t.id
               AND r.deadline_at IS NOT NULL AND r.deadline_at <= ?1)
             ORDER BY t.id",
            p![to_millis(now)],
            |r| r.get(0),
        )
    }

    /// `tenant`'s newest pending requests, newest first, at most `limit`
    /// (the tray's; no total counted, unlike [`list_requests`](Self::list_requests)).
    pub fn newest_pending(&self, tenant: &str, limit: u32) -> Result<Vec<Request>> {
        self.rows(
            &format!(
                "SELECT {COLUMNS} FROM requests WHERE tenant = ?1 AND state = 'pending'
                 ORDER BY created_at DESC, id DESC LIMIT ?2"
            ),
            p![tenant, limit],
            map_request,
        )
    }

    /// `tenant`'s requests whose deadline is at or before `now`, oldest first.
    pub fn due_requests_of(&self, tenant: &str, now: Time, limit: u32) -> Result<Vec<Request>> {
        // On PostgreSQL a tenant's write may have read with its locks that
        // nothing falls due soon (`Store::due_by`): then nothing is asked.
        if self.nothing_due(tenant, to_millis(now)) {
            return Ok(Vec::new());
        }
        let mut out = self.rows(
            &format!(
                "SELECT {COLUMNS} FROM requests WHERE tenant = ?1 AND deadline_at IS NOT NULL
             AND deadline_at <= ?2 ORDER BY deadline_at, id LIMIT ?3"
            ),
            p![tenant, to_millis(now), limit],
            map_request,
        )?;
        for r in &mut out {
            r.decisions = self.decisions(&r.id)?;
        }
        Ok(out)
    }

    /// The earliest deadline of any request in any tenant.
    pub fn next_deadline(&self) -> Result<Option<Time>> {
        let v: Option<i64> = self.one(
            "SELECT MIN(deadline_at) FROM requests WHERE deadline_at IS NOT NULL",
            p![],
            |r| r.get(0),
        )?;
        Ok(v.map(from_millis))
    }

    /// Requests of `tenant` matching `q`, one page, plus the total count and next cursor.
    pub fn list_requests(
        &self,
        tenant: &str,
        q: &RequestQuery,
    ) -> Result<(Vec<Request>, u64, Option<String>)> {
        let mut wh = vec!["tenant = ?".to_string()];
        let mut args: Vec<P<'static>> = vec![P::Text(tenant.to_string().into())];
        if !q.states.is_empty() {
            wh.push(format!(
                "state IN ({})",
                vec!["?"; q.states.len()].join(", ")
            ));
            args.extend(q.states.iter().map(|s| P::Text(s.as_str().into())));
        }
        if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pat = format!(
                "%{}%",
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            wh.push(
                "(case_number LIKE ? ESCAPE '\\' OR requester LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\'
                  OR workload LIKE ? ESCAPE '\\' OR resource LIKE ? ESCAPE '\\')"
                    .into(),
            );
            for _ in 0..5 {
                args.push(P::Text(pat.clone().into()));
            }
        }
        if let Some(t) = q.created_after {
            wh.push("created_at > ?".into());
            args.push(P::Int(to_millis(t)));
        }
        let total: i64 = self.one(
            &format!("SELECT COUNT(*) FROM requests WHERE {}", wh.join(" AND ")),
            &args,
            |r| r.get(0),
        )?;
        let (key, dir, cmp) = match q.sort {
            RequestSort::Newest => ("created_at", "DESC", "<"),
            RequestSort::Oldest => ("created_at", "ASC", ">"),
            RequestSort::ExpiresSoonest => ("IFNULL(deadline_at, 9223372036854775807)", "ASC", ">"),
        };
        if let Some(c) = &q.cursor {
            let (k, id) = parse_cursor(c)?;
            wh.push(format!("({key}, id) {cmp} (?, ?)"));
            args.push(P::Int(k));
            args.push(P::Text(id.into()));
        }
        let limit = q.limit.clamp(1, 1000);
        let sql = format!(
            "SELECT {COLUMNS}, {key} FROM requests WHERE {} ORDER BY {key} {dir}, id {dir} LIMIT {}",
            wh.join(" AND "),
            limit + 1
        );
        let mut keyed: Vec<(Request, i64)> =
            self.rows(&sql, &args, |r| Ok((map_request(r)?, r.get(18)?)))?;
        let next = if keyed.len() > limit as usize {
            keyed.truncate(limit as usize);
            keyed.last().map(|(r, k)| format!("{k}:{}", r.id))
        } else {
            None
        };
        let mut items = Vec::with_capacity(keyed.len());
        for (mut r, _) in keyed {
            r.decisions = self.decisions(&r.id)?;
            items.push(r);
        }
        Ok((items, total as u64, next))
    }

    /// Count `tenant`'s requests per state.
    pub fn count_by_state(&self, tenant: &str) -> Result<Vec<(State, u64)>> {
        self.rows(
            "SELECT state, COUNT(*) FROM requests WHERE tenant = ?1 GROUP BY state ORDER BY state",
            p![tenant],
            |r| {
                let s: String = r.get(0)?;
                Ok((
                    State::parse(&s).map_err(|e| bad_row("state", e))?,
                    r.get::<u64>(1)?,
                ))
            },
        )
    }

    /// Count pending requests (all tenants).
    pub fn count_pending_all(&self) -> Result<u64> {
        self.one(
            "SELECT COUNT(*) FROM requests WHERE state = 'pending'",
            p![],
            |r| r.get(0),
        )
    }

    /// Record that the outside world must hear `notice` about `req` (once: duplicates are ignored).
    pub fn add_notice(&self, req: &Request, notice: &str, now: Time) -> Result<bool> {
        Ok(self.exec(
            "INSERT INTO notices (tenant, request_id, kind, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            p![req.tenant, req.id, notice, to_millis(now)],
        )? > 0)
    }

    /// [`Tx::add_notice`] of the machine's notice, sent with the next statement.
    pub fn add_machine_notice(&self, req: &Request, n: Notice, now: Time) -> Result<()> {
        self.put(
            "INSERT INTO notices (tenant, request_id, kind, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            p![req.tenant, req.id, n.as_str(), to_millis(now)],
            None,
        )
    }
}

fn parse_cursor(c: &str) -> Result<(i64, String)> {
    let bad = || Error::input(format!("'{c}' is not a valid page cursor"));
    let (k, id) = c.split_once(':').ok_or_else(bad)?;
    let k: i64 = k.parse().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((k, id.to_string()))
}
