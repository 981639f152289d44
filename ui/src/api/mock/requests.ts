// Requests: filing and the provider's approval (the seeding API), the
// customer's decisions, and the list. The rules and messages are the engine's
// (lockbox-core machine.rs and store/requests.rs); tests/scenarios/commands.json
// checks that both answer alike.

import type { DecisionDto } from "../../bindings/DecisionDto";
import type { RequestDto } from "../../bindings/RequestDto";
import type { RequestPage } from "../../bindings/RequestPage";
import type { RequestQuery } from "../../bindings/RequestQuery";
import type { MockBackend } from "./backend";
import type { MockNewRequest } from "./types";
import { clone, fail, formatDuration, iso, LIMITS, ms, optionalText, required, samePerson, TERMINAL, uuid } from "./util";

type Event = "approve" | "reject" | "revoke" | "provider-approve";

/** The engine's checks before any transition (machine.rs `step`). */
function refuseOutOfTurn(r: RequestDto, ev: Event, legalFrom: RequestDto["state"], now: number): void {
  if (TERMINAL.includes(r.state)) {
    fail("invalid_transition", `cannot ${ev} request ${r.id}: it is ${r.state}, and a ${r.state} request never changes again`);
  }
  if ((r.state === "pending" || r.state === "awaiting_provider") && now >= ms(r.expires_at)) {
    fail("request_expired", `request ${r.id} expired at ${r.expires_at} without a decision`);
  }
  if (r.state === "approved" && r.access_ends_at && now >= ms(r.access_ends_at)) {
    fail("invalid_transition", `cannot ${ev} request ${r.id}: its access window ended at ${r.access_ends_at}`);
  }
  if (r.state !== legalFrom) fail("invalid_transition", `cannot ${ev} request ${r.id}: it is ${r.state}`);
}

function hasDecided(r: RequestDto, level: DecisionDto["level"], actor: string): boolean {
  return r.decisions.some((d) => d.level === level && samePerson(d.actor, actor));
}

function grant(r: RequestDto, durationS: number, now: number): void {
  r.state = "approved";
  r.granted_duration_s = durationS;
  r.approved_at = iso(now);
  r.access_ends_at = iso(now + durationS * 1000);
}

/** The provider level is satisfied: ask the customer, or approve by policy. */
function passProviderLevel(b: MockBackend, r: RequestDto, now: number): void {
  if (r.lockbox_required) {
    r.state = "pending";
    return;
  }
  grant(r, r.requested_duration_s, now);
  b.log(r.tenant, "system", "lockbox", "auto_approved", r.id, {
    policy: "customer lockbox is off for this tenant",
    granted_duration_s: r.requested_duration_s,
    access_ends_at: r.access_ends_at,
  });
}

function changed(b: MockBackend, tenant: string): void {
  b.emit("requests_changed", tenant);
  b.emit("audit_appended", tenant);
}

/** File a request as a provider engineer would (the engine's `file_request`). */
export function fileRequest(b: MockBackend, tenant: string, n: MockNewRequest): RequestDto {
  const t = b.tenant(tenant);
  const settings = b.settingsOf(t);
  const engineer = required("engineer", n.engineer);
  const caseNo = required("case", n.case, 64);
  const workload = required("workload", n.workload, 64);
  const resource = required("resource", n.resource, 512);
  const reason = optionalText("reason", n.reason, 4000) ?? fail("invalid_input", "reason must not be empty");
  const duration = n.duration_s ?? settings.max_access_duration_s;
  if (duration <= 0) fail("invalid_input", "the requested duration must be positive");
  if (duration > settings.max_access_duration_s) {
    fail(
      "duration_too_long",
      `requested duration ${formatDuration(duration)} is longer than this tenant's max-access-duration ${formatDuration(settings.max_access_duration_s)}`,
    );
  }
  const now = b.now();
  const r: RequestDto = {
    id: uuid(b.rand),
    tenant: t,
    state: "awaiting_provider",
    case: caseNo,
    workload,
    resource,
    reason,
    requester: engineer,
    requested_duration_s: duration,
    granted_duration_s: null,
    created_at: iso(now),
    expires_at: iso(now + settings.request_lifetime_s * 1000),
    approved_at: null,
    access_ends_at: null,
    closed_at: null,
    approvals_required: settings.approvals_required,
    provider_approvals_required: settings.provider_approvals_required,
    lockbox_required: settings.lockbox_enabled,
    decisions: [],
  };
  b.log(t, "provider", engineer, "request_created", r.id, {
    case: r.case,
    workload,
    resource,
    reason,
    requested_duration_s: duration,
    expires_at: r.expires_at,
    approvals_required: r.approvals_required,
    provider_approvals_required: r.provider_approvals_required,
    lockbox_required: r.lockbox_required,
  });
  if (r.provider_approvals_required === 0) passProviderLevel(b, r, now);
  b.requests.get(t)?.push(r);
  changed(b, t);
  return clone(r);
}

/** The provider's manager approves (the engine's `provider_approve`). */
export function providerApprove(b: MockBackend, tenant: string, id: string, rawManager: string, rawComment: string | null): RequestDto {
  b.tick();
  const r = b.request(tenant, id);
  const now = b.now();
  refuseOutOfTurn(r, "provider-approve", "awaiting_provider", now);
  const manager = required("manager", rawManager);
  if (samePerson(manager, r.requester)) fail("self_approval", `${manager} filed request ${r.id} and cannot approve it`);
  if (hasDecided(r, "provider", manager)) {
    fail("already_decided", `${manager} has already approved request ${r.id} for the provider`);
  }
  const comment = optionalText("comment", rawComment, LIMITS.COMMENT);
  r.decisions.push({ level: "provider", actor: manager, decision: "approve", comment, duration_s: null, at: iso(now) });
  const have = r.decisions.filter((d) => d.level === "provider" && d.decision === "approve").length;
  b.log(tenant, "provider", manager, "provider_approved", r.id, { comment, approvals: have, required: r.provider_approvals_required });
  if (have >= r.provider_approvals_required) passProviderLevel(b, r, now);
  changed(b, tenant);
  return clone(r);
}

export function approve(b: MockBackend, tenant: string, id: string, rawComment: string | null, durationS: number | null): RequestDto {
  b.requireRole(false);
  const r = b.request(tenant, id);
  const now = b.now();
  refuseOutOfTurn(r, "approve", "pending", now);
  const me = b.user;
  if (samePerson(me, r.requester)) fail("self_approval", `${me} filed request ${r.id} and cannot approve it`);
  if (hasDecided(r, "customer", me)) fail("already_decided", `${me} has already decided request ${r.id}`);
  if (durationS !== null && (durationS <= 0 || durationS > r.requested_duration_s)) {
    fail("invalid_input", `the granted duration must be positive and at most the requested ${formatDuration(r.requested_duration_s)}`);
  }
  const comment = optionalText("comment", rawComment, LIMITS.COMMENT);
  r.decisions.push({ level: "customer", actor: me, decision: "approve", comment, duration_s: durationS, at: iso(now) });
  const approvals = r.decisions.filter((d) => d.level === "customer" && d.decision === "approve");
  const final = approvals.length >= r.approvals_required;
  // The shortest duration any approver granted wins.
  if (final) grant(r, Math.min(r.requested_duration_s, ...approvals.map((d) => d.duration_s ?? r.requested_duration_s)), now);
  b.log(tenant, "customer", me, "approved", r.id, {
    comment,
    duration_s: durationS,
    approvals: approvals.length,
    required: r.approvals_required,
    final,
    granted_duration_s: r.granted_duration_s,
    access_ends_at: r.access_ends_at,
  });
  changed(b, tenant);
  return clone(r);
}

export function reject(b: MockBackend, tenant: string, id: string, rawComment: string | null): RequestDto {
  b.requireRole(false);
  const r = b.request(tenant, id);
  const now = b.now();
  refuseOutOfTurn(r, "reject", "pending", now);
  if (hasDecided(r, "customer", b.user)) fail("already_decided", `${b.user} has already decided request ${r.id}`);
  const comment = optionalText("comment", rawComment, LIMITS.COMMENT);
  r.decisions.push({ level: "customer", actor: b.user, decision: "reject", comment, duration_s: null, at: iso(now) });
  r.state = "rejected";
  r.closed_at = iso(now);
  b.log(tenant, "customer", b.user, "rejected", r.id, { comment });
  changed(b, tenant);
  return clone(r);
}

export function revoke(b: MockBackend, tenant: string, id: string, rawComment: string | null): RequestDto {
  b.requireRole(false);
  const r = b.request(tenant, id);
  const now = b.now();
  refuseOutOfTurn(r, "revoke", "approved", now);
  const comment = optionalText("comment", rawComment, LIMITS.COMMENT);
  r.decisions.push({ level: "customer", actor: b.user, decision: "revoke", comment, duration_s: null, at: iso(now) });
  r.state = "revoked";
  r.closed_at = iso(now);
  b.log(tenant, "customer", b.user, "revoked", r.id, { comment, access_was_to_end_at: r.access_ends_at });
  changed(b, tenant);
  return clone(r);
}

/** What "expires soonest" sorts by (the engine's `deadline_at`; none sorts last). */
const NO_DEADLINE = Number.MAX_SAFE_INTEGER;
function deadline(r: RequestDto): number {
  if (r.state === "pending" || r.state === "awaiting_provider") return ms(r.expires_at);
  if (r.state === "approved" && r.access_ends_at) return ms(r.access_ends_at);
  return NO_DEADLINE;
}

/** Keyset paging as the store does it: the cursor is "<sort key>:<id>" of the last row. */
function parseCursor(c: string): [number, string] {
  const i = c.indexOf(":");
  const key = i < 0 ? NaN : Number(c.slice(0, i));
  const id = i < 0 ? "" : c.slice(i + 1);
  if (!/^-?\d+$/.test(c.slice(0, Math.max(i, 0))) || Number.isNaN(key) || id === "") {
    fail("invalid_input", `'${c}' is not a valid page cursor`);
  }
  return [key, id];
}

export function listRequests(b: MockBackend, tenant: string, q: Partial<RequestQuery>): RequestPage {
  let items = [...(b.requests.get(tenant) ?? [])];
  const states = q.states ?? [];
  if (states.length > 0) items = items.filter((r) => states.includes(r.state));
  const s = q.search?.trim().toLowerCase();
  if (s) {
    items = items.filter((r) => [r.case, r.requester, r.id, r.workload, r.resource].some((f) => f.toLowerCase().includes(s)));
  }
  const total = items.length;
  const sort = q.sort ?? "newest";
  const key = sort === "expires_soonest" ? deadline : (r: RequestDto) => ms(r.created_at);
  const desc = sort === "newest";
  const cmp = (a: [number, string], z: [number, string]) => (a[0] !== z[0] ? a[0] - z[0] : a[1] < z[1] ? -1 : a[1] > z[1] ? 1 : 0);
  const keyed = items.map((r) => ({ r, k: [key(r), r.id] as [number, string] }));
  keyed.sort((a, z) => (desc ? cmp(z.k, a.k) : cmp(a.k, z.k)));
  let rest = keyed;
  if (q.cursor) {
    const c = parseCursor(q.cursor);
    rest = keyed.filter((x) => (desc ? cmp(x.k, c) < 0 : cmp(x.k, c) > 0));
  }
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 1000);
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: clone(page.map((x) => x.r)),
    next_cursor: rest.length > limit && last ? `${last.k[0]}:${last.k[1]}` : null,
    total,
  };
}
