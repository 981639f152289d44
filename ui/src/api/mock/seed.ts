// The demo data of `npm run dev` and the component tests (two tenants, about
// 30 requests in every state, ~200 chained audit entries, a provider
// connection, email deliveries), generated from a seed; and the start of a
// new store (MockOptions.fresh), as the engine makes it.

import type { ActorKind } from "../../bindings/ActorKind";
import type { DeliveryDto } from "../../bindings/DeliveryDto";
import type { RequestDto } from "../../bindings/RequestDto";
import type { RequestState } from "../../bindings/RequestState";
import type { UserDto } from "../../bindings/UserDto";
import type { JsonValue } from "../../bindings/serde_json/JsonValue";
import type { MockBackend } from "./backend";
import { TOKEN_PREFIX } from "./provider";
import { MOCK_USER, type MockOptions, type MockToken, type PendingAudit } from "./types";
import { DAY, DEFAULT_SETTINGS, HOUR, iso, MIN, mockHash, ms, pick, uuid } from "./util";

const WORKLOADS: Array<[string, (r: () => number) => string]> = [
  ["Exchange Online", (r) => `${pick(r, ["megan.bowen", "nestor.wilke", "lidia.holloway", "joni.sherman", "isaiah.langer", "grady.archie"])}@contoso.com mailbox`],
  ["SharePoint Online", (r) => `https://contoso.sharepoint.com/sites/${pick(r, ["Finance", "HR", "Legal", "Marketing", "Engineering"])}`],
  ["OneDrive for Business", (r) => `OneDrive of ${pick(r, ["Megan Bowen", "Diego Siciliani", "Adele Vance", "Lee Gu"])}`],
  ["Microsoft Teams", (r) => `Team "${pick(r, ["Sales EMEA", "Project Falcon", "Leadership", "IT Ops"])}"`],
  ["Azure Storage", (r) => `storage account ${pick(r, ["contosodata01", "contosologs", "contosobackup"])}`],
];

const REASONS = [
  "Customer reports mailbox items disappearing after a retention policy change; need to inspect the folder hierarchy and item properties.",
  "Search index corruption suspected on the site; need to read the crawl log and affected list items to rebuild.",
  "Sync client fails with error 0x8004de40 for this user; need to inspect the OneDrive metadata.",
  "Meeting recordings missing from the channel; need to check the recording files and their permissions.",
  "Calendar sharing broken between two users after migration; need to examine the calendar folder permissions.",
  "Customer asked us to recover a document library that was deleted by a faulty script.",
  "Transport rule causes message loops; need to look at sample messages in the mailbox to reproduce.",
  "Blob lifecycle policy deleted data unexpectedly; need to inspect the container inventory.",
];

const ENGINEERS = ["dana.kim@provider.example", "omar.haddad@provider.example", "sofia.rossi@provider.example", "li.wei@provider.example"];
const MANAGERS = ["lee.chen@provider.example", "ana.silva@provider.example"];

/** Fills `b` with the demo data (MockOptions `seed`, `empty`, `singleTenant`). */
export function seedDemo(b: MockBackend, r: () => number, opts: MockOptions): void {
  const t0 = b.now();
  b.tenants = [{ id: "contoso", name: "Contoso Ltd", created_at: iso(t0 - 400 * DAY * 1000) }];
  if (!opts.singleTenant) {
    b.tenants.push({ id: "fabrikam", name: "Fabrikam, Inc.", created_at: iso(t0 - 200 * DAY * 1000) });
  }
  const seedAudit: PendingAudit[] = [];
  for (const t of b.tenants) {
    b.settings.set(t.id, { ...DEFAULT_SETTINGS });
    b.requests.set(t.id, []);
    const users: UserDto[] =
      t.id === "contoso"
        ? [
            { name: MOCK_USER, role: "admin", email: "alex.wilber@contoso.com", created_at: iso(t0 - 380 * DAY * 1000) },
            { name: "Lidia Holloway", role: "admin", email: "lidia.holloway@contoso.com", created_at: iso(t0 - 300 * DAY * 1000) },
            { name: "Megan Bowen", role: "approver", email: "megan.bowen@contoso.com", created_at: iso(t0 - 120 * DAY * 1000) },
            { name: "Nestor Wilke", role: "approver", email: null, created_at: iso(t0 - 25 * DAY * 1000) },
          ]
        : [
            { name: MOCK_USER, role: "admin", email: "alex@fabrikam.com", created_at: iso(t0 - 190 * DAY * 1000) },
            { name: "Pradeep Gupta", role: "approver", email: "pradeep@fabrikam.com", created_at: iso(t0 - 20 * DAY * 1000) },
          ];
    b.users.set(t.id, users);
    for (const u of users) {
      if (t0 - ms(u.created_at) < 31 * DAY * 1000) {
        seedAudit.push({
          at: u.created_at,
          tenant: t.id,
          actor_kind: "customer",
          actor: MOCK_USER,
          operation: "user_added",
          request_id: null,
          details: { user: u.name, role: u.role, email: u.email },
        });
      }
    }
  }
  seedAudit.push({
    at: iso(t0 - 27 * DAY * 1000),
    tenant: "contoso",
    actor_kind: "customer",
    actor: MOCK_USER,
    operation: "settings_changed",
    request_id: null,
    details: { changes: [{ key: "request-lifetime", old: "1d", new: "12h" }] },
  });
  if (!opts.empty) {
    seedRequests(b, r, t0, "contoso", CONTOSO_PLAN, seedAudit);
    if (!opts.singleTenant) seedRequests(b, r, t0, "fabrikam", FABRIKAM_PLAN, seedAudit);
  }
  for (const t of b.tenants) {
    b.tokens.set(t.id, []);
    b.smtp.set(t.id, null);
    b.deliveries.set(t.id, []);
  }
  seedProvider(b, r, t0, seedAudit);
  seedAudit.sort((x, y) => ms(x.at) - ms(y.at));
  for (const e of seedAudit) b.append(e, ms(e.at));
}

/** A new store, as Engine::open makes it: one tenant, `user` its only admin. */
export function seedFresh(b: MockBackend, fresh: { tenant: string; user: string }): void {
  const now = b.now();
  const at = iso(now);
  b.user = fresh.user;
  b.tenants = [{ id: fresh.tenant, name: "Default tenant", created_at: at }];
  b.settings.set(fresh.tenant, { ...DEFAULT_SETTINGS });
  b.users.set(fresh.tenant, [{ name: fresh.user, role: "admin", email: null, created_at: at }]);
  b.requests.set(fresh.tenant, []);
  b.tokens.set(fresh.tenant, []);
  b.smtp.set(fresh.tenant, null);
  b.deliveries.set(fresh.tenant, []);
  const settings = {
    "approvals-required": "1",
    lockbox: "on",
    "max-access-duration": "4h",
    "provider-approvals-required": "1",
    "reminder-lead": "1h",
    "request-lifetime": "12h",
  };
  const entries: PendingAudit[] = [
    { at, tenant: fresh.tenant, actor_kind: "system", actor: "lockbox", operation: "tenant_added", request_id: null, details: { tenant: fresh.tenant, name: "Default tenant", settings } },
    { at, tenant: fresh.tenant, actor_kind: "system", actor: "lockbox", operation: "user_added", request_id: null, details: { user: fresh.user, role: "admin", email: null, first_admin: true } },
    { at, tenant: fresh.tenant, actor_kind: "system", actor: "lockbox", operation: "receipt_key_created", request_id: null, details: { key_id: mockHash("receipt key").slice(0, 16), existing: false } },
  ];
  for (const e of entries) b.append(e, now);
}

function seedRequests(
  b: MockBackend,
  r: () => number,
  t0: number,
  tenant: string,
  plan: Array<[RequestState, number]>,
  out: PendingAudit[],
) {
  const settings = b.settings.get(tenant) ?? DEFAULT_SETTINGS;
  const list = b.requests.get(tenant) ?? [];
  let caseNo = 7100231 + Math.floor(r() * 1000);
  for (const [state, ageS] of plan) {
    const [workload, res] = pick(r, WORKLOADS);
    const requester = pick(r, ENGINEERS);
    const manager = pick(r, MANAGERS);
    const created = t0 - ageS * 1000;
    const requested = pick(r, [1, 2, 4, 4, 4]) * HOUR;
    const approvalsRequired = state === "pending" && list.length === 1 ? 2 : settings.approvals_required;
    const req: RequestDto = {
      id: uuid(r),
      tenant,
      state,
      case: `CASE-${caseNo++}`,
      workload,
      resource: res(r),
      reason: pick(r, REASONS),
      requester,
      requested_duration_s: requested,
      granted_duration_s: null,
      created_at: iso(created),
      expires_at: iso(created + settings.request_lifetime_s * 1000),
      approved_at: null,
      access_ends_at: null,
      closed_at: null,
      approvals_required: approvalsRequired,
      provider_approvals_required: settings.provider_approvals_required,
      lockbox_required: true,
      decisions: [],
    };
    const ev = (atMs: number, actor_kind: ActorKind, actor: string, operation: string, details: JsonValue) =>
      out.push({ at: iso(atMs), tenant, actor_kind, actor, operation, request_id: req.id, details });
    ev(created, "provider", requester, "request_created", {
      case: req.case,
      workload,
      resource: req.resource,
      reason: req.reason,
      requested_duration_s: requested,
      expires_at: req.expires_at,
    });
    if (state !== "awaiting_provider") {
      const at = created + (3 + Math.floor(r() * 20)) * MIN * 1000;
      req.decisions.push({ level: "provider", actor: manager, decision: "approve", comment: null, duration_s: null, at: iso(at) });
      ev(at, "provider", manager, "provider_approved", { comment: null, approvals: 1, required: 1 });
    }
    const decideAt = Math.min(created + (20 + Math.floor(r() * 200)) * MIN * 1000, t0 - 5 * MIN * 1000);
    const approver = pick(r, ["Lidia Holloway", "Megan Bowen", MOCK_USER]);
    const approve = (granted: number | null, comment: string | null) => {
      req.decisions.push({ level: "customer", actor: approver, decision: "approve", comment, duration_s: granted, at: iso(decideAt) });
      req.granted_duration_s = granted ?? requested;
      req.approved_at = iso(decideAt);
      req.access_ends_at = iso(decideAt + req.granted_duration_s * 1000);
      ev(decideAt, "customer", approver, "approved", {
        comment,
        duration_s: granted,
        approvals: 1,
        required: 1,
        final: true,
        granted_duration_s: req.granted_duration_s,
        access_ends_at: req.access_ends_at,
      });
      const uses = 7 + Math.floor(r() * 8);
      const end = Math.min(ms(req.access_ends_at), t0);
      for (let i = 0; i < uses; i++) {
        const at = decideAt + Math.floor(((end - decideAt) * (i + 1)) / (uses + 1));
        ev(at, "provider", requester, "access_used", {
          action: pick(r, ["read item properties", "list folders", "export diagnostic log", "read permissions", "open item"]),
        });
      }
    };
    switch (state) {
      case "pending": {
        if (req.approvals_required > 1) {
          req.decisions.push({ level: "customer", actor: "Lidia Holloway", decision: "approve", comment: "Looks legitimate.", duration_s: null, at: iso(decideAt) });
          ev(decideAt, "customer", "Lidia Holloway", "approved", {
            comment: "Looks legitimate.",
            duration_s: null,
            approvals: 1,
            required: 2,
            final: false,
            granted_duration_s: null,
            access_ends_at: null,
          });
        }
        break;
      }
      case "approved": {
        // Keep the grant running: approved recently, ends in the future.
        const granted = requested;
        const at = t0 - Math.floor(r() * Math.min(0.6 * granted, 0.5 * ageS)) * 1000 - 60_000;
        req.decisions.push({ level: "customer", actor: approver, decision: "approve", comment: "Approved for the duration of the case.", duration_s: null, at: iso(at) });
        req.granted_duration_s = granted;
        req.approved_at = iso(at);
        req.access_ends_at = iso(at + granted * 1000);
        ev(at, "customer", approver, "approved", {
          comment: "Approved for the duration of the case.",
          duration_s: null,
          approvals: 1,
          required: 1,
          final: true,
          granted_duration_s: granted,
          access_ends_at: req.access_ends_at,
        });
        for (let i = 0; i < 6; i++) {
          ev(at + Math.floor(((t0 - at) * (i + 1)) / 7), "provider", requester, "access_used", { action: "read item properties" });
        }
        break;
      }
      case "completed": {
        const shorter = r() < 0.4 ? Math.max(HOUR / 2, requested / 2) : null;
        approve(shorter, shorter ? "Shorter window is enough." : null);
        req.closed_at = req.access_ends_at;
        ev(ms(req.access_ends_at ?? req.created_at), "system", "lockbox", "completed", { deadline: req.access_ends_at });
        break;
      }
      case "revoked": {
        approve(null, null);
        const at = Math.min(ms(req.approved_at ?? req.created_at) + 25 * MIN * 1000, t0);
        req.decisions.push({ level: "customer", actor: MOCK_USER, decision: "revoke", comment: "Issue resolved, access no longer needed.", duration_s: null, at: iso(at) });
        req.closed_at = iso(at);
        ev(at, "customer", MOCK_USER, "revoked", { comment: "Issue resolved, access no longer needed.", access_was_to_end_at: req.access_ends_at });
        break;
      }
      case "rejected": {
        const comment = pick(r, ["Not during quarter close.", "Please reproduce with test data first.", null]);
        req.decisions.push({ level: "customer", actor: approver, decision: "reject", comment, duration_s: null, at: iso(decideAt) });
        req.closed_at = iso(decideAt);
        ev(decideAt, "customer", approver, "rejected", { comment });
        break;
      }
      case "expired": {
        req.closed_at = req.expires_at;
        ev(ms(req.expires_at), "system", "lockbox", "expired", { deadline: req.expires_at, unanswered_in: "pending" });
        break;
      }
      case "canceled": {
        const at = created + 40 * MIN * 1000;
        req.decisions.push({ level: "provider", actor: requester, decision: "cancel", comment: "Fixed without content access.", duration_s: null, at: iso(at) });
        req.closed_at = iso(at);
        ev(at, "provider", requester, "canceled", { comment: "Fixed without content access." });
        break;
      }
      case "awaiting_provider":
        break;
    }
    list.push(req);
  }
  b.requests.set(tenant, list);
}

/** One provider connection in Contoso; approver email history (SMTP is off now). */
function seedProvider(b: MockBackend, r: () => number, t0: number, out: PendingAudit[]) {
  const created = t0 - 20 * DAY * 1000;
  const token: MockToken = {
    id: uuid(r),
    name: "Provider support (production)",
    created_at: iso(created),
    expires_at: iso(created + 365 * DAY * 1000),
    revoked_at: null,
    secret_hash: mockHash(`${TOKEN_PREFIX}seed`),
  };
  b.tokens.set("contoso", [token]);
  out.push({
    at: token.created_at,
    tenant: "contoso",
    actor_kind: "customer",
    actor: MOCK_USER,
    operation: "token_issued",
    request_id: null,
    details: { connection: token.name, token_id: token.id, expires_at: token.expires_at },
  });
  const pending = (b.requests.get("contoso") ?? [])
    .filter((x) => x.state === "pending")
    .sort((x, y) => ms(y.created_at) - ms(x.created_at));
  const [newest, older, oldest] = pending;
  const list: DeliveryDto[] = [];
  if (newest) {
    list.push({
      request_id: newest.id,
      kind: "pending",
      outcome: "failed",
      attempts: 3,
      detail: "SMTP: Connection refused (os error 111)",
      next_attempt_at: iso(t0 + 8 * MIN * 1000),
      at: iso(t0 - 2 * MIN * 1000),
    });
  }
  if (older) {
    list.push({ request_id: older.id, kind: "pending", outcome: "sent", attempts: 1, detail: null, next_attempt_at: null, at: older.created_at });
  }
  if (oldest) {
    list.push({
      request_id: oldest.id,
      kind: "pending",
      outcome: "failed",
      attempts: 6,
      detail: "SMTP: permanent error (550): 5.7.1 Relaying denied",
      next_attempt_at: null,
      at: iso(ms(oldest.created_at) + 2 * HOUR * 1000),
    });
  }
  b.deliveries.set("contoso", list);
}


// [state, age of the request in seconds] — ages are chosen so that pending
// requests are still within their 12 h lifetime and approved grants still run.
const CONTOSO_PLAN: Array<[RequestState, number]> = [
  ["pending", 11 * HOUR + 57 * MIN], // expires in ~3 minutes
  ["pending", 40 * MIN], // needs two approvals, one given
  ["pending", 10 * HOUR + 35 * MIN], // expires within 2 h
  ["pending", 2 * HOUR],
  ["pending", 5 * HOUR + 10 * MIN],
  ["awaiting_provider", 15 * MIN],
  ["awaiting_provider", 3 * HOUR],
  ["approved", 1 * HOUR],
  ["approved", 3 * HOUR],
  ["approved", 6 * HOUR],
  ["completed", 1 * DAY + 2 * HOUR],
  ["completed", 3 * DAY],
  ["completed", 6 * DAY + 5 * HOUR],
  ["completed", 12 * DAY],
  ["completed", 21 * DAY],
  ["rejected", 2 * DAY + 4 * HOUR],
  ["rejected", 9 * DAY],
  ["rejected", 17 * DAY],
  ["expired", 1 * DAY + 20 * HOUR],
  ["expired", 8 * DAY],
  ["expired", 14 * DAY],
  ["expired", 26 * DAY],
  ["canceled", 4 * DAY],
  ["canceled", 19 * DAY],
  ["revoked", 5 * DAY],
];

const FABRIKAM_PLAN: Array<[RequestState, number]> = [
  ["pending", 1 * HOUR],
  ["pending", 7 * HOUR],
  ["approved", 30 * MIN],
  ["completed", 2 * DAY],
  ["rejected", 10 * DAY],
];
