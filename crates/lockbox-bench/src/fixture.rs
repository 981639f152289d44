//! Bulk fixtures, written with direct SQL in one transaction (FIXTURES ONLY:
//! the measured Lockbox side always goes through the engine). The schema is
//! created by the engine itself (`Engine::open`), so fixtures follow it; the
//! audit entries carry a valid hash chain computed with
//! [`lockbox_core::audit::entry_hash`].

use crate::BoxResult;
use chrono::{TimeZone, Utc};
use lockbox_core::audit::{entry_hash, HashInput, GENESIS};
use lockbox_core::clock::{from_millis, rfc3339};
use lockbox_core::model::{Decision, DecisionKind, Level, Request, State};
use lockbox_core::receipts::{self, Signer};
use lockbox_core::{Engine, ManualClock, Time};
use rusqlite::{params, Connection, OptionalExtension, Statement};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// The reference "now" of the static fixtures (the engine runs on a ManualClock
/// pinned here, so cached fixtures never go stale).
pub fn t_ref() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

pub fn t_ref_ms() -> i64 {
    t_ref().timestamp_millis()
}

pub fn iso(ms: i64) -> String {
    rfc3339(from_millis(ms))
}

/// Create an empty store at `path` through the engine (migrations, default
/// tenant, first admin `root`), with the engine's clock at `boot_ms`.
pub fn create_store(path: &Path, boot_ms: i64) -> BoxResult<()> {
    let clock = Arc::new(ManualClock::new(from_millis(boot_ms)));
    let e = Engine::open(path, clock, "root")?;
    drop(e);
    Ok(())
}

/// A connection for bulk loading: the store's own pragmas but no fsync.
pub fn bulk_conn(path: &Path) -> BoxResult<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(30))?;
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    c.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON; PRAGMA cache_size = -262144;",
    )?;
    Ok(c)
}

/// The audit chain's tail, for appending valid entries.
pub struct Chain<'c> {
    ins: Statement<'c>,
    pub seq: i64,
    pub prev: String,
    /// Per tenant, the latest effective time written (for `late`, as the engine sets it).
    max_at: std::collections::HashMap<String, i64>,
}

impl<'c> Chain<'c> {
    pub fn open(c: &'c Connection) -> BoxResult<Chain<'c>> {
        let (seq, prev) = c
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?
            .unwrap_or((0, GENESIS.to_string()));
        let ins = c.prepare(
            "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation,
                request_id, details, prev_hash, hash, late) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
        )?;
        let mut max_at = std::collections::HashMap::new();
        let mut st = c.prepare("SELECT tenant, MAX(at) FROM audit_log GROUP BY tenant")?;
        for r in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (t, m) = r?;
            max_at.insert(t, m);
        }
        Ok(Chain {
            ins,
            seq,
            prev,
            max_at,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn append(
        &mut self,
        at: i64,
        recorded: i64,
        tenant: &str,
        actor_kind: &str,
        actor: &str,
        operation: &str,
        request_id: Option<&str>,
        details: &str,
    ) -> BoxResult<()> {
        self.seq += 1;
        let hash = entry_hash(&HashInput {
            seq: self.seq,
            at_ms: at,
            recorded_ms: recorded,
            tenant,
            actor_kind,
            actor,
            operation,
            request_id,
            details,
            prev_hash: &self.prev,
        });
        let max_at = self.max_at.entry(tenant.to_string()).or_insert(i64::MIN);
        let late = at < *max_at;
        *max_at = (*max_at).max(at);
        self.ins.execute(params![
            self.seq, at, recorded, tenant, actor_kind, actor, operation, request_id, details,
            self.prev, hash, late
        ])?;
        self.prev = hash;
        Ok(())
    }
}

/// One request row as the engine stores it.
#[derive(Debug, Clone)]
pub struct ReqRow {
    pub id: String,
    pub tenant: String,
    pub state: &'static str,
    pub case: String,
    pub workload: &'static str,
    pub resource: String,
    pub reason: &'static str,
    pub requester: String,
    pub requested_s: i64,
    pub granted_s: Option<i64>,
    pub created: i64,
    pub expires: i64,
    pub approved: Option<i64>,
    pub ends: Option<i64>,
    pub closed: Option<i64>,
}

impl ReqRow {
    fn deadline(&self) -> Option<i64> {
        match self.state {
            "awaiting_provider" | "pending" => Some(self.expires),
            "approved" => self.ends,
            _ => None,
        }
    }
}

pub struct Rows<'c> {
    req: Statement<'c>,
    dec: Statement<'c>,
    notice: Statement<'c>,
}

impl<'c> Rows<'c> {
    pub fn new(c: &'c Connection) -> BoxResult<Rows<'c>> {
        Ok(Rows {
            req: c.prepare(
                "INSERT INTO requests (id, tenant, state, case_number, workload, resource, reason,
                   requester, requested_duration_s, granted_duration_s, created_at, expires_at,
                   approved_at, access_ends_at, closed_at, approvals_required,
                   provider_approvals_required, lockbox_required, deadline_at)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,1,1,1,?16)",
            )?,
            dec: c.prepare(
                "INSERT INTO decisions (request_id, idx, level, actor, decision, comment, duration_s, at)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?,
            notice: c.prepare(
                "INSERT OR IGNORE INTO notices (tenant, request_id, kind, created_at) VALUES (?1,?2,?3,?4)",
            )?,
        })
    }

    pub fn request(&mut self, r: &ReqRow) -> BoxResult<()> {
        self.req.execute(params![
            r.id,
            r.tenant,
            r.state,
            r.case,
            r.workload,
            r.resource,
            r.reason,
            r.requester,
            r.requested_s,
            r.granted_s,
            r.created,
            r.expires,
            r.approved,
            r.ends,
            r.closed,
            r.deadline()
        ])?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn decision(
        &mut self,
        id: &str,
        idx: i64,
        level: &str,
        actor: &str,
        kind: &str,
        comment: Option<&str>,
        duration_s: Option<i64>,
        at: i64,
    ) -> BoxResult<()> {
        self.dec.execute(params![
            id, idx, level, actor, kind, comment, duration_s, at
        ])?;
        Ok(())
    }

    pub fn notice(&mut self, tenant: &str, id: &str, kind: &str, at: i64) -> BoxResult<()> {
        self.notice.execute(params![tenant, id, kind, at])?;
        Ok(())
    }
}

/// Decision receipts as the engine writes them (its body, for the request as
/// it stood right after the decision, naming the chain's head), signed with a
/// key of the fixture's own (not the store's: `audit verify` checks bodies).
pub struct Receipts<'c> {
    signer: Signer,
    decisions: Statement<'c>,
    ins: Statement<'c>,
}

impl<'c> Receipts<'c> {
    pub fn new(c: &'c Connection) -> BoxResult<Receipts<'c>> {
        Ok(Receipts {
            signer: Signer::ephemeral()?,
            decisions: c.prepare(
                "SELECT level, actor, decision, comment, duration_s, at FROM decisions
                 WHERE request_id = ?1 AND at <= ?2 ORDER BY idx",
            )?,
            ins: c.prepare(
                "INSERT INTO receipts (request_id, tenant, decision, body, signature, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
        })
    }

    /// The receipt of `decision` (a state) on `r` (its final row) at `at`,
    /// its entry being the chain's head.
    pub fn write(
        &mut self,
        r: &ReqRow,
        decision: &str,
        at: i64,
        chain: &Chain<'_>,
    ) -> BoxResult<()> {
        let decisions = self
            .decisions
            .query_map(params![r.id, at], |d| {
                let (level, kind): (String, String) = (d.get(0)?, d.get(2)?);
                Ok((
                    level,
                    d.get(1)?,
                    kind,
                    d.get(3)?,
                    d.get(4)?,
                    d.get::<_, i64>(5)?,
                ))
            })?
            .map(|d| {
                let (level, actor, kind, comment, duration_s, at) = d?;
                Ok(Decision {
                    level: Level::parse(&level)?,
                    actor,
                    kind: DecisionKind::parse(&kind)?,
                    comment,
                    duration_s,
                    at: from_millis(at),
                })
            })
            .collect::<BoxResult<Vec<_>>>()?;
        let state = State::parse(decision)?;
        let req = Request {
            id: r.id.clone(),
            tenant: r.tenant.clone(),
            state,
            case: r.case.clone(),
            workload: r.workload.into(),
            resource: r.resource.clone(),
            reason: r.reason.into(),
            requester: r.requester.clone(),
            requested_duration_s: r.requested_s,
            granted_duration_s: r.granted_s,
            created_at: from_millis(r.created),
            expires_at: from_millis(r.expires),
            approved_at: r.approved.map(from_millis),
            access_ends_at: r.ends.map(from_millis),
            closed_at: if state == State::Approved {
                None
            } else {
                r.closed.map(from_millis)
            },
            approvals_required: 1,
            provider_approvals_required: 1,
            lockbox_required: true,
            decisions,
        };
        let (decision, body) = receipts::body(
            &req,
            false,
            (chain.seq, Some(&chain.prev)),
            from_millis(at),
            &self.signer.key_id(),
        );
        let (_, signature) = self.signer.sign(&body)?;
        self.ins
            .execute(params![r.id, r.tenant, decision, body, signature, at])?;
        Ok(())
    }
}

/// A request id that sorts by creation time like the engine's UUIDv7 ids.
pub fn request_id(created_ms: i64, n: u64) -> String {
    let ts = (created_ms as u64) & 0xFFFF_FFFF_FFFF;
    let hi = (ts << 16) | 0x7000 | (n >> 48 & 0x0FFF);
    let lo = 0x8000_0000_0000_0000 | (n & 0x3FFF_FFFF_FFFF_FFFF);
    uuid::Uuid::from_u64_pair(hi, lo).to_string()
}

pub const WORKLOADS: [&str; 5] = [
    "Exchange Online",
    "SharePoint Online",
    "Teams",
    "OneDrive",
    "Entra ID",
];
pub const ACTIONS: [&str; 6] = [
    "Read message trace",
    "Export mailbox rules",
    "Open site collection settings",
    "Inspect meeting policy",
    "Download diagnostic log",
    "List sign-in events",
];

pub fn engineer(i: usize) -> String {
    format!("eng{:02}@provider.example", i % 50)
}
pub fn manager(i: usize) -> String {
    format!("mgr{}@provider.example", i % 8)
}
pub fn approver(i: usize) -> String {
    if i.is_multiple_of(3) {
        "root".into()
    } else {
        format!("approver{}", i % 5)
    }
}

fn created_details(r: &ReqRow) -> String {
    json!({
        "case": r.case, "workload": r.workload, "resource": r.resource,
        "reason": r.reason, "requested_duration_s": r.requested_s,
        "expires_at": iso(r.expires),
    })
    .to_string()
}

fn provider_details() -> String {
    json!({ "comment": null, "approvals": 1, "required": 1 }).to_string()
}

/// A pending request (provider-approved, waiting for the customer) expiring at
/// `expires`, with its creation and provider-approval audit entries, its
/// decision and its notices (including the reminder, as a steady state would have).
fn pending_request(
    rows: &mut Rows<'_>,
    chain: &mut Chain<'_>,
    i: usize,
    created: i64,
    expires: i64,
) -> BoxResult<String> {
    let id = request_id(created, i as u64);
    let r = ReqRow {
        id: id.clone(),
        tenant: "default".into(),
        state: "pending",
        case: format!("SR-{}", 4_000_000 + i),
        workload: WORKLOADS[i % WORKLOADS.len()],
        resource: format!("Mailbox: user{i}@contoso.example"),
        reason: "Mail flow rule drops messages for this mailbox",
        requester: engineer(i),
        requested_s: 7200,
        granted_s: None,
        created,
        expires,
        approved: None,
        ends: None,
        closed: None,
    };
    rows.request(&r)?;
    let pa = created + MINUTE;
    rows.decision(&id, 0, "provider", &manager(i), "approve", None, None, pa)?;
    chain.append(
        created,
        created,
        "default",
        "provider",
        &r.requester,
        "request_created",
        Some(&id),
        &created_details(&r),
    )?;
    chain.append(
        pa,
        pa,
        "default",
        "provider",
        &manager(i),
        "provider_approved",
        Some(&id),
        &provider_details(),
    )?;
    rows.notice("default", &id, "pending", pa)?;
    rows.notice("default", &id, "reminder", (expires - HOUR).max(pa))?;
    Ok(id)
}

/// `n` pending requests whose `expires_at` are `first_expiry + i * step_ms`.
/// Returns the last expiry.
pub fn build_pending(
    path: &Path,
    boot_ms: i64,
    n: usize,
    first_expiry: i64,
    step_us: i64,
) -> BoxResult<i64> {
    create_store(path, boot_ms)?;
    let mut c = bulk_conn(path)?;
    let tx = c.transaction()?;
    let mut last = first_expiry;
    {
        let mut rows = Rows::new(&tx)?;
        let mut chain = Chain::open(&tx)?;
        for i in 0..n {
            let expires = first_expiry + (i as i64 * step_us) / 1000;
            let created = expires - 12 * HOUR;
            pending_request(&mut rows, &mut chain, i, created, expires)?;
            last = expires;
        }
    }
    tx.commit()?;
    // No ANALYZE: a real store has no statistics, so neither do fixtures.
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(last)
}

/// The large static store of the audit and query benchmarks: `n_requests`
/// requests over ~98 days before [`t_ref`] in every state, and their whole
/// history as `n_audit` audit entries (lifecycle entries plus `access_used`
/// entries of approved grants), with decisions, receipts and notices.
pub fn build_big(path: &Path, n_requests: usize, n_audit: usize) -> BoxResult<()> {
    let t_ref = t_ref_ms();
    let boot = t_ref - 100 * DAY;
    create_store(path, boot)?;
    let mut c = bulk_conn(path)?;
    let tx = c.transaction()?;
    // Decisions are written before their request row; check at commit.
    tx.execute_batch("PRAGMA defer_foreign_keys = ON;")?;
    {
        let mut rows = Rows::new(&tx)?;
        // Customer approvers.
        for a in 0..5 {
            tx.execute(
                "INSERT INTO users (tenant, name, role, email, created_at) VALUES ('default', ?1, 'approver', NULL, ?2)",
                params![format!("approver{a}"), boot],
            )?;
        }
        // (at, recorded, request index, operation, actor kind, actor, details)
        struct Ev {
            at: i64,
            rec: i64,
            req: u32,
            op: &'static str,
            kind: &'static str,
            actor: String,
            details: String,
        }
        let mut evs: Vec<Ev> = Vec::with_capacity(n_audit);
        let mut grants: Vec<(u32, i64, i64)> = Vec::new(); // (request, from, to)
        let mut ids = Vec::with_capacity(n_requests);
        let mut finals: Vec<ReqRow> = Vec::with_capacity(n_requests);
        let span = 99 * DAY - HOUR; // the newest are still undecided at t_ref
        for i in 0..n_requests {
            let created = boot + DAY + (i as i64 * span) / n_requests as i64;
            let id = request_id(created, i as u64);
            ids.push(id.clone());
            let mut r = ReqRow {
                id: id.clone(),
                tenant: "default".into(),
                state: "awaiting_provider",
                case: format!("SR-{}", 4_000_000 + i),
                workload: WORKLOADS[i % WORKLOADS.len()],
                resource: format!("Mailbox: user{}@contoso.example", i % 997),
                reason: "Mail flow rule drops messages for this mailbox",
                requester: engineer(i),
                requested_s: 4 * 3600,
                granted_s: None,
                created,
                expires: created + 12 * HOUR,
                approved: None,
                ends: None,
                closed: None,
            };
            let ev = |at: i64,
                      rec: i64,
                      op: &'static str,
                      kind: &'static str,
                      actor: String,
                      d: String| Ev {
                at,
                rec,
                req: i as u32,
                op,
                kind,
                actor,
                details: d,
            };
            evs.push(ev(
                created,
                created,
                "request_created",
                "provider",
                r.requester.clone(),
                created_details(&r),
            ));
            let recent = r.expires > t_ref;
            let pa = created + 5 * MINUTE;
            let decide = created + 30 * MINUTE;
            let class = if recent { 20 + i % 3 } else { i % 20 };
            let mut idx = 0;
            let provider_approve =
                |rows: &mut Rows<'_>, evs: &mut Vec<Ev>, idx: &mut i64| -> BoxResult<()> {
                    if pa <= t_ref {
                        rows.decision(
                            &id,
                            *idx,
                            "provider",
                            &manager(i),
                            "approve",
                            None,
                            None,
                            pa,
                        )?;
                        *idx += 1;
                        evs.push(ev(
                            pa,
                            pa,
                            "provider_approved",
                            "provider",
                            manager(i),
                            provider_details(),
                        ));
                        rows.notice("default", &id, "pending", pa)?;
                    }
                    Ok(())
                };
            match class {
                // approved, then completed or revoked
                0..=13 | 22 => {
                    provider_approve(&mut rows, &mut evs, &mut idx)?;
                    if decide > t_ref {
                        r.state = "pending";
                    } else {
                        let granted = if i % 4 == 0 { 2 * 3600 } else { 4 * 3600 };
                        let ends = decide + granted * 1000;
                        rows.decision(
                            &id,
                            idx,
                            "customer",
                            &approver(i),
                            "approve",
                            Some("OK for this case"),
                            Some(granted),
                            decide,
                        )?;
                        idx += 1;
                        r.state = "approved";
                        r.granted_s = Some(granted);
                        r.approved = Some(decide);
                        r.ends = Some(ends);
                        evs.push(ev(decide, decide, "approved", "customer", approver(i), json!({
                            "comment": "OK for this case", "duration_s": granted, "approvals": 1, "required": 1,
                            "final": true, "granted_duration_s": granted, "access_ends_at": iso(ends),
                        }).to_string()));
                        let revoke = class == 12 || class == 13;
                        let end = if revoke { decide + HOUR } else { ends };
                        if end <= t_ref {
                            if revoke {
                                rows.decision(
                                    &id,
                                    idx,
                                    "customer",
                                    &approver(i + 1),
                                    "revoke",
                                    Some("Case solved"),
                                    None,
                                    end,
                                )?;
                                r.state = "revoked";
                                evs.push(ev(
                                    end,
                                    end,
                                    "revoked",
                                    "customer",
                                    approver(i + 1),
                                    json!({
                                    "comment": "Case solved", "access_was_to_end_at": iso(ends)})
                                    .to_string(),
                                ));
                            } else {
                                r.state = "completed";
                                evs.push(ev(
                                    end,
                                    end + 150,
                                    "completed",
                                    "system",
                                    "lockbox".into(),
                                    json!({ "deadline": iso(end) }).to_string(),
                                ));
                                rows.notice("default", &id, "access_ended", end + 150)?;
                            }
                            r.closed = Some(end);
                        }
                        grants.push((i as u32, decide, end.min(t_ref)));
                    }
                }
                14 | 15 => {
                    provider_approve(&mut rows, &mut evs, &mut idx)?;
                    rows.decision(
                        &id,
                        idx,
                        "customer",
                        &approver(i),
                        "reject",
                        Some("Not needed"),
                        None,
                        decide,
                    )?;
                    r.state = "rejected";
                    r.closed = Some(decide);
                    evs.push(ev(
                        decide,
                        decide,
                        "rejected",
                        "customer",
                        approver(i),
                        json!({ "comment": "Not needed" }).to_string(),
                    ));
                }
                16 | 17 | 19 => {
                    let unanswered = if class == 19 {
                        "awaiting_provider"
                    } else {
                        provider_approve(&mut rows, &mut evs, &mut idx)?;
                        "pending"
                    };
                    r.state = "expired";
                    r.closed = Some(r.expires);
                    evs.push(ev(
                        r.expires,
                        r.expires + 200,
                        "expired",
                        "system",
                        "lockbox".into(),
                        json!({ "deadline": iso(r.expires), "unanswered_in": unanswered })
                            .to_string(),
                    ));
                    rows.notice("default", &id, "expired", r.expires + 200)?;
                }
                18 => {
                    let at = created + 10 * MINUTE;
                    rows.decision(
                        &id,
                        0,
                        "provider",
                        &r.requester,
                        "cancel",
                        Some("Fixed by the customer"),
                        None,
                        at,
                    )?;
                    r.state = "canceled";
                    r.closed = Some(at);
                    evs.push(ev(
                        at,
                        at,
                        "canceled",
                        "provider",
                        r.requester.clone(),
                        json!({ "comment": "Fixed by the customer" }).to_string(),
                    ));
                }
                20 => {} // awaiting the provider
                _ => {
                    provider_approve(&mut rows, &mut evs, &mut idx)?;
                    r.state = if pa <= t_ref {
                        "pending"
                    } else {
                        "awaiting_provider"
                    };
                }
            }
            rows.request(&r)?;
            finals.push(r);
        }
        // Fill up with access_used entries spread over the grants.
        // What opening the new store wrote: tenant_added, user_added, receipt_key_created.
        let boot_entries: i64 = tx.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?;
        let boot_entries = boot_entries as usize;
        let missing = n_audit.saturating_sub(evs.len() + boot_entries);
        if !grants.is_empty() {
            let per = missing / grants.len();
            let extra = missing % grants.len();
            for (g, &(req, from, to)) in grants.iter().enumerate() {
                let k = per + usize::from(g < extra);
                let len = (to - from).max(1);
                for j in 0..k {
                    let at = from + (len * j as i64) / k as i64;
                    let action = ACTIONS[(g + j) % ACTIONS.len()];
                    evs.push(Ev {
                        at,
                        rec: at,
                        req,
                        op: "access_used",
                        kind: "provider",
                        actor: engineer(req as usize),
                        details: json!({ "action": action }).to_string(),
                    });
                }
            }
        }
        evs.sort_by_key(|e| e.rec);
        let mut chain = Chain::open(&tx)?;
        let mut receipts = Receipts::new(&tx)?;
        for e in &evs {
            chain.append(
                e.at,
                e.rec,
                "default",
                e.kind,
                &e.actor,
                e.op,
                Some(&ids[e.req as usize]),
                &e.details,
            )?;
            if matches!(e.op, "approved" | "rejected" | "revoked") {
                receipts.write(&finals[e.req as usize], e.op, e.rec, &chain)?;
            }
        }
    }
    tx.commit()?;
    // No ANALYZE: a real store has no statistics, so neither do fixtures.
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}
