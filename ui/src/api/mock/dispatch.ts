// Command name -> handler, typed: each handler takes the arguments the UI
// sends for that command (client.ts; camelCase names, as the shell takes
// them) and returns what the shell returns. The arguments arrive as JSON,
// untyped, so `dispatch` reads them as the handler's type in one place.

import { COMMANDS, type CommandArgs, type CommandName, type CommandResult } from "../../bindings/commands";
import type { InvokeArgs } from "../transport";
import { filterAudit, homeStats, queryAudit, verify } from "./audit";
import type { MockBackend } from "./backend";
import { addUser, listUsers, removeUser, updateSettings } from "./directory";
import { apiDto, emailStatus, issueToken, listTokens, revokeToken, setApiSettings, setSmtp, smtpDto, testSmtp } from "./provider";
import { approve, listRequests, reject, revoke } from "./requests";
import { clone, fail } from "./util";

/**
 * Shell commands a browser has no use for: the save dialog is the
 * transport's, the tray and the first-paint report belong to the desktop;
 * `replica_page` is what a connected desktop pulls its audit replica with
 * from a team server (no page asks for it).
 */
type NotMocked = "tray_state" | "choose_export_path" | "ui_ready" | "ui_shown" | "replica_page";

/** The commands the mock answers: the generated command table (Rust), less the above. */
export type MockedCommand = Exclude<CommandName, NotMocked>;

type Handlers = {
  [C in MockedCommand]: (b: MockBackend, a: CommandArgs<C>) => CommandResult<C> | Promise<CommandResult<C>>;
};

const handlers: Handlers = {
  session: (b) => b.session(),
  boot: (b, a) => {
    const session = b.session();
    const tenant = session.tenants.find((t) => t.id === a.tenant)?.id ?? session.tenants[0]?.id ?? null;
    const q = a.requests ?? null;
    return { session, tenant, requests: tenant && q ? listRequests(b, b.tenant(tenant), q) : null };
  },
  list_requests: (b, a) => listRequests(b, b.tenant(a.tenant), a.query),
  get_request: (b, a) => clone(b.request(a.tenant, a.id)),
  request_audit: (b, a) => {
    const t = b.tenant(a.tenant);
    b.request(t, a.id);
    return clone(b.audit.filter((e) => e.tenant === t && e.request_id === a.id));
  },
  approve_request: (b, a) => approve(b, a.tenant, a.id, a.comment ?? null, a.durationS ?? null),
  reject_request: (b, a) => reject(b, a.tenant, a.id, a.comment ?? null),
  revoke_request: (b, a) => revoke(b, a.tenant, a.id, a.comment ?? null),
  get_settings: (b, a) => clone(b.settingsOf(b.tenant(a.tenant))),
  update_settings: (b, a) => updateSettings(b, b.tenant(a.tenant), a.settings),
  get_prefs: (b) => clone(b.prefs),
  get_connection: (b) => clone(b.connection),
  connect_server: (b, a) => {
    b.connection = { state: "connected", server: serverUrl(a.url), ca: a.ca || null, person: b.signInAs, replica_at: null };
    return clone(b.connection);
  },
  disconnect_server: (b) => {
    b.connection = { state: "local", server: null, ca: null, person: null, replica_at: null };
    return clone(b.connection);
  },
  set_prefs: (b, a) => {
    b.prefs = clone(a.prefs);
    return clone(b.prefs);
  },
  list_users: (b, a) => listUsers(b, b.tenant(a.tenant)),
  add_user: (b, a) => addUser(b, b.tenant(a.tenant), a.name, a.role, a.email ?? null),
  remove_user: (b, a) => removeUser(b, b.tenant(a.tenant), a.name),
  query_audit: (b, a) => queryAudit(b, b.tenant(a.tenant), a.query),
  export_audit: (b, a) => {
    const t = b.tenant(a.tenant);
    if (a.format !== "csv" && a.format !== "jsonl") fail("invalid_input", `unknown export format '${a.format}' (csv or jsonl)`);
    if (a.path === "") fail("invalid_input", "no export path");
    return filterAudit(b, t, { ...a.query, before_seq: null }).length;
  },
  verify_audit: (b) => verify(b),
  archive_verify: (b) => {
    if (!b.archive) fail("invalid_input", "this window shows no archive");
    return b.archiveVerifyGate.then(() => verify(b));
  },
  open_archive: (b) => {
    if (b.archiveToOpen) b.openedArchives.push(b.archiveToOpen);
    return b.archiveToOpen;
  },
  home_stats: (b, a) => homeStats(b, b.tenant(a.tenant)),
  list_tokens: (b, a) => listTokens(b, b.tenant(a.tenant)),
  issue_token: (b, a) => issueToken(b, b.tenant(a.tenant), a.name, a.expiresS ?? null),
  revoke_token: (b, a) => revokeToken(b, b.tenant(a.tenant), a.name),
  get_smtp: (b, a) => smtpDto(b, b.tenant(a.tenant)),
  set_smtp: (b, a) => setSmtp(b, b.tenant(a.tenant), a.smtp ?? null),
  test_smtp: (b, a) => testSmtp(b, b.tenant(a.tenant), a.to),
  email_status: (b, a) => emailStatus(b, b.tenant(a.tenant)),
  get_api_settings: (b) => apiDto(b),
  set_api_settings: (b, a) => setApiSettings(b, b.tenant(a.tenant), a.settings),
};

/** The shell's check of a server address (lockbox_client::server_url): https, or http on loopback; no path. */
function serverUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    fail("invalid_input", `the server address '${text}': not a URL`);
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
    fail("invalid_input", `the server address '${text}' must be an https URL (http only on a loopback address, for tests)`);
  if (url.pathname !== "/" || url.search || url.username)
    fail("invalid_input", `the server address '${text}': give the server's address only, like https://lockbox.example:8787`);
  return url.origin;
}

/**
 * Refused in archive mode, as the shell refuses them: what the command table
 * says writes, and sending a test email.
 */
function refusedInArchive(cmd: MockedCommand): boolean {
  return COMMANDS[cmd].access === "write" || cmd === "test_smtp";
}

function isCommand(cmd: string): cmd is MockedCommand {
  return Object.prototype.hasOwnProperty.call(handlers, cmd);
}

/** Runs `cmd` with `args` as the shell would: deadlines first, archive mode refusing writes. */
export function dispatch(b: MockBackend, cmd: string, args: InvokeArgs): unknown {
  if (!isCommand(cmd)) fail("internal", `unknown command ${cmd}`);
  // The team server not reached: the reads answer from the replica, decisions are refused.
  if (b.connection.state === "offline" && refusedInArchive(cmd)) {
    fail("store_unavailable", "the server cannot be reached: decisions are off until it is back");
  }
  // A store opened read-only: nothing is swept, nothing is written.
  if (b.archive && refusedInArchive(cmd)) fail("read_only", `${b.archive.file_name} is an audit archive, open read-only`);
  if (!b.archive) b.tick();
  // The one untyped step: JSON arguments, read as the command's (like the shell's serde).
  const handler = handlers[cmd] as (b: MockBackend, a: InvokeArgs) => unknown;
  return handler(b, args);
}
