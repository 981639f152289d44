// Generated from crates/lockbox-core/src/commands/mod.rs (the one declaration of
// every command) by `make bindings`. Do not edit.

import type { ApiSettingsDto } from "./ApiSettingsDto";
import type { AppPrefsDto } from "./AppPrefsDto";
import type { AuditEntryDto } from "./AuditEntryDto";
import type { AuditPage } from "./AuditPage";
import type { AuditQuery } from "./AuditQuery";
import type { BootDto } from "./BootDto";
import type { ConnectionDto } from "./ConnectionDto";
import type { DeliveryDto } from "./DeliveryDto";
import type { HomeStats } from "./HomeStats";
import type { IssuedTokenDto } from "./IssuedTokenDto";
import type { ReplicaPageDto } from "./ReplicaPageDto";
import type { RequestDto } from "./RequestDto";
import type { RequestPage } from "./RequestPage";
import type { RequestQuery } from "./RequestQuery";
import type { Role } from "./Role";
import type { SessionDto } from "./SessionDto";
import type { SettingsDto } from "./SettingsDto";
import type { SmtpDto } from "./SmtpDto";
import type { SmtpInput } from "./SmtpInput";
import type { TokenDto } from "./TokenDto";
import type { TrayStateDto } from "./TrayStateDto";
import type { UserDto } from "./UserDto";
import type { VerifyReport } from "./VerifyReport";

/** Every command: its arguments and its result. */
export type Commands = {
  /** Who is signed in, their role, and the tenants they see. */
  session: { args: Record<symbol, never>; result: SessionDto };
  /** The session and, when asked, the first page of requests, in one round trip. */
  boot: { args: { tenant: string | null, requests: RequestQuery | null, }; result: BootDto };
  list_requests: { args: { tenant: string, query: RequestQuery, }; result: RequestPage };
  get_request: { args: { tenant: string, id: string, }; result: RequestDto };
  /** A request's audit trail, oldest first. */
  request_audit: { args: { tenant: string, id: string, }; result: Array<AuditEntryDto> };
  approve_request: { args: { tenant: string, id: string, comment: string | null, durationS: number | null, }; result: RequestDto };
  reject_request: { args: { tenant: string, id: string, comment: string | null, }; result: RequestDto };
  revoke_request: { args: { tenant: string, id: string, comment: string | null, }; result: RequestDto };
  get_settings: { args: { tenant: string, }; result: SettingsDto };
  update_settings: { args: { tenant: string, settings: SettingsDto, }; result: SettingsDto };
  list_users: { args: { tenant: string, }; result: Array<UserDto> };
  add_user: { args: { tenant: string, name: string, role: Role, email: string | null, }; result: UserDto };
  remove_user: { args: { tenant: string, name: string, }; result: null };
  query_audit: { args: { tenant: string, query: AuditQuery, }; result: AuditPage };
  /** Verify every chain of the store's audit log. */
  verify_audit: { args: Record<symbol, never>; result: VerifyReport };
  home_stats: { args: { tenant: string, }; result: HomeStats };
  /** Provider connections (API tokens) of the tenant. */
  list_tokens: { args: { tenant: string, }; result: Array<TokenDto> };
  /** Issue a token; `secret` in the result is shown once and never again. */
  issue_token: { args: { tenant: string, name: string, expiresS: number | null, }; result: IssuedTokenDto };
  revoke_token: { args: { tenant: string, name: string, }; result: TokenDto };
  /** The tenant's SMTP server, or null when email is off. */
  get_smtp: { args: { tenant: string, }; result: SmtpDto | null };
  /** Approver email deliveries, newest first. */
  email_status: { args: { tenant: string, }; result: Array<DeliveryDto> };
  /** A page of the tenant's audit chain as stored, for a connected */
  /** desktop's replica (`store::replica`); `limit` at most 10 000. */
  replica_page: { args: { tenant: string, since: number, after: number, limit: number, }; result: ReplicaPageDto };
  /** This machine's preferences. */
  get_prefs: { args: Record<symbol, never>; result: AppPrefsDto };
  set_prefs: { args: { prefs: AppPrefsDto, }; result: AppPrefsDto };
  /** What the tray shows: the pending count across tenants. */
  tray_state: { args: Record<symbol, never>; result: TrayStateDto };
  /** Ask where to save an audit export (native dialog); null when canceled. */
  choose_export_path: { args: { format: string, }; result: string | null };
  /** Export to a path chosen in the save dialog; the number of entries written. */
  export_audit: { args: { tenant: string, query: AuditQuery, format: string, path: string, }; result: number };
  /** `smtp: null` turns email off; `password: null` keeps the saved one. */
  set_smtp: { args: { tenant: string, smtp: SmtpInput | null, }; result: SmtpDto | null };
  /** Send a test message now; fails with the reason when it is not sent. */
  test_smtp: { args: { tenant: string, to: string, }; result: null };
  /** The local provider API (app-wide), as configured and as running. */
  get_api_settings: { args: Record<symbol, never>; result: ApiSettingsDto };
  set_api_settings: { args: { tenant: string, settings: ApiSettingsDto, }; result: ApiSettingsDto };
  /** The first page rendered (cold-start benchmark); ms since start. */
  ui_ready: { args: { page: string, }; result: number };
  /** What the window shows now (a route, e.g. `requests?request=ID`), */
  /** logged: where a notification click or tray item led. */
  ui_shown: { args: { route: string, }; result: null };
  /** Archive window: the archive's verification, when done. */
  archive_verify: { args: Record<symbol, never>; result: VerifyReport };
  /** Choose a store file and open it read-only in a new window. */
  open_archive: { args: Record<symbol, never>; result: string | null };
  /** This machine's team server, if any, and who is signed in to it. */
  get_connection: { args: Record<symbol, never>; result: ConnectionDto };
  /** Sign in to a team server in the system browser and send the */
  /** engine commands there from now on; `ca`: a PEM file to trust. */
  connect_server: { args: { url: string, ca: string | null, }; result: ConnectionDto };
  /** Forget the team server and its sign-in: back to this machine's store. */
  disconnect_server: { args: Record<symbol, never>; result: ConnectionDto };
};

export type CommandName = keyof Commands;
export type CommandArgs<K extends CommandName> = Commands[K]["args"];
export type CommandResult<K extends CommandName> = Commands[K]["result"];

/** Where each command runs, whether it writes, and who may call it. */
export const COMMANDS = {
  session: { runs: "engine", access: "read", role: "anyone" },
  boot: { runs: "engine", access: "read", role: "anyone" },
  list_requests: { runs: "engine", access: "read", role: "member" },
  get_request: { runs: "engine", access: "read", role: "member" },
  request_audit: { runs: "engine", access: "read", role: "member" },
  approve_request: { runs: "engine", access: "write", role: "approver" },
  reject_request: { runs: "engine", access: "write", role: "approver" },
  revoke_request: { runs: "engine", access: "write", role: "approver" },
  get_settings: { runs: "engine", access: "read", role: "member" },
  update_settings: { runs: "engine", access: "write", role: "admin" },
  list_users: { runs: "engine", access: "read", role: "member" },
  add_user: { runs: "engine", access: "write", role: "admin" },
  remove_user: { runs: "engine", access: "write", role: "admin" },
  query_audit: { runs: "engine", access: "read", role: "member" },
  verify_audit: { runs: "engine", access: "read", role: "anyone" },
  home_stats: { runs: "engine", access: "read", role: "member" },
  list_tokens: { runs: "engine", access: "read", role: "member" },
  issue_token: { runs: "engine", access: "write", role: "admin" },
  revoke_token: { runs: "engine", access: "write", role: "admin" },
  get_smtp: { runs: "engine", access: "read", role: "member" },
  email_status: { runs: "engine", access: "read", role: "member" },
  replica_page: { runs: "engine", access: "read", role: "member" },
  get_prefs: { runs: "shell", access: "read", role: "anyone" },
  set_prefs: { runs: "shell", access: "write", role: "anyone" },
  tray_state: { runs: "shell", access: "read", role: "anyone" },
  choose_export_path: { runs: "shell", access: "read", role: "anyone" },
  export_audit: { runs: "shell", access: "read", role: "member" },
  set_smtp: { runs: "shell", access: "write", role: "admin" },
  test_smtp: { runs: "shell", access: "read", role: "admin" },
  get_api_settings: { runs: "shell", access: "read", role: "anyone" },
  set_api_settings: { runs: "shell", access: "write", role: "admin" },
  ui_ready: { runs: "shell", access: "read", role: "anyone" },
  ui_shown: { runs: "shell", access: "read", role: "anyone" },
  archive_verify: { runs: "shell", access: "read", role: "anyone" },
  open_archive: { runs: "shell", access: "read", role: "anyone" },
  get_connection: { runs: "shell", access: "read", role: "anyone" },
  connect_server: { runs: "shell", access: "write", role: "anyone" },
  disconnect_server: { runs: "shell", access: "write", role: "anyone" },
} as const satisfies Record<CommandName, { runs: string; access: string; role: string }>;
