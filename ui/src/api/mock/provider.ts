// Provider connections (API tokens), approver email (SMTP) and the local
// provider API settings, with the engine's rules (tokens.rs, mail.rs, engine.rs).

import type { ApiSettingsDto } from "../../bindings/ApiSettingsDto";
import type { DeliveryDto } from "../../bindings/DeliveryDto";
import type { IssuedTokenDto } from "../../bindings/IssuedTokenDto";
import type { SmtpDto } from "../../bindings/SmtpDto";
import type { SmtpInput } from "../../bindings/SmtpInput";
import type { TokenDto } from "../../bindings/TokenDto";
import { parseSocketAddr } from "../../lib/address";
import type { MockBackend } from "./backend";
import type { MockSmtp, MockToken } from "./types";
import { clone, DAY, fail, formatDuration, iso, mockHash, ms, required, uuid } from "./util";

export const TOKEN_PREFIX = "lbx_";
/** The longest lifetime a token may be issued with: ten years. */
const MAX_TOKEN_LIFETIME_S = 3650 * DAY;
const SMTP_SECURITY = ["none", "starttls", "tls"];
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function settingsChanged(b: MockBackend, tenant: string): void {
  b.emit("settings_changed", tenant);
  b.emit("audit_appended", tenant);
}

export function tokenDto(b: MockBackend, t: MockToken): TokenDto {
  const active = t.revoked_at === null && (t.expires_at === null || b.now() < ms(t.expires_at));
  return { id: t.id, name: t.name, created_at: t.created_at, expires_at: t.expires_at, revoked_at: t.revoked_at, active };
}

export function listTokens(b: MockBackend, tenant: string): TokenDto[] {
  return (b.tokens.get(tenant) ?? []).map((x) => tokenDto(b, x));
}

export function issueToken(b: MockBackend, tenant: string, rawName: string, expiresS: number | null): IssuedTokenDto {
  const name = required("connection name", rawName);
  if (expiresS !== null) {
    if (expiresS <= 0) fail("invalid_input", "a token's lifetime must be positive");
    if (expiresS > MAX_TOKEN_LIFETIME_S) fail("invalid_input", `a token's lifetime must be at most ${formatDuration(MAX_TOKEN_LIFETIME_S)}`);
  }
  b.requireRole(true);
  const list = b.tokens.get(tenant) ?? [];
  if (list.some((t) => t.name === name)) fail("already_exists", `a provider connection named '${name}' exists already`);
  const hex = Array.from({ length: 64 }, () => Math.floor(b.rand() * 16).toString(16)).join("");
  const secret = `${TOKEN_PREFIX}${hex}`;
  const now = b.now();
  const row: MockToken = {
    id: uuid(b.rand),
    name,
    created_at: iso(now),
    expires_at: expiresS !== null ? iso(now + expiresS * 1000) : null,
    revoked_at: null,
    secret_hash: mockHash(secret),
  };
  list.push(row);
  b.tokens.set(tenant, list);
  b.log(tenant, "customer", b.user, "token_issued", null, { connection: name, token_id: row.id, expires_at: row.expires_at });
  settingsChanged(b, tenant);
  return { token: tokenDto(b, row), secret };
}

export function revokeToken(b: MockBackend, tenant: string, name: string): TokenDto {
  b.requireRole(true);
  const t = (b.tokens.get(tenant) ?? []).find((x) => x.name === name);
  if (!t) fail("not_found", `no provider connection '${name}' in tenant '${tenant}'`);
  if (t.revoked_at !== null) fail("invalid_transition", `the token of '${t.name}' is already revoked`);
  t.revoked_at = iso(b.now());
  b.log(tenant, "customer", b.user, "token_revoked", null, { connection: t.name, token_id: t.id });
  settingsChanged(b, tenant);
  return tokenDto(b, t);
}

export function smtpDto(b: MockBackend, tenant: string): SmtpDto | null {
  const s = b.smtp.get(tenant);
  if (!s) return null;
  const { password, ...rest } = s;
  return { ...clone(rest), password_set: password !== null };
}

export function setSmtp(b: MockBackend, tenant: string, i: SmtpInput | null): SmtpDto | null {
  let row: MockSmtp | null = null;
  if (i !== null) {
    const host = required("SMTP host", i.host);
    if (!Number.isInteger(i.port) || i.port < 1 || i.port > 65535) fail("invalid_input", "SMTP port must be between 1 and 65535");
    if (!SMTP_SECURITY.includes(i.security)) fail("invalid_input", `SMTP security must be none, starttls or tls, not '${i.security}'`);
    if (typeof i.from_address !== "string" || !EMAIL_RE.test(i.from_address)) {
      fail("invalid_input", `'${String(i.from_address)}' is not an email address`);
    }
    const keep = b.smtp.get(tenant)?.password ?? null;
    row = {
      host,
      port: i.port,
      security: i.security,
      username: i.username && i.username.trim() !== "" ? i.username : null,
      password: i.password ? i.password : keep,
      from_address: i.from_address,
    };
  }
  b.requireRole(true);
  b.smtp.set(tenant, row);
  const change = row ? `${row.host}:${row.port} (${row.security}) from ${row.from_address}${row.username ? ", with login" : ""}` : "off";
  b.log(tenant, "customer", b.user, "settings_changed", null, { changes: [{ key: "smtp", new: change }] });
  settingsChanged(b, tenant);
  return smtpDto(b, tenant);
}

export function testSmtp(b: MockBackend, tenant: string, to: string): null {
  const s = b.smtp.get(tenant);
  if (!s) fail("invalid_input", "no SMTP server is set for this tenant");
  if (!EMAIL_RE.test(to)) fail("invalid_input", `test message not sent: bad recipient ${to}: Invalid input`);
  if (b.smtpTestFailure) fail("invalid_input", `test message not sent: ${b.smtpTestFailure}`);
  if (/\.invalid$/i.test(s.host)) {
    fail("invalid_input", "test message not sent: SMTP: Connection error: failed to lookup address information: Name or service not known");
  }
  return null;
}

export function emailStatus(b: MockBackend, tenant: string): DeliveryDto[] {
  return clone(b.deliveries.get(tenant) ?? []);
}

export function apiDto(b: MockBackend): ApiSettingsDto {
  const running = b.api.enabled && b.apiStartError === null;
  return { ...clone(b.api), listening_on: running ? b.api.bind : null, error: b.api.enabled ? b.apiStartError : null };
}

export function setApiSettings(b: MockBackend, tenant: string, s: ApiSettingsDto): ApiSettingsDto {
  const bind = typeof s.bind === "string" ? s.bind : "";
  const addr = parseSocketAddr(bind);
  if (!addr) fail("invalid_input", `'${bind}' is not an address like 127.0.0.1:8787`);
  const cert = s.tls_cert ? s.tls_cert : null;
  const key = s.tls_key ? s.tls_key : null;
  if ((cert === null) !== (key === null)) fail("invalid_input", "give both a TLS certificate and a TLS key, or neither");
  const normal = addr.v6 ? `[${addr.ip}]:${addr.port}` : `${addr.ip}:${addr.port}`;
  if (!addr.loopback && cert === null) {
    fail("invalid_input", `${normal} is not a loopback address: serving it requires TLS (certificate and key)`);
  }
  b.requireRole(true);
  const old = b.api;
  b.api = { enabled: s.enabled === true, bind: normal, tls_cert: cert, tls_key: key };
  b.log(tenant, "customer", b.user, "settings_changed", null, {
    changes: [{ key: "api", old: `${old.enabled ? "on" : "off"} ${old.bind}`, new: `${b.api.enabled ? "on" : "off"} ${normal}` }],
  });
  settingsChanged(b, tenant);
  return apiDto(b);
}
