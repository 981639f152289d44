// Command name -> handler, typed: each handler takes the arguments the UI
// sends for that command (client.ts; camelCase names, as the shell takes
// them) and returns what the shell returns. The arguments arrive as JSON,
// untyped, so `dispatch` reads them as the handler's type in one place.

import type { ApiSettingsDto } from "../../bindings/ApiSettingsDto";
import type { AppPrefsDto } from "../../bindings/AppPrefsDto";
import type { AuditEntryDto } from "../../bindings/AuditEntryDto";
import type { AuditPage } from "../../bindings/AuditPage";
import type { AuditQuery } from "../../bindings/AuditQuery";
import type { BootDto } from "../../bindings/BootDto";
import type { DeliveryDto } from "../../bindings/DeliveryDto";
import type { HomeStats } from "../../bindings/HomeStats";
import type { IssuedTokenDto } from "../../bindings/IssuedTokenDto";
import type { RequestDto } from "../../bindings/RequestDto";
import type { RequestPage } from "../../bindings/RequestPage";
import type { RequestQuery } from "../../bindings/RequestQuery";
import type { Role } from "../../bindings/Role";
import type { SessionDto } from "../../bindings/SessionDto";
import type { SettingsDto } from "../../bindings/SettingsDto";
import type { SmtpDto } from "../../bindings/SmtpDto";
import type { SmtpInput } from "../../bindings/SmtpInput";
import type { TokenDto } from "../../bindings/TokenDto";
import type { UserDto } from "../../bindings/UserDto";
import type { VerifyReport } from "../../bindings/VerifyReport";
import type { InvokeArgs } from "../transport";
import { filterAudit, homeStats, queryAudit, verify } from "./audit";
import type { MockBackend } from "./backend";
import { addUser, listUsers, removeUser, updateSettings } from "./directory";
import { apiDto, emailStatus, issueToken, listTokens, revokeToken, setApiSettings, setSmtp, smtpDto, testSmtp } from "./provider";
import { approve, listRequests, reject, revoke } from "./requests";
import { clone, fail } from "./util";

type Tenant = { tenant: string };
type Named = Tenant & { name: string };
type Decision = Tenant & { id: string; comment: string | null };

/** The commands the mock answers: `{ [name]: { args; result } }`. */
export type MockCommands = {
  session: { args: Record<string, never>; result: SessionDto };
  boot: { args: { tenant: string | null; requests: RequestQuery | null }; result: BootDto };
  list_requests: { args: Tenant & { query: RequestQuery }; result: RequestPage };
  get_request: { args: Tenant & { id: string }; result: RequestDto };
  request_audit: { args: Tenant & { id: string }; result: AuditEntryDto[] };
  approve_request: { args: Decision & { durationS: number | null }; result: RequestDto };
  reject_request: { args: Decision; result: RequestDto };
  revoke_request: { args: Decision; result: RequestDto };
  get_settings: { args: Tenant; result: SettingsDto };
  update_settings: { args: Tenant & { settings: SettingsDto }; result: SettingsDto };
  get_prefs: { args: Record<string, never>; result: AppPrefsDto };
  set_prefs: { args: { prefs: AppPrefsDto }; result: AppPrefsDto };
  list_users: { args: Tenant; result: UserDto[] };
  add_user: { args: Named & { role: Role; email: string | null }; result: UserDto };
  remove_user: { args: Named; result: null };
  query_audit: { args: Tenant & { query: AuditQuery }; result: AuditPage };
  export_audit: { args: Tenant & { query: AuditQuery; format: string; path: string }; result: number };
  verify_audit: { args: Record<string, never>; result: VerifyReport };
  archive_verify: { args: Record<string, never>; result: Promise<VerifyReport> };
  open_archive: { args: Record<string, never>; result: string | null };
  home_stats: { args: Tenant; result: HomeStats };
  list_tokens: { args: Tenant; result: TokenDto[] };
  issue_token: { args: Named & { expiresS: number | null }; result: IssuedTokenDto };
  revoke_token: { args: Named; result: TokenDto };
  get_smtp: { args: Tenant; result: SmtpDto | null };
  set_smtp: { args: Tenant & { smtp: SmtpInput | null }; result: SmtpDto | null };
  test_smtp: { args: Tenant & { to: string }; result: null };
  email_status: { args: Tenant; result: DeliveryDto[] };
  get_api_settings: { args: Record<string, never>; result: ApiSettingsDto };
  set_api_settings: { args: Tenant & { settings: ApiSettingsDto }; result: ApiSettingsDto };
};

type Handlers = { [C in keyof MockCommands]: (b: MockBackend, a: MockCommands[C]["args"]) => MockCommands[C]["result"] };

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

/** Commands that change something: refused in archive mode, as the shell refuses them. */
const WRITES = new Set<keyof MockCommands>([
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

function isCommand(cmd: string): cmd is keyof MockCommands {
  return Object.prototype.hasOwnProperty.call(handlers, cmd);
}

/** Runs `cmd` with `args` as the shell would: deadlines first, archive mode refusing writes. */
export function dispatch(b: MockBackend, cmd: string, args: InvokeArgs): unknown {
  if (!isCommand(cmd)) fail("internal", `unknown command ${cmd}`);
  // A store opened read-only: nothing is swept, nothing is written.
  if (b.archive && WRITES.has(cmd)) fail("read_only", `${b.archive.file_name} is an audit archive, open read-only`);
  if (!b.archive) b.tick();
  // The one untyped step: JSON arguments, read as the command's (like the shell's serde).
  const handler = handlers[cmd] as (b: MockBackend, a: InvokeArgs) => unknown;
  return handler(b, args);
}
