// The one module through which the UI talks to the Lockbox engine.
//
// Every call goes through a Transport. In the Tauri app it is Tauri's `invoke`
// and `listen`; in a plain browser (`npm run dev`) and in tests it is the
// in-memory mock from ./mock, which a production build does not contain.
// Tests swap it with setTransport().

import type { CommandArgs, CommandName, CommandResult } from "../bindings/commands";
import type { ApiSettingsDto } from "../bindings/ApiSettingsDto";
import type { AppPrefsDto } from "../bindings/AppPrefsDto";
import type { AuditQuery } from "../bindings/AuditQuery";
import type { ErrorDto } from "../bindings/ErrorDto";
import type { LockboxEvent } from "../bindings/LockboxEvent";
import type { RequestQuery } from "../bindings/RequestQuery";
import type { Role } from "../bindings/Role";
import type { SettingsDto } from "../bindings/SettingsDto";
import type { SmtpInput } from "../bindings/SmtpInput";

import {
  CHANGED_EVENT,
  NAVIGATE_EVENT,
  CONNECTION_EVENT,
  type ExportFormat,
  type InvokeArgs,
  type SaveDialogOptions,
  type Transport,
  type Unlisten,
} from "./transport";
import { PREPAINTED } from "../prepaint/shared";

// The transport's types and event names live in ./transport (the mock imports
// them from there); importers of this module keep finding them here.
export * from "./transport";

let current: Transport | null = null;
let pending: Promise<Transport> | null = null;

/** Replaces the transport (tests, browser-only dev mode). */
export function setTransport(transport: Transport | null): void {
  current = transport;
  pending = null;
  hubs.clear();
  counting = null;
  changeCount = 0;
}

export function isTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export async function createTauriTransport(): Promise<Transport> {
  // The dialog plugin is loaded only if its fallback is ever needed.
  const [{ invoke }, { listen }] = await Promise.all([import("@tauri-apps/api/core"), import("@tauri-apps/api/event")]);
  return {
    invoke: (cmd, args) => invoke(cmd, args),
    listen: async (event, handler) => listen(event, (e) => handler(e.payload)),
    saveDialog: async ({ format, ...options }) => {
      // The shell opens the native dialog itself (`choose_export_path`, which
      // end-to-end tests can answer); older shells without that command fall
      // back to the dialog plugin's save().
      try {
        return ((await invoke("choose_export_path", { format })) as string | null) ?? null;
      } catch (e) {
        const msg = toErrorDto(e).message;
        if (!/choose_export_path/.test(msg) || !/not found|unknown/i.test(msg)) throw e;
      }
      const { save } = await import("@tauri-apps/plugin-dialog");
      const path = await save(options);
      return path ?? null;
    },
  };
}

/**
 * Outside the app: the in-memory mock, in `npm run dev` and tests only.
 * `import.meta.env.DEV` is the constant `false` in a production build, so Vite
 * drops this branch and the mock's chunk with it (`npm run check-dist` and
 * `src/dist.test.ts` fail if mock code is found in ui/dist).
 */
async function createBrowserTransport(): Promise<Transport> {
  if (import.meta.env.DEV) return (await import("./mock")).createMockTransport();
  throw new Error("The admin center runs inside the Lockbox app.");
}

async function getTransport(): Promise<Transport> {
  if (current) return current;
  if (!pending) {
    pending = (async () => {
      const t = isTauri() ? await createTauriTransport() : await createBrowserTransport();
      current = t;
      return t;
    })();
  }
  return pending;
}

function isErrorDto(e: unknown): e is ErrorDto {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as ErrorDto).code === "string" &&
    typeof (e as ErrorDto).message === "string"
  );
}

/** Normalises anything thrown by a transport into an ErrorDto. */
export function toErrorDto(e: unknown): ErrorDto {
  if (isErrorDto(e)) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: "internal", message: e.message };
  if (typeof e === "string") return { code: "internal", message: e };
  return { code: "internal", message: "Something went wrong." };
}

/** The text to show a person for an error from the engine. */
export function errorMessage(e: unknown): string {
  return toErrorDto(e).message;
}

/**
 * Calls command `name` of the one command table (generated from Rust:
 * ../bindings/commands.ts). A misspelt name, a missing or mistyped argument
 * or a wrong result type fails `tsc`.
 */
export async function call<K extends CommandName>(
  name: K,
  ...[args]: Record<symbol, never> extends CommandArgs<K> ? [CommandArgs<K>?] : [CommandArgs<K>]
): Promise<CommandResult<K>> {
  const t = await getTransport();
  try {
    return (await t.invoke(name, (args ?? {}) as InvokeArgs)) as CommandResult<K>;
  } catch (e) {
    throw toErrorDto(e);
  }
}

// ---- Commands -------------------------------------------------------------
// Named wrappers the pages use; each is one typed call.

export const getSession = () => call("session");

/**
 * What the window's first page needs, in one round trip: the session and, when
 * `requests` is given, the first page of requests for `tenant` (when the user
 * belongs to it, else their first tenant; `tenant` in the result says which).
 */
export const boot = (tenant: string | null, requests: RequestQuery | null) => call("boot", { tenant, requests });

export const listRequests = (tenant: string, query: RequestQuery) => call("list_requests", { tenant, query });

export const getRequest = (tenant: string, id: string) => call("get_request", { tenant, id });

export const requestAudit = (tenant: string, id: string) => call("request_audit", { tenant, id });

export const approveRequest = (tenant: string, id: string, comment: string | null, durationS: number | null) =>
  call("approve_request", { tenant, id, comment, durationS });

export const rejectRequest = (tenant: string, id: string, comment: string | null) =>
  call("reject_request", { tenant, id, comment });

export const revokeRequest = (tenant: string, id: string, comment: string | null) =>
  call("revoke_request", { tenant, id, comment });

export const getSettings = (tenant: string) => call("get_settings", { tenant });

export const updateSettings = (tenant: string, settings: SettingsDto) => call("update_settings", { tenant, settings });

export const getPrefs = () => call("get_prefs");

/** This machine's team server, if any, and who is signed in to it. */
export const getConnection = () => call("get_connection");
/** Sign in to a team server in the system browser; engine commands go there from then on. */
export const connectServer = (url: string, ca: string | null) => call("connect_server", { url, ca });
/** Forget the team server and its sign-in: back to this machine's store. */
export const disconnectServer = () => call("disconnect_server");

export const setPrefs = (prefs: AppPrefsDto) => call("set_prefs", { prefs });

export const listUsers = (tenant: string) => call("list_users", { tenant });

export const addUser = (tenant: string, name: string, role: Role, email: string | null) =>
  call("add_user", { tenant, name, role, email });

export const removeUser = (tenant: string, name: string) => call("remove_user", { tenant, name });

export const queryAudit = (tenant: string, query: AuditQuery) => call("query_audit", { tenant, query });

export const exportAudit = (tenant: string, query: AuditQuery, format: ExportFormat, path: string) =>
  call("export_audit", { tenant, query, format, path });

export const verifyAudit = () => call("verify_audit");

/**
 * Archive mode: the verification of the archive's audit log, started by the
 * shell when the archive was opened. Resolves when it is done (about a second
 * per million entries), so a page never waits for it.
 */
export const archiveVerify = () => call("archive_verify");

/**
 * "Open audit archive…": the shell asks for a store file (native dialog) and
 * opens it read-only in a new window of its own (a separate process).
 * Resolves to the file opened, or null when the dialog was canceled.
 */
export const openArchive = () => call("open_archive");

export const homeStats = (tenant: string) => call("home_stats", { tenant });

// Provider connections (API tokens), approver email (SMTP), the local provider API.

export const listTokens = (tenant: string) => call("list_tokens", { tenant });

/** Issues a token; `secret` in the result is shown once and never again. */
export const issueToken = (tenant: string, name: string, expiresS: number | null) =>
  call("issue_token", { tenant, name, expiresS });

export const revokeToken = (tenant: string, name: string) => call("revoke_token", { tenant, name });

/** The tenant's SMTP server, or null when email is off. */
export const getSmtp = (tenant: string) => call("get_smtp", { tenant });

/** `smtp: null` turns email off; `password: null` keeps the stored password. */
export const setSmtp = (tenant: string, smtp: SmtpInput | null) => call("set_smtp", { tenant, smtp });

/** Sends a test message now; rejects with the reason when it isn't sent. */
export const testSmtp = (tenant: string, to: string) => call("test_smtp", { tenant, to });

/** Approver email deliveries, newest first. */
export const emailStatus = (tenant: string) => call("email_status", { tenant });

/** The local provider API (app-wide), as configured and as running. */
export const getApiSettings = () => call("get_api_settings");

/** Refused with invalid_input for a non-loopback address without TLS certificate and key. */
export const setApiSettings = (tenant: string, settings: ApiSettingsDto) =>
  call("set_api_settings", { tenant, settings });

/** Opens the native "save as" dialog (Tauri) or its stand-in (mock). */
export async function saveDialog(options: SaveDialogOptions): Promise<string | null> {
  const t = await getTransport();
  return t.saveDialog(options);
}

// ---- Events ---------------------------------------------------------------

function isLockboxEvent(p: unknown): p is LockboxEvent {
  return typeof p === "object" && p !== null && typeof (p as LockboxEvent).kind === "string";
}

// One transport listener per event name, shared by every subscriber: a page
// subscribes synchronously (no round trip), and a listener registered early
// (see countChanges) sees every event from then on.
type Hub = { handlers: Set<(payload: unknown) => void>; stop: Unlisten | null; closed: boolean; ready: Promise<void> };
const hubs = new Map<string, Hub>();

function hubFor(event: string): Hub {
  const existing = hubs.get(event);
  if (existing) return existing;
  const hub: Hub = { handlers: new Set(), stop: null, closed: false, ready: Promise.resolve() };
  hub.ready = getTransport()
    .then((t) =>
      t.listen(event, (payload) => {
        for (const h of [...hub.handlers]) h(payload);
      }),
    )
    .then((u) => {
      if (hub.closed) u();
      else hub.stop = u;
    })
    .catch(() => {
      /* no live updates; pages still work */
    });
  hubs.set(event, hub);
  return hub;
}

function subscribe(event: string, handler: (payload: unknown) => void): Unlisten {
  const hub = hubFor(event);
  const h = (p: unknown) => handler(p);
  hub.handlers.add(h);
  return () => {
    hub.handlers.delete(h);
    if (hub.handlers.size === 0 && !hub.closed) {
      hub.closed = true;
      if (hubs.get(event) === hub) hubs.delete(event);
      hub.stop?.();
    }
  };
}

let changeCount = 0;
let counting: Promise<void> | null = null;

/**
 * Starts counting engine change notifications (for the life of the window) and
 * resolves once the shell delivers them. Data read after that resolved is current
 * as long as `changeCountNow()` still returns what it returned before the read.
 */
export function countChanges(): Promise<void> {
  if (!counting) {
    subscribe(CHANGED_EVENT, () => {
      changeCount += 1;
    });
    counting = hubFor(CHANGED_EVENT).ready;
  }
  return counting;
}

export function changeCountNow(): number {
  return changeCount;
}

/**
 * Subscribes to the shell asking the UI to show a route: a page name ("requests",
 * "home", …) or a route with its query (`requests?request=ID&tenant=T`), as `parseHash` reads it.
 */
export function onNavigate(handler: (route: string) => void): Unlisten {
  return subscribe(NAVIGATE_EVENT, (p) => {
    if (typeof p === "string") handler(p);
  });
}

/**
 * Subscribes to the shell saying the team server was lost or is back (the
 * connection's state changed): ask `get_connection` and the session again.
 */
export function onConnectionChanged(handler: () => void): Unlisten {
  return subscribe(CONNECTION_EVENT, () => handler());
}

/**
 * Subscribes to engine change notifications. Returns a function that
 * unsubscribes; it is safe to call before the subscription is established.
 */
export function onLockboxEvent(handler: (event: LockboxEvent) => void): Unlisten {
  return subscribe(CHANGED_EVENT, (p) => {
    if (isLockboxEvent(p)) handler(p);
  });
}

/**
 * Tell the app what the window shows now (`requests?request=ID`,
 * `requests?status=pending`): it logs it, which is how the headless test sees
 * where a notification click led. Never fails the page.
 */
export function reportShown(route: string): void {
  call("ui_shown", { route }).catch(() => undefined);
}

let readyReported = false;

/**
 * Tell the app, once per window load, that the first page has rendered with its
 * data (two animation frames after the render). The app logs the time since it
 * started: the cold-start benchmark's "first paint". Never fails the page.
 */
export function reportFirstPaint(page: string): void {
  // The static first paint (prepaint/) already reported it.
  if (readyReported || (typeof window !== "undefined" && PREPAINTED in window)) return;
  readyReported = true;
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      call("ui_ready", { page }).catch(() => undefined);
    }),
  );
}
