// The mock engine's state and plumbing: the store (tenants, settings, users,
// requests, the hash-chained audit log, provider connections, email), change
// events, deadlines, and the seeding API the scenario table uses. What each
// command does is in requests.ts, audit.ts, directory.ts and provider.ts;
// dispatch.ts maps command names to them.

import type { ActorKind } from "../../bindings/ActorKind";
import type { AppPrefsDto } from "../../bindings/AppPrefsDto";
import type { ArchiveDto } from "../../bindings/ArchiveDto";
import type { AuditEntryDto } from "../../bindings/AuditEntryDto";
import type { ConnectionDto } from "../../bindings/ConnectionDto";
import type { DeliveryDto } from "../../bindings/DeliveryDto";
import type { DisagreementDto } from "../../bindings/DisagreementDto";
import type { LockboxEvent } from "../../bindings/LockboxEvent";
import type { RequestDto } from "../../bindings/RequestDto";
import type { Role } from "../../bindings/Role";
import type { SessionDto } from "../../bindings/SessionDto";
import type { SettingsDto } from "../../bindings/SettingsDto";
import type { TenantDto } from "../../bindings/TenantDto";
import type { UserDto } from "../../bindings/UserDto";
import type { JsonValue } from "../../bindings/serde_json/JsonValue";
import type { InvokeArgs } from "../transport";
import { dispatch } from "./dispatch";
import { fileRequest, providerApprove } from "./requests";
import { seedDemo, seedFresh } from "./seed";
import { MOCK_USER, type MockApi, type MockNewRequest, type MockOptions, type MockSmtp, type MockToken, type PendingAudit } from "./types";
import { clone, DEFAULT_SETTINGS, entryHash, fail, iso, ms, prng, ZERO_HASH } from "./util";

export class MockBackend {
  readonly now: () => number;
  user = MOCK_USER;
  role: Role | null;
  tenants: TenantDto[] = [];
  settings = new Map<string, SettingsDto>();
  users = new Map<string, UserDto[]>();
  requests = new Map<string, RequestDto[]>();
  audit: AuditEntryDto[] = [];
  prefs: AppPrefsDto = { notifications_enabled: true, start_at_login: false };
  /** This machine's team server (get_connection); the mock signs in as `signInAs`. */
  connection: ConnectionDto = { state: "local", server: null, ca: null, person: null, replica_at: null };
  signInAs = "ana@contoso.example";
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
  /** A stored request edited behind the engine's back: verify names it (the mock does not replay). */
  editedState: DisagreementDto | null = null;
  /** The generator of ids and secrets (seeded: the same seed, the same data). */
  readonly rand: () => number;
  private listeners = new Set<(payload: unknown) => void>();
  private navListeners = new Set<(payload: unknown) => void>();
  private connListeners = new Set<(payload: unknown) => void>();
  /** The role while the server answered (offline, the replica gives none). */
  private onlineRole: Role | null = null;

  constructor(opts: MockOptions = {}) {
    // wall-clock: `npm run dev` runs on real time; tests pass `now`.
    this.now = opts.now ?? (() => Date.now());
    this.role = opts.role === undefined ? "admin" : opts.role;
    if (opts.archive) {
      const a = opts.archive === true ? {} : opts.archive;
      const path = a.path ?? "/home/alex/Documents/lockbox-backup.db";
      this.archive = { path, file_name: a.file_name ?? path.split("/").pop() ?? path, checkpoint: a.checkpoint ?? null };
      // An auditor reviews a copy they need not belong to: no role in it.
      this.role = null;
    }
    this.rand = prng(opts.seed ?? 42);
    if (opts.fresh) seedFresh(this, opts.fresh);
    else seedDemo(this, this.rand, opts);
  }

  // ---- the seeding API (what the provider side does) ---------------------

  /** Files a request as a provider engineer (the engine's `file_request`). */
  fileRequest(tenant: string, request: MockNewRequest): RequestDto {
    return fileRequest(this, tenant, request);
  }

  /** The provider's manager approves a request (the engine's `provider_approve`). */
  providerApprove(tenant: string, id: string, manager: string, comment: string | null = null): RequestDto {
    return providerApprove(this, tenant, id, manager, comment);
  }

  /** Records an email delivery (what the email worker does) and notifies like the shell. */
  addDelivery(tenant: string, d: DeliveryDto) {
    this.deliveries.set(tenant, [clone(d), ...(this.deliveries.get(tenant) ?? [])]);
    this.emit("requests_changed", null);
  }

  // ---- events -------------------------------------------------------------

  listen(handler: (payload: unknown) => void): () => void {
    this.listeners.add(handler);
    return () => this.listeners.delete(handler);
  }

  listenNavigate(handler: (payload: unknown) => void): () => void {
    this.navListeners.add(handler);
    return () => this.navListeners.delete(handler);
  }

  listenConnection(handler: (payload: unknown) => void): () => void {
    this.connListeners.add(handler);
    return () => this.connListeners.delete(handler);
  }

  /**
   * The team server lost (`offline`) or back, as the shell sees it: offline,
   * the reads answer from the replica (the session names it as its archive,
   * read-only) and decisions are refused; the window is told either way.
   */
  setOffline(offline: boolean, replicaAt: string | null = this.connection.replica_at) {
    if (this.connection.state === "local") throw new Error("setOffline: the mock is not connected");
    this.connection = { ...this.connection, state: offline ? "offline" : "connected", replica_at: replicaAt };
    if (offline && !this.archive) {
      const path = "/home/alex/.local/share/lockbox/replica-lockbox-contoso-example-1a2b3c4d.db";
      this.archive = { path, file_name: path.split("/").pop() ?? path, checkpoint: null };
      this.onlineRole = this.role;
      this.role = null;
    } else if (!offline && this.archive) {
      this.archive = null;
      this.role = this.onlineRole;
    }
    for (const l of [...this.connListeners]) setTimeout(() => l(null), 0);
  }

  /** What the tray does when "Open requests" is clicked. */
  emitNavigate(page: string) {
    for (const l of [...this.navListeners]) setTimeout(() => l(page), 0);
  }

  emit(kind: LockboxEvent["kind"], tenant: string | null) {
    const payload: LockboxEvent = { kind, tenant };
    for (const l of [...this.listeners]) setTimeout(() => l(payload), 0);
  }

  // ---- the audit log --------------------------------------------------------

  append(e: PendingAudit, recordedMs = this.now()) {
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

  log(tenant: string, actor_kind: ActorKind, actor: string, operation: string, request_id: string | null, details: JsonValue, atMs = this.now()) {
    this.append({ at: iso(atMs), tenant, actor_kind, actor, operation, request_id, details });
  }

  /** Breaks the chain at `seq` (for trying out "Verify integrity"). */
  corrupt(seq: number) {
    const e = this.audit.find((x) => x.seq === seq);
    if (e) e.details = { tampered: true };
  }

  editState(request_id: string, field: string, stored: string, audited: string) {
    const message = `request ${request_id}: ${field} is ${stored} in the store, but the audit log says ${audited}`;
    this.editedState = { request_id, field, stored, audited, message };
  }

  // ---- lookups, as the engine refuses them ----------------------------------

  tenant(id: string): string {
    if (!this.requests.has(id)) fail("not_found", `no tenant '${id}' in this store (see \`lockbox tenant list\`)`);
    return id;
  }

  settingsOf(tenant: string): SettingsDto {
    return this.settings.get(tenant) ?? DEFAULT_SETTINGS;
  }

  request(tenant: string, id: string): RequestDto {
    const r = this.requests.get(tenant)?.find((x) => x.id === id);
    if (!r) fail("not_found", `no request '${id}' in tenant '${tenant}'`);
    return r;
  }

  requireRole(admin: boolean) {
    if (this.role === null) fail("not_permitted", `${this.user} is not an approver in this tenant`);
    if (admin && this.role !== "admin") fail("not_permitted", `${this.user} is not an admin of this tenant`);
  }

  /** Applies the expiries and ends of access that are due by now, earliest deadline first. */
  tick() {
    const now = this.now();
    const due: Array<{ tenant: string; r: RequestDto; at: number }> = [];
    for (const [tenant, list] of this.requests) {
      for (const r of list) {
        if ((r.state === "pending" || r.state === "awaiting_provider") && ms(r.expires_at) <= now) due.push({ tenant, r, at: ms(r.expires_at) });
        else if (r.state === "approved" && r.access_ends_at && ms(r.access_ends_at) <= now) due.push({ tenant, r, at: ms(r.access_ends_at) });
      }
    }
    due.sort((x, y) => x.at - y.at);
    for (const { tenant, r, at } of due) {
      if (r.state === "approved") {
        r.state = "completed";
        r.closed_at = r.access_ends_at;
        this.log(tenant, "system", "lockbox", "completed", r.id, { deadline: r.access_ends_at }, at);
      } else {
        const was = r.state;
        r.state = "expired";
        r.closed_at = r.expires_at;
        this.log(tenant, "system", "lockbox", "expired", r.id, { deadline: r.expires_at, unanswered_in: was }, at);
      }
    }
    for (const tenant of new Set(due.map((d) => d.tenant))) {
      this.emit("requests_changed", tenant);
      this.emit("audit_appended", tenant);
    }
  }

  // ---- the session and the archive -------------------------------------------

  session(): SessionDto {
    const archive = this.archiveDto();
    return { user: this.user, role: this.role, tenants: clone(this.tenants), ...(archive ? { archive } : {}) };
  }

  /** Holds archive_verify until the returned function is called. */
  holdArchiveVerify(): () => void {
    let release = () => {};
    this.archiveVerifyGate = new Promise<void>((r) => (release = r));
    return release;
  }

  archiveDto(): ArchiveDto | null {
    if (!this.archive) return null;
    const head = this.audit[this.audit.length - 1];
    return { ...this.archive, entries: this.audit.length, head_hash: head?.hash ?? null, newest_at: head?.recorded_at ?? null };
  }

  /** Runs one IPC command as the shell would (see dispatch.ts). */
  handle(cmd: string, args: InvokeArgs): unknown {
    return dispatch(this, cmd, args);
  }
}
