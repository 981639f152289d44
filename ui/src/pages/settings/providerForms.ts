// What the Provider API and Email notifications panels hold (text as typed)
// and their client-side validation. The engine checks the same rules again;
// its refusal is shown as well.

import type { ApiSettingsDto } from "../../bindings/ApiSettingsDto";
import type { SmtpDto } from "../../bindings/SmtpDto";
import type { SmtpInput } from "../../bindings/SmtpInput";
import { DAY } from "../../lib/duration";
import { parseSocketAddr } from "../../lib/address";
import { EMAIL_RE } from "./CustomerApprovers";

// ---- Provider API ----------------------------------------------------------

export type ApiForm = { enabled: boolean; bind: string; tls_cert: string; tls_key: string };
export type ApiErrors = Partial<Record<"bind" | "tls_cert" | "tls_key", string>>;

export function toApiForm(s: ApiSettingsDto): ApiForm {
  return { enabled: s.enabled, bind: s.bind, tls_cert: s.tls_cert ?? "", tls_key: s.tls_key ?? "" };
}

/**
 * Checks the API form like the engine: an IP address and port ("localhost" is
 * taken as 127.0.0.1), TLS certificate and key together, and TLS whenever the
 * address is not loopback (127.x, localhost, ::1).
 */
export function validateApiForm(
  f: ApiForm,
): { ok: true; settings: Pick<ApiSettingsDto, "enabled" | "bind" | "tls_cert" | "tls_key"> } | { ok: false; errors: ApiErrors } {
  const errors: ApiErrors = {};
  let bind = f.bind.trim();
  const local = /^localhost:(\d+)$/i.exec(bind);
  if (local) bind = `127.0.0.1:${local[1] ?? ""}`;
  const addr = bind === "" ? null : parseSocketAddr(bind);
  if (bind === "") errors.bind = "Enter an address and port, like 127.0.0.1:8787.";
  else if (!addr) errors.bind = "Enter an IP address and port, like 127.0.0.1:8787 or [::1]:8787.";

  const cert = f.tls_cert.trim();
  const key = f.tls_key.trim();
  if (addr && !addr.loopback && cert === "" && key === "") {
    errors.tls_cert = "A TLS certificate is required: the address is reachable from other computers.";
    errors.tls_key = "A TLS key is required: the address is reachable from other computers.";
  } else if (cert !== "" && key === "") {
    errors.tls_key = "Enter the TLS key path too: the certificate and key go together.";
  } else if (key !== "" && cert === "") {
    errors.tls_cert = "Enter the TLS certificate path too: the certificate and key go together.";
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    settings: { enabled: f.enabled, bind, tls_cert: cert === "" ? null : cert, tls_key: key === "" ? null : key },
  };
}

// ---- Email (SMTP) ----------------------------------------------------------

export type SmtpSecurity = "none" | "starttls" | "tls";

export const SECURITY_OPTIONS: Array<{ value: SmtpSecurity; label: string; port: number }> = [
  { value: "starttls", label: "STARTTLS", port: 587 },
  { value: "tls", label: "TLS", port: 465 },
  { value: "none", label: "None", port: 25 },
];

export function securityLabel(s: string): string {
  return SECURITY_OPTIONS.find((o) => o.value === s)?.label ?? s;
}

export type SmtpForm = {
  host: string;
  port: string;
  security: SmtpSecurity;
  username: string;
  password: string;
  from_address: string;
};
export type SmtpErrors = Partial<Record<keyof SmtpForm, string>>;

function asSecurity(s: string): SmtpSecurity {
  return s === "none" || s === "tls" ? s : "starttls";
}

export function toSmtpForm(s: SmtpDto | null): SmtpForm {
  if (!s) return { host: "", port: "587", security: "starttls", username: "", password: "", from_address: "" };
  return {
    host: s.host,
    port: String(s.port),
    security: asSecurity(s.security),
    username: s.username ?? "",
    password: "",
    from_address: s.from_address,
  };
}

/** `passwordSet`: a password is stored, so an empty password keeps it (sent as null). */
export function validateSmtpForm(
  f: SmtpForm,
  passwordSet: boolean,
): { ok: true; smtp: SmtpInput } | { ok: false; errors: SmtpErrors } {
  const errors: SmtpErrors = {};
  const host = f.host.trim();
  if (host === "") errors.host = "Enter the SMTP server, like smtp.contoso.com.";
  else if (host.length > 128) errors.host = "The server name is too long (128 characters at most).";
  else if (/[\s/]/.test(host) || host.includes("://")) errors.host = "Enter only the server's host name, like smtp.contoso.com (no spaces or slashes).";

  const portText = f.port.trim();
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) errors.port = "Enter a port between 1 and 65535.";

  const username = f.username.trim();
  if (username === "" && f.password !== "") errors.username = "Enter the username that goes with this password.";
  if (username !== "" && f.password === "" && !passwordSet) errors.password = "Enter the password for this username.";

  const from = f.from_address.trim();
  if (from === "") errors.from_address = "Enter the address emails come from, like lockbox@contoso.com.";
  else if (!EMAIL_RE.test(from)) errors.from_address = "Enter a valid email address, like lockbox@contoso.com.";

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    smtp: {
      host,
      port,
      security: f.security,
      username: username === "" ? null : username,
      password: f.password === "" ? null : f.password,
      from_address: from,
    },
  };
}

// ---- Provider connections --------------------------------------------------

export const EXPIRY_OPTIONS: Array<{ value: string; label: string; seconds: number | null }> = [
  { value: "30", label: "30 days", seconds: 30 * DAY },
  { value: "90", label: "90 days", seconds: 90 * DAY },
  { value: "365", label: "365 days", seconds: 365 * DAY },
  { value: "never", label: "Never", seconds: null },
];

export function validateConnectionName(name: string): string | undefined {
  const n = name.trim();
  if (n === "") return "Enter a name for this connection.";
  if ([...n].length > 128) return "The name is too long (128 characters at most).";
  return undefined;
}
