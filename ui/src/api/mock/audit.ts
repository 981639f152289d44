// The audit log's reads: queries (the engine's `audit_page`), verification of
// the chains, and the home page's numbers.

import type { AuditEntryDto } from "../../bindings/AuditEntryDto";
import type { AuditPage } from "../../bindings/AuditPage";
import type { AuditQuery } from "../../bindings/AuditQuery";
import type { DayCount } from "../../bindings/DayCount";
import type { HomeStats } from "../../bindings/HomeStats";
import type { VerifyReport } from "../../bindings/VerifyReport";
import type { MockBackend } from "./backend";
import { clone, DAY, entryHash, HOUR, iso, ms, parseTime, ZERO_HASH } from "./util";

/** The entries of `tenant` that `q` selects, newest first (its limit aside). */
export function filterAudit(b: MockBackend, tenant: string, q: Partial<AuditQuery>): AuditEntryDto[] {
  const time = (s: string | null | undefined) => (s && s.trim() !== "" ? parseTime(s) : null);
  const since = time(q.since) ?? -Infinity;
  const until = time(q.until) ?? Infinity;
  const text = q.text?.trim().toLowerCase();
  return b.audit
    .filter((e) => {
      if (e.tenant !== tenant) return false;
      const at = ms(e.at);
      if (at < since || at >= until) return false;
      if (q.before_seq != null && e.seq >= q.before_seq) return false;
      // Like the engine: request id, actor and operation match exactly.
      if (q.request_id && e.request_id !== q.request_id) return false;
      if (q.actor && e.actor !== q.actor) return false;
      if (q.operation && e.operation !== q.operation) return false;
      if (text) {
        const fields = [e.actor, e.operation, e.request_id ?? "", JSON.stringify(e.details)];
        if (!fields.some((f) => f.toLowerCase().includes(text))) return false;
      }
      return true;
    })
    .sort((a, z) => z.seq - a.seq);
}

export function queryAudit(b: MockBackend, tenant: string, q: Partial<AuditQuery>): AuditPage {
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 1000);
  const items = filterAudit(b, tenant, q).slice(0, limit);
  const last = items[items.length - 1];
  // As the engine pages: a full page may have more after it.
  return { items: clone(items), next_before_seq: items.length >= limit && last ? last.seq : null };
}

export function verify(b: MockBackend): VerifyReport {
  const heads = new Map<string, AuditEntryDto>();
  const broken = (e: AuditEntryDto, problem: string): VerifyReport => ({
    ok: false,
    entries: b.audit.length,
    chains: [],
    first_bad_seq: e.seq,
    problem,
    requests: 0,
    first_disagreement: null,
    checkpoints: [],
  });
  for (const e of b.audit) {
    const { hash, ...rest } = e;
    const prev = heads.get(e.tenant);
    if (e.tenant_seq !== (prev?.tenant_seq ?? 0) + 1 || e.prev_hash !== (prev?.hash ?? ZERO_HASH)) {
      return broken(e, "its prev_hash does not match the hash of its tenant's previous entry");
    }
    if (entryHash(rest) !== hash) return broken(e, "its content does not match its hash (the entry was edited)");
    heads.set(e.tenant, e);
  }
  const requests = [...b.requests.values()].reduce((n, list) => n + list.length, 0);
  const edited = b.editedState;
  const chains = [...heads.values()]
    .sort((x, y) => x.tenant.localeCompare(y.tenant))
    .map((h) => ({ tenant: h.tenant, entries: h.tenant_seq, head_hash: h.hash }));
  return { ok: edited === null, entries: b.audit.length, chains, first_bad_seq: null, problem: null, requests, first_disagreement: edited, checkpoints: [] };
}

export function homeStats(b: MockBackend, tenant: string): HomeStats {
  const now = b.now();
  const list = b.requests.get(tenant) ?? [];
  const days: DayCount[] = [];
  const today = new Date(now);
  const startOfToday = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  for (let i = 29; i >= 0; i--) {
    days.push({ day: iso(startOfToday - i * DAY * 1000).slice(0, 10), approved: 0, rejected: 0, expired: 0, canceled: 0 });
  }
  const bump = (at: string | null, k: "approved" | "rejected" | "expired" | "canceled") => {
    if (!at) return;
    const d = days.find((x) => x.day === at.slice(0, 10));
    if (d) d[k] += 1;
  };
  for (const r of list) {
    if (r.state === "approved" || r.state === "completed" || r.state === "revoked") bump(r.approved_at, "approved");
    else if (r.state === "rejected") bump(r.closed_at, "rejected");
    else if (r.state === "expired") bump(r.closed_at, "expired");
    else if (r.state === "canceled") bump(r.closed_at, "canceled");
  }
  return {
    pending: list.filter((r) => r.state === "pending").length,
    expiring_within_2h: list.filter((r) => r.state === "pending" && ms(r.expires_at) - now <= 2 * HOUR * 1000).length,
    active_grants: list.filter((r) => r.state === "approved").length,
    decisions_last_30d: days.reduce((n, d) => n + d.approved + d.rejected + d.expired + d.canceled, 0),
    per_day: days,
  };
}
