// An in-memory stand-in for the Lockbox engine, used by `npm run dev` in a
// plain browser and by the component tests. It follows the engine's rules
// closely enough to exercise the UI: state transitions, errors with
// ErrorDto shape, keyset paging, a hash-chained audit log and change events.

import type { ApiSettingsDto } from "../bindings/ApiSettingsDto";
import type { AppPrefsDto } from "../bindings/AppPrefsDto";
import type { ArchiveDto } from "../bindings/ArchiveDto";
import type { AuditEntryDto } from "../bindings/AuditEntryDto";
import type { AuditPage } from "../bindings/AuditPage";
import type { AuditQuery } from "../bindings/AuditQuery";
import type { ActorKind } from "../bindings/ActorKind";
import type { DayCount } from "../bindings/DayCount";
import type { DecisionDto } from "../bindings/DecisionDto";
import type { DeliveryDto } from "../bindings/DeliveryDto";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { ErrorDto } from "../bindings/ErrorDto";
import type { HomeStats } from "../bindings/HomeStats";
import type { IssuedTokenDto } from "../bindings/IssuedTokenDto";
import type { LockboxEvent } from "../bindings/LockboxEvent";
import type { RequestDto } from "../bindings/RequestDto";
import type { RequestPage } from "../bindings/RequestPage";
import type { RequestQuery } from "../bindings/RequestQuery";
import type { RequestState } from "../bindings/RequestState";
import type { Role } from "../bindings/Role";
import type { SessionDto } from "../bindings/SessionDto";
import type { SettingsDto } from "../bindings/SettingsDto";
import type { SmtpDto } from "../bindings/SmtpDto";
import type { SmtpInput } from "../bindings/SmtpInput";
import type { TenantDto } from "../bindings/TenantDto";
import type { TokenDto } from "../bindings/TokenDto";
import type { UserDto } from "../bindings/UserDto";
import type { VerifyReport } from "../bindings/VerifyReport";
import type { DisagreementDto } from "../bindings/DisagreementDto";
import type { JsonValue } from "../bindings/serde_json/JsonValue";
import { parseSocketAddr } from "../lib/address";
import { CHANGED_EVENT, NAVIGATE_EVENT, type InvokeArgs, type Transport } from "./transport";

export type MockOptions = {
  /** Clock in epoch milliseconds; defaults to Date.now. */
  now?: () => number;
  /** Seed for the generated data; the same seed gives the same data. */
  seed?: number;
  /** Start without any requests (shows the empty state). */
  empty?: boolean;
  /** Only one tenant (hides the tenant switcher). */
  singleTenant?: boolean;
  /** Role of the signed-in user in every tenant. */
  role?: Role | null;
  /**
   * Archive mode: the window shows this store copy read-only (the session
   * carries it; every write is refused with read_only; nothing expires).
   * `true` uses a default file name.
   */
  archive?: boolean | Partial<Pick<ArchiveDto, "path" | "file_name" | "checkpoint">>;
};

/** Commands that change something: refused in archive mode, as the shell refuses them. */
const WRITES = new Set([
  "approve_request",
  "reject_request",
  "revoke_request",
  "update_settings",
  "set_prefs",
  "add_user",
  "remove_user",
  "issue_token",
  "revoke_token",
  "set_smtp",
  "test_smtp",
  "set_api_settings",
]);

export type MockTransport = Transport & { backend: MockBackend };

const MIN = 60;
const HOUR = 3600;
const DAY = 86400;
const ZERO_HASH = "0".repeat(64);

const DEFAULT_SETTINGS: SettingsDto = {
  lockbox_enabled: true,
  request_lifetime_s: 12 * HOUR,
  max_access_duration_s: 4 * HOUR,
  approvals_required: 1,
  provider_approvals_required: 1,
  reminder_lead_s: HOUR,
};

export const MOCK_USER = "Alex Wilber";

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function ms(isoTime: string): number {
  return Date.parse(isoTime);
}

function fail(code: ErrorCode, message: string): never {
  const e: ErrorDto = { code, message };
  throw e;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Not cryptographic: a stand-in for the engine's SHA-256 chain. */
export function mockHash(input: string): string {
  let out = "";
  for (let round = 0; round < 8; round++) {
    let h = (0x811c9dc5 ^ (round * 0x9e3779b1)) >>> 0;
    for (let i = 0; i < input.length; i++) {
      h ^= input.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, "0");
  }
  return out;
}

function entryHash(e: Omit<AuditEntryDto, "hash">): string {
  return mockHash(
    JSON.stringify([
      e.prev_hash,
      e.seq,
      e.at,
      e.recorded_at,
      e.tenant,
      e.actor_kind,
      e.actor,
      e.operation,
      e.request_id,
      e.details,
    ]),
  );
}

const TERMINAL: RequestState[] = ["completed", "rejected", "expired", "canceled", "revoked"];

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

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function uuid(r: () => number): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(r, ["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;
}

type PendingAudit = Omit<AuditEntryDto, "seq" | "tenant_seq" | "prev_hash" | "hash" | "recorded_at">;

/** A provider connection as stored: the secret itself is never kept. */
export type MockToken = {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  secret_hash: string;
};

/** SMTP settings as stored (with the password, which is never sent back). */
export type MockSmtp = Omit<SmtpInput, "password"> & { password: string | null };

/** The app-wide provider API settings as stored. */
export type MockApi = Pick<ApiSettingsDto, "enabled" | "bind" | "tls_cert" | "tls_key">;

const TOKEN_PREFIX = "lbx_";
const NAME_MAX = 128;
const SMTP_SECURITY = ["none", "starttls", "tls"];
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Like the engine's `required()`: trimmed, non-empty, bounded, no control characters. */
function required(field: string, value: unknown, max = NAME_MAX): string {
  const v = typeof value === "string" ? value.trim() : "";
  if (v === "") fail("invalid_input", `${field} must not be empty`);
  if ([...v].length > max) fail("invalid_input", `${field} is longer than ${max} characters`);
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v)) fail("invalid_input", `${field} contains control characters`);
  return v;
}

export class MockBackend {
  readonly now: () => number;
  user = MOCK_USER;
  role: Role | null;
  tenants: TenantDto[];
  settings = new Map<string, SettingsDto>();
  users = new Map<string, UserDto[]>();
  requests = new Map<string, RequestDto[]>();
  audit: AuditEntryDto[] = [];
  prefs: AppPrefsDto = { notifications_enabled: true, start_at_login: false };
  tokens = new Map<string, MockToken[]>();
  smtp = new Map<string, MockSmtp | null>();
  /** Approver email deliveries per tenant, newest first (as email_status returns them). */
  deliveries = new Map<string, DeliveryDto[]>();
  api: MockApi = { enabled: true, bind: "127.0.0.1:8787", tls_cert: null, tls_key: null };
  /** When set, the API looks like it failed to start with this reason (e.g. address in use). */
  apiStartError: string | null = null;
  /** When set, test_smtp fails with this reason. */
  smtpTestFailure: string | null = null;
  /** Archive mode (see MockOptions.archive); the counts and head are read when asked. */
  archive: Pick<ArchiveDto, "path" | "file_name" | "checkpoint"> | null = null;
  /** archive_verify answers once this resolves (tests hold it to see the page before the verification). */
  archiveVerifyGate: Promise<void> = Promise.resolve();
  /** What "Open audit archive…" picks next (null: the dialog is canceled), and what it opened. */
  archiveToOpen: string | null = "/home/alex/Documents/lockbox-backup.db";
  openedArchives: string[] = [];
  private rand: () => number;
  private listeners = new Set<(payload: unknown) => void>();

  constructor(opts: MockOptions = {}) {
    this.now = opts.now ?? (() => Date.now());
    this.role = opts.role === undefined ? "admin" : opts.role;
    if (opts.archive) {
      const a = opts.archive === true ? {} : opts.archive;
      const path = a.path ?? "/home/alex/Documents/lockbox-backup.db";
      this.archive = { path, file_name: a.file_name ?? path.split("/").pop() ?? path, checkpoint: a.checkpoint ?? null };
      // An auditor reviews a copy they need not belong to: no role in it.
      this.role = null;
    }
    const r = prng(opts.seed ?? 42);
    this.rand = r;
    const t0 = this.now();
    this.tenants = [{ id: "contoso", name: "Contoso Ltd", created_at: iso(t0 - 400 * DAY * 1000) }];
    if (!opts.singleTenant) {
      this.tenants.push({ id: "fabrikam", name: "Fabrikam, Inc.", created_at: iso(t0 - 200 * DAY * 1000) });
    }
    const seedAudit: PendingAudit[] = [];
    for (const t of this.tenants) {
      this.settings.set(t.id, { ...DEFAULT_SETTINGS });
      this.requests.set(t.id, []);
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
      this.users.set(t.id, users);
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
      this.seedRequests(r, t0, "contoso", CONTOSO_PLAN, seedAudit);
      if (!opts.singleTenant) this.seedRequests(r, t0, "fabrikam", FABRIKAM_PLAN, seedAudit);
    }
    for (const t of this.tenants) {
      this.tokens.set(t.id, []);
      this.smtp.set(t.id, null);
      this.deliveries.set(t.id, []);
    }
    this.seedProvider(r, t0, seedAudit);
    seedAudit.sort((a, b) => ms(a.at) - ms(b.at));
    for (const e of seedAudit) this.append(e, ms(e.at));
  }

  // ---- seeding ----------------------------------------------------------

  private seedRequests(
    r: () => number,
    t0: number,
    tenant: string,
    plan: Array<[RequestState, number]>,
    out: PendingAudit[],
  ) {
    const settings = this.settings.get(tenant) ?? DEFAULT_SETTINGS;
    const list = this.requests.get(tenant) ?? [];
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
    this.requests.set(tenant, list);
  }

  /** One provider connection in Contoso; approver email history (SMTP is off now). */
  private seedProvider(r: () => number, t0: number, out: PendingAudit[]) {
    const created = t0 - 20 * DAY * 1000;
    const token: MockToken = {
      id: uuid(r),
      name: "Provider support (production)",
      created_at: iso(created),
      expires_at: iso(created + 365 * DAY * 1000),
      revoked_at: null,
      secret_hash: mockHash(`${TOKEN_PREFIX}seed`),
    };
    this.tokens.set("contoso", [token]);
    out.push({
      at: token.created_at,
      tenant: "contoso",
      actor_kind: "customer",
      actor: MOCK_USER,
      operation: "token_issued",
      request_id: null,
      details: { connection: token.name, token_id: token.id, expires_at: token.expires_at },
    });
    const pending = (this.requests.get("contoso") ?? [])
      .filter((x) => x.state === "pending")
      .sort((a, b) => ms(b.created_at) - ms(a.created_at));
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
    this.deliveries.set("contoso", list);
  }

  // ---- plumbing ---------------------------------------------------------

  listen(handler: (payload: unknown) => void): () => void {
    this.listeners.add(handler);
    return () => this.listeners.delete(handler);
  }

  private navListeners = new Set<(payload: unknown) => void>();

  listenNavigate(handler: (payload: unknown) => void): () => void {
    this.navListeners.add(handler);
    return () => this.navListeners.delete(handler);
  }

  /** What the tray does when "Open requests" is clicked. */
  emitNavigate(page: string) {
    for (const l of [...this.navListeners]) setTimeout(() => l(page), 0);
  }

  emit(kind: LockboxEvent["kind"], tenant: string | null) {
    const payload: LockboxEvent = { kind, tenant };
    for (const l of [...this.listeners]) setTimeout(() => l(payload), 0);
  }

  private append(e: PendingAudit, recordedMs = this.now()) {
    // One hash chain per tenant, as the engine keeps them.
    const last = this.audit[this.audit.length - 1];
    const prev = this.audit.filter((x) => x.tenant === e.tenant).pop();
    const partial: Omit<AuditEntryDto, "hash"> = {
      seq: (last?.seq ?? 0) + 1,
      tenant_seq: (prev?.tenant_seq ?? 0) + 1,
      at: e.at,
      recorded_at: iso(recordedMs),
      tenant: e.tenant,
      actor_kind: e.actor_kind,
      actor: e.actor,
      operation: e.operation,
      request_id: e.request_id,
      details: e.details,
      prev_hash: prev?.hash ?? ZERO_HASH,
    };
    this.audit.push({ ...partial, hash: entryHash(partial) });
  }

  private log(tenant: string, actor_kind: ActorKind, actor: string, operation: string, request_id: string | null, details: JsonValue) {
    this.append({ at: iso(this.now()), tenant, actor_kind, actor, operation, request_id, details });
  }

  /** Breaks the chain at `seq` (for trying out "Verify integrity"). */
  corrupt(seq: number) {
    const e = this.audit.find((x) => x.seq === seq);
    if (e) e.details = { tampered: true };
  }

  /** A stored request edited behind the engine's back: verify names it (the mock does not replay). */
  editedState: DisagreementDto | null = null;
  editState(request_id: string, field: string, stored: string, audited: string) {
    const message = `request ${request_id}: ${field} is ${stored} in the store, but the audit log says ${audited}`;
    this.editedState = { request_id, field, stored, audited, message };
  }

  private tenant(id: unknown): string {
    if (typeof id !== "string" || !this.requests.has(id)) fail("not_found", `no tenant '${String(id)}'`);
    return id;
  }

  private request(tenant: string, id: unknown): RequestDto {
    const r = this.requests.get(tenant)?.find((x) => x.id === id);
    if (!r) fail("not_found", `no request '${String(id)}'`);
    return r;
  }

  private requireRole(admin: boolean) {
    if (this.role === null) fail("not_permitted", `${this.user} is not an approver in this tenant`);
    if (admin && this.role !== "admin") fail("not_permitted", `${this.user} is not an admin of this tenant`);
  }

  /** Applies expiry and end of access that are due by now. */
  tick() {
    const now = this.now();
    for (const [tenant, list] of this.requests) {
      let changed = false;
      for (const r of list) {
        if ((r.state === "pending" || r.state === "awaiting_provider") && ms(r.expires_at) <= now) {
          const was = r.state;
          r.state = "expired";
          r.closed_at = r.expires_at;
          this.log(tenant, "system", "lockbox", "expired", r.id, { deadline: r.expires_at, unanswered_in: was });
          changed = true;
        } else if (r.state === "approved" && r.access_ends_at && ms(r.access_ends_at) <= now) {
          r.state = "completed";
          r.closed_at = r.access_ends_at;
          this.log(tenant, "system", "lockbox", "completed", r.id, { deadline: r.access_ends_at });
          changed = true;
        }
      }
      if (changed) {
        this.emit("requests_changed", tenant);
        this.emit("audit_appended", tenant);
      }
    }
  }

  // ---- commands ---------------------------------------------------------

  /** Holds archive_verify until the returned function is called. */
  holdArchiveVerify(): () => void {
    let release = () => {};
    this.archiveVerifyGate = new Promise<void>((r) => (release = r));
    return release;
  }

  private archiveDto(): ArchiveDto | null {
    if (!this.archive) return null;
    const head = this.audit[this.audit.length - 1];
    return { ...this.archive, entries: this.audit.length, head_hash: head?.hash ?? null, newest_at: head?.recorded_at ?? null };
  }

  handle(cmd: string, a: InvokeArgs): unknown {
    // A store opened read-only: nothing is swept, nothing is written.
    if (this.archive && WRITES.has(cmd)) fail("read_only", `${this.archive.file_name} is an audit archive, open read-only`);
    if (!this.archive) this.tick();
    switch (cmd) {
      case "session":
        return this.session();
      case "boot": {
        const session = this.session();
        const hint = typeof a.tenant === "string" ? a.tenant : null;
        const tenant = session.tenants.find((t) => t.id === hint)?.id ?? session.tenants[0]?.id ?? null;
        const q = (a.requests ?? null) as RequestQuery | null;
        return { session, tenant, requests: tenant && q ? this.listRequests(this.tenant(tenant), q) : null };
      }
      case "list_requests":
        return this.listRequests(this.tenant(a.tenant), a.query as RequestQuery);
      case "get_request":
        return clone(this.request(this.tenant(a.tenant), a.id));
      case "request_audit": {
        const t = this.tenant(a.tenant);
        this.request(t, a.id);
        return clone(this.audit.filter((e) => e.tenant === t && e.request_id === a.id));
      }
      case "approve_request":
        return this.approve(this.tenant(a.tenant), a.id, a.comment as string | null, a.durationS as number | null);
      case "reject_request":
        return this.reject(this.tenant(a.tenant), a.id, a.comment as string | null);
      case "revoke_request":
        return this.revoke(this.tenant(a.tenant), a.id, a.comment as string | null);
      case "get_settings":
        return clone(this.settings.get(this.tenant(a.tenant)));
      case "update_settings":
        return this.updateSettings(this.tenant(a.tenant), a.settings as SettingsDto);
      case "get_prefs":
        return clone(this.prefs);
      case "set_prefs":
        this.prefs = clone(a.prefs as AppPrefsDto);
        return clone(this.prefs);
      case "list_users":
        return clone(this.users.get(this.tenant(a.tenant)));
      case "add_user":
        return this.addUser(this.tenant(a.tenant), a.name, a.role, a.email);
      case "remove_user":
        return this.removeUser(this.tenant(a.tenant), a.name);
      case "query_audit":
        return this.queryAudit(this.tenant(a.tenant), a.query as AuditQuery);
      case "export_audit": {
        const t = this.tenant(a.tenant);
        if (a.format !== "csv" && a.format !== "jsonl") fail("invalid_input", `unknown export format '${String(a.format)}' (csv or jsonl)`);
        if (typeof a.path !== "string" || a.path === "") fail("invalid_input", "no export path");
        return this.filterAudit(t, { ...(a.query as AuditQuery), before_seq: null }).length;
      }
      case "verify_audit":
        return this.verify();
      case "archive_verify":
        if (!this.archive) return fail("invalid_input", "this window shows no archive");
        return this.archiveVerifyGate.then(() => this.verify());
      case "open_archive":
        if (this.archiveToOpen) this.openedArchives.push(this.archiveToOpen);
        return this.archiveToOpen;
      case "home_stats":
        return this.homeStats(this.tenant(a.tenant));
      case "list_tokens": {
        const t = this.tenant(a.tenant);
        return (this.tokens.get(t) ?? []).map((x) => this.tokenDto(x));
      }
      case "issue_token":
        return this.issueToken(this.tenant(a.tenant), a.name, a.expiresS);
      case "revoke_token":
        return this.revokeToken(this.tenant(a.tenant), a.name);
      case "get_smtp":
        return this.smtpDto(this.tenant(a.tenant));
      case "set_smtp":
        return this.setSmtp(this.tenant(a.tenant), a.smtp);
      case "test_smtp":
        return this.testSmtp(this.tenant(a.tenant), a.to);
      case "email_status":
        return clone(this.deliveries.get(this.tenant(a.tenant)) ?? []);
      case "get_api_settings":
        return this.apiDto();
      case "set_api_settings":
        return this.setApiSettings(this.tenant(a.tenant), a.settings);
      default:
        return fail("internal", `unknown command ${cmd}`);
    }
  }

  // ---- provider connections, email, API ---------------------------------

  private tokenDto(t: MockToken): TokenDto {
    const active = t.revoked_at === null && (t.expires_at === null || this.now() < ms(t.expires_at));
    return { id: t.id, name: t.name, created_at: t.created_at, expires_at: t.expires_at, revoked_at: t.revoked_at, active };
  }

  private issueToken(tenant: string, rawName: unknown, expiresS: unknown): IssuedTokenDto {
    const name = required("connection name", rawName);
    if (expiresS !== null && expiresS !== undefined) {
      if (typeof expiresS !== "number" || !Number.isInteger(expiresS)) fail("invalid_input", "a token's lifetime must be a whole number of seconds");
      if (expiresS <= 0) fail("invalid_input", "a token's lifetime must be positive");
    }
    this.requireRole(true);
    const list = this.tokens.get(tenant) ?? [];
    if (list.some((t) => t.name === name)) fail("already_exists", `a provider connection named '${name}' exists already`);
    const hex = Array.from({ length: 64 }, () => Math.floor(this.rand() * 16).toString(16)).join("");
    const secret = `${TOKEN_PREFIX}${hex}`;
    const now = this.now();
    const row: MockToken = {
      id: uuid(this.rand),
      name,
      created_at: iso(now),
      expires_at: typeof expiresS === "number" ? iso(now + expiresS * 1000) : null,
      revoked_at: null,
      secret_hash: mockHash(secret),
    };
    list.push(row);
    this.tokens.set(tenant, list);
    this.log(tenant, "customer", this.user, "token_issued", null, { connection: name, token_id: row.id, expires_at: row.expires_at });
    this.emit("settings_changed", tenant);
    this.emit("audit_appended", tenant);
    return { token: this.tokenDto(row), secret };
  }

  private revokeToken(tenant: string, name: unknown): TokenDto {
    this.requireRole(true);
    const t = (this.tokens.get(tenant) ?? []).find((x) => x.name === name);
    if (!t) fail("not_found", `no provider connection '${String(name)}' in tenant '${tenant}'`);
    if (t.revoked_at !== null) fail("invalid_transition", `the token of '${t.name}' is already revoked`);
    t.revoked_at = iso(this.now());
    this.log(tenant, "customer", this.user, "token_revoked", null, { connection: t.name, token_id: t.id });
    this.emit("settings_changed", tenant);
    this.emit("audit_appended", tenant);
    return this.tokenDto(t);
  }

  private smtpDto(tenant: string): SmtpDto | null {
    const s = this.smtp.get(tenant);
    if (!s) return null;
    const { password, ...rest } = s;
    return { ...clone(rest), password_set: password !== null };
  }

  private setSmtp(tenant: string, input: unknown): SmtpDto | null {
    let row: MockSmtp | null = null;
    if (input !== null && input !== undefined) {
      const i = input as SmtpInput;
      const host = required("SMTP host", i.host);
      if (typeof i.port !== "number" || !Number.isInteger(i.port) || i.port < 1 || i.port > 65535) {
        fail("invalid_input", "SMTP port must be between 1 and 65535");
      }
      if (!SMTP_SECURITY.includes(i.security)) fail("invalid_input", `SMTP security must be none, starttls or tls, not '${String(i.security)}'`);
      if (typeof i.from_address !== "string" || !EMAIL_RE.test(i.from_address)) {
        fail("invalid_input", `'${String(i.from_address)}' is not an email address`);
      }
      const keep = this.smtp.get(tenant)?.password ?? null;
      row = {
        host,
        port: i.port,
        security: i.security,
        username: i.username && i.username.trim() !== "" ? i.username : null,
        password: i.password ? i.password : keep,
        from_address: i.from_address,
      };
    }
    this.requireRole(true);
    this.smtp.set(tenant, row);
    const change = row
      ? `${row.host}:${row.port} (${row.security}) from ${row.from_address}${row.username ? ", with login" : ""}`
      : "off";
    this.log(tenant, "customer", this.user, "settings_changed", null, { changes: [{ key: "smtp", new: change }] });
    this.emit("settings_changed", tenant);
    this.emit("audit_appended", tenant);
    return this.smtpDto(tenant);
  }

  private testSmtp(tenant: string, to: unknown): null {
    const s = this.smtp.get(tenant);
    if (!s) fail("invalid_input", "no SMTP server is set for this tenant");
    if (typeof to !== "string" || !EMAIL_RE.test(to)) fail("invalid_input", `test message not sent: bad recipient ${String(to)}: Invalid input`);
    if (this.smtpTestFailure) fail("invalid_input", `test message not sent: ${this.smtpTestFailure}`);
    if (/\.invalid$/i.test(s.host)) {
      fail("invalid_input", "test message not sent: SMTP: Connection error: failed to lookup address information: Name or service not known");
    }
    return null;
  }

  /** Records an email delivery (what the email worker does) and notifies like the shell. */
  addDelivery(tenant: string, d: DeliveryDto) {
    this.deliveries.set(tenant, [clone(d), ...(this.deliveries.get(tenant) ?? [])]);
    this.emit("requests_changed", null);
  }

  private apiDto(): ApiSettingsDto {
    const running = this.api.enabled && this.apiStartError === null;
    return {
      ...clone(this.api),
      listening_on: running ? this.api.bind : null,
      error: this.api.enabled ? this.apiStartError : null,
    };
  }

  private setApiSettings(tenant: string, input: unknown): ApiSettingsDto {
    const s = input as ApiSettingsDto;
    const bind = typeof s?.bind === "string" ? s.bind : "";
    const addr = parseSocketAddr(bind);
    if (!addr) fail("invalid_input", `'${bind}' is not an address like 127.0.0.1:8787`);
    const cert = s.tls_cert ? s.tls_cert : null;
    const key = s.tls_key ? s.tls_key : null;
    if ((cert === null) !== (key === null)) fail("invalid_input", "give both a TLS certificate and a TLS key, or neither");
    const normal = addr.v6 ? `[${addr.ip}]:${addr.port}` : `${addr.ip}:${addr.port}`;
    if (!addr.loopback && cert === null) {
      fail("invalid_input", `${normal} is not a loopback address: serving it requires TLS (certificate and key)`);
    }
    this.requireRole(true);
    const old = this.api;
    this.api = { enabled: s.enabled === true, bind: normal, tls_cert: cert, tls_key: key };
    this.log(tenant, "customer", this.user, "settings_changed", null, {
      changes: [{ key: "api", old: `${old.enabled ? "on" : "off"} ${old.bind}`, new: `${this.api.enabled ? "on" : "off"} ${normal}` }],
    });
    this.emit("settings_changed", tenant);
    this.emit("audit_appended", tenant);
    return this.apiDto();
  }

  session(): SessionDto {
    const archive = this.archiveDto();
    return { user: this.user, role: this.role, tenants: clone(this.tenants), ...(archive ? { archive } : {}) };
  }

  private listRequests(tenant: string, q: RequestQuery): RequestPage {
    let items = [...(this.requests.get(tenant) ?? [])];
    if (q.states && q.states.length > 0) {
      const states = q.states;
      items = items.filter((r) => states.includes(r.state));
    }
    const s = q.search?.trim().toLowerCase();
    if (s) {
      items = items.filter(
        (r) =>
          [r.id, r.case, r.requester, r.workload, r.resource].some((f) => f.toLowerCase().includes(s)),
      );
    }
    const deadline = (r: RequestDto) =>
      r.state === "approved" && r.access_ends_at ? ms(r.access_ends_at) : TERMINAL.includes(r.state) ? Infinity : ms(r.expires_at);
    const sort = q.sort ?? "newest";
    items.sort((a, b) => {
      let d = 0;
      if (sort === "newest") d = ms(b.created_at) - ms(a.created_at);
      else if (sort === "oldest") d = ms(a.created_at) - ms(b.created_at);
      else {
        const da = deadline(a);
        const db = deadline(b);
        d = da === db ? 0 : da < db ? -1 : 1;
      }
      return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    let start = 0;
    if (q.cursor) {
      const i = items.findIndex((r) => r.id === q.cursor);
      if (i < 0) fail("invalid_input", "bad cursor");
      start = i + 1;
    }
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 200);
    const page = items.slice(start, start + limit);
    const last = page[page.length - 1];
    return {
      items: clone(page),
      next_cursor: start + limit < items.length && last ? last.id : null,
      total: items.length,
    };
  }

  private approve(tenant: string, id: unknown, comment: string | null, durationS: number | null): RequestDto {
    this.requireRole(false);
    const r = this.request(tenant, id);
    if (r.state !== "pending") fail("invalid_transition", `request ${r.id} is ${r.state}; only a pending request can be approved`);
    if (durationS !== null) {
      if (!Number.isInteger(durationS) || durationS <= 0) fail("invalid_input", "the granted duration must be positive and at most the requested duration");
      if (durationS > r.requested_duration_s) fail("invalid_input", "the granted duration must be positive and at most the requested duration");
    }
    if (r.decisions.some((d) => d.level === "customer" && d.actor === this.user && d.decision === "approve")) {
      fail("already_decided", `${this.user} has already decided request ${r.id}`);
    }
    const now = this.now();
    const decision: DecisionDto = { level: "customer", actor: this.user, decision: "approve", comment, duration_s: durationS, at: iso(now) };
    r.decisions.push(decision);
    const approvals = r.decisions.filter((d) => d.level === "customer" && d.decision === "approve");
    if (approvals.length >= r.approvals_required) {
      const proposed = approvals.map((d) => d.duration_s ?? r.requested_duration_s);
      const granted = Math.min(r.requested_duration_s, ...proposed);
      r.state = "approved";
      r.granted_duration_s = granted;
      r.approved_at = iso(now);
      r.access_ends_at = iso(now + granted * 1000);
    }
    this.log(tenant, "customer", this.user, "approved", r.id, {
      comment,
      duration_s: durationS,
      approvals: approvals.length,
      required: r.approvals_required,
      final: r.state === "approved",
      granted_duration_s: r.granted_duration_s,
      access_ends_at: r.access_ends_at,
    });
    this.emit("requests_changed", tenant);
    this.emit("audit_appended", tenant);
    return clone(r);
  }

  private reject(tenant: string, id: unknown, comment: string | null): RequestDto {
    this.requireRole(false);
    const r = this.request(tenant, id);
    if (r.state !== "pending") fail("invalid_transition", `request ${r.id} is ${r.state}; only a pending request can be rejected`);
    const now = this.now();
    r.decisions.push({ level: "customer", actor: this.user, decision: "reject", comment, duration_s: null, at: iso(now) });
    r.state = "rejected";
    r.closed_at = iso(now);
    this.log(tenant, "customer", this.user, "rejected", r.id, { comment });
    this.emit("requests_changed", tenant);
    this.emit("audit_appended", tenant);
    return clone(r);
  }

  private revoke(tenant: string, id: unknown, comment: string | null): RequestDto {
    this.requireRole(false);
    const r = this.request(tenant, id);
    if (r.state !== "approved") fail("invalid_transition", `request ${r.id} is ${r.state}; only approved access can be revoked`);
    const now = this.now();
    r.decisions.push({ level: "customer", actor: this.user, decision: "revoke", comment, duration_s: null, at: iso(now) });
    r.state = "revoked";
    r.closed_at = iso(now);
    this.log(tenant, "customer", this.user, "revoked", r.id, { comment, access_was_to_end_at: r.access_ends_at });
    this.emit("requests_changed", tenant);
    this.emit("audit_appended", tenant);
    return clone(r);
  }

  private updateSettings(tenant: string, s: SettingsDto): SettingsDto {
    this.requireRole(true);
    if (!(s.request_lifetime_s >= 1 && s.request_lifetime_s <= 30 * DAY)) fail("invalid_input", "request-lifetime must be between 1s and 30d");
    if (!(s.max_access_duration_s > 0 && s.max_access_duration_s <= 30 * DAY)) fail("invalid_input", "max-access-duration must be between 1s and 30d");
    if (!(s.approvals_required >= 1)) fail("invalid_input", "approvals-required must be between 1 and 100");
    if (!(s.provider_approvals_required >= 0)) fail("invalid_input", "provider-approvals-required must be between 0 and 100");
    const before = this.settings.get(tenant) ?? DEFAULT_SETTINGS;
    const changes: JsonValue[] = [];
    for (const k of Object.keys(s) as Array<keyof SettingsDto>) {
      if (before[k] !== s[k]) changes.push({ key: k.replace(/_s$/, "").replace(/_/g, "-"), old: before[k], new: s[k] });
    }
    this.settings.set(tenant, clone(s));
    this.log(tenant, "customer", this.user, "settings_changed", null, { changes });
    this.emit("settings_changed", tenant);
    this.emit("audit_appended", tenant);
    return clone(s);
  }

  private addUser(tenant: string, name: unknown, role: unknown, email: unknown): UserDto {
    this.requireRole(true);
    const users = this.users.get(tenant) ?? [];
    if (typeof name !== "string" || name.trim() === "") fail("invalid_input", "name must not be empty");
    if (role !== "admin" && role !== "approver") fail("invalid_input", "role must be admin or approver");
    if (email !== null && (typeof email !== "string" || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))) fail("invalid_input", "email is not a valid address");
    if (users.some((u) => u.name.toLowerCase() === name.trim().toLowerCase())) fail("already_exists", `user '${name.trim()}' already exists in this tenant`);
    const u: UserDto = { name: name.trim(), role, email: (email as string | null) ?? null, created_at: iso(this.now()) };
    users.push(u);
    this.users.set(tenant, users);
    this.log(tenant, "customer", this.user, "user_added", null, { user: u.name, role: u.role, email: u.email });
    this.emit("settings_changed", tenant);
    this.emit("audit_appended", tenant);
    return clone(u);
  }

  private removeUser(tenant: string, name: unknown): null {
    this.requireRole(true);
    const users = this.users.get(tenant) ?? [];
    const u = users.find((x) => x.name === name);
    if (!u) fail("not_found", `no user '${String(name)}' in this tenant`);
    if (u.role === "admin" && users.filter((x) => x.role === "admin").length === 1) fail("not_permitted", `'${u.name}' is the last admin of this tenant: add another admin first`);
    this.users.set(tenant, users.filter((x) => x !== u));
    this.log(tenant, "customer", this.user, "user_removed", null, { user: u.name, role: u.role });
    this.emit("settings_changed", tenant);
    this.emit("audit_appended", tenant);
    return null;
  }

  private filterAudit(tenant: string, q: AuditQuery): AuditEntryDto[] {
    const since = q.since ? ms(q.since) : -Infinity;
    const until = q.until ? ms(q.until) : Infinity;
    const actor = q.actor?.trim();
    const text = q.text?.trim().toLowerCase();
    const rid = q.request_id?.trim();
    return this.audit
      .filter((e) => {
        if (e.tenant !== tenant) return false;
        const at = ms(e.at);
        if (at < since || at >= until) return false;
        if (q.before_seq !== null && q.before_seq !== undefined && e.seq >= q.before_seq) return false;
        // Like the engine: request id and actor match exactly.
        if (rid && e.request_id !== rid) return false;
        if (actor && e.actor !== actor) return false;
        if (q.operation && e.operation !== q.operation) return false;
        if (text) {
          const hay = `${e.actor} ${e.operation} ${e.request_id ?? ""} ${JSON.stringify(e.details)}`.toLowerCase();
          if (!hay.includes(text)) return false;
        }
        return true;
      })
      .sort((a, b) => b.seq - a.seq);
  }

  private queryAudit(tenant: string, q: AuditQuery): AuditPage {
    const all = this.filterAudit(tenant, q);
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const items = all.slice(0, limit);
    const last = items[items.length - 1];
    return { items: clone(items), next_before_seq: all.length > limit && last ? last.seq : null };
  }

  private verify(): VerifyReport {
    const heads = new Map<string, AuditEntryDto>();
    const broken = (e: AuditEntryDto, problem: string): VerifyReport => ({
      ok: false, entries: this.audit.length, chains: [], first_bad_seq: e.seq, problem, requests: 0, first_disagreement: null, checkpoints: [],
    });
    for (const e of this.audit) {
      const { hash, ...rest } = e;
      const prev = heads.get(e.tenant);
      if (e.tenant_seq !== (prev?.tenant_seq ?? 0) + 1 || e.prev_hash !== (prev?.hash ?? ZERO_HASH)) {
        return broken(e, "its prev_hash does not match the hash of its tenant's previous entry");
      }
      if (entryHash(rest) !== hash) return broken(e, "its content does not match its hash (the entry was edited)");
      heads.set(e.tenant, e);
    }
    const requests = [...this.requests.values()].reduce((n, list) => n + list.length, 0);
    const edited = this.editedState;
    const chains = [...heads.values()]
      .sort((a, b) => a.tenant.localeCompare(b.tenant))
      .map((h) => ({ tenant: h.tenant, entries: h.tenant_seq, head_hash: h.hash }));
    return { ok: edited === null, entries: this.audit.length, chains, first_bad_seq: null, problem: null, requests, first_disagreement: edited, checkpoints: [] };
  }

  private homeStats(tenant: string): HomeStats {
    const now = this.now();
    const list = this.requests.get(tenant) ?? [];
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

/** A transport backed by a fresh MockBackend. */
export function createMockTransport(opts: MockOptions = {}): MockTransport {
  const backend = new MockBackend(opts);
  return {
    backend,
    invoke: async (cmd, args = {}) => {
      // Behave like IPC: always asynchronous, results are copies.
      await Promise.resolve();
      return backend.handle(cmd, args);
    },
    listen: async (event, handler) => {
      if (event === CHANGED_EVENT) return backend.listen(handler);
      if (event === NAVIGATE_EVENT) return backend.listenNavigate(handler);
      return () => {};
    },
    saveDialog: async (o) => {
      const name = o.defaultPath ?? "lockbox-audit.csv";
      const realBrowser = typeof navigator !== "undefined" && !/jsdom/i.test(navigator.userAgent);
      if (realBrowser && typeof window !== "undefined" && typeof window.prompt === "function") {
        return window.prompt("Save as (browser demo: nothing is written)", `~/Downloads/${name}`);
      }
      return `/tmp/${name}`;
    },
  };
}
