import type { AuditEntryDto } from "../bindings/AuditEntryDto";
import type { JsonValue } from "../bindings/serde_json/JsonValue";
import { humanDuration } from "./duration";
import { formatDateTime } from "./time";

// Audit operations the engine writes (lockbox-core model.rs `Operation`). The Audit page's operation
// filter offers these plus any other operation seen in loaded entries.
export const KNOWN_OPERATIONS: Record<string, string> = {
  request_created: "Request created",
  provider_approved: "Provider approved",
  approved: "Approved",
  auto_approved: "Auto-approved (Lockbox off)",
  rejected: "Rejected",
  expired: "Expired",
  canceled: "Canceled",
  revoked: "Access revoked",
  completed: "Access ended",
  access_used: "Content accessed",
  access_denied: "Access denied",
  settings_changed: "Settings changed",
  user_added: "Approver added",
  user_removed: "Approver removed",
  tenant_added: "Organization added",
  token_issued: "Provider connection added",
  token_revoked: "Provider connection revoked",
  receipt_key_created: "Receipt signing key created",
  receipt_key_rotated: "Receipt signing key replaced",
  audit_rechained: "Audit log re-chained per tenant",
};

export function operationLabel(op: string): string {
  const known = KNOWN_OPERATIONS[op];
  if (known) return known;
  const words = op.replace(/[_.:-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

type Details = { [key: string]: JsonValue };

/** A settings value as shown: on/off for switches, durations for lifetimes, durations and lead times in seconds. */
function settingValue(key: string, v: JsonValue | undefined): string {
  if (v === undefined || v === null) return "none";
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "number" && /(_s|lifetime|duration|lead)$/.test(key) && v > 0) return humanDuration(v);
  return valueText(key, v);
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** Any JSON value as plain text: lists joined with commas, objects as `key: value`, no JSON syntax. */
function valueText(key: string, v: JsonValue): string {
  if (v === null) return "none";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") return key.endsWith("_s") ? humanDuration(v) : String(v);
  if (typeof v === "string") return ISO_TIME.test(v) ? formatDateTime(v) : v;
  if (Array.isArray(v)) return v.map((x) => valueText(key, x)).join(", ");
  return pairs(v).join(", ");
}

function keyText(key: string): string {
  return key.replace(/_s$/, "").replace(/[_-]+/g, " ");
}

/** `key: value` for every non-null field, in the engine's order. */
function pairs(d: Details, skip: readonly string[] = []): string[] {
  return Object.entries(d)
    .filter(([k, v]) => v !== null && !skip.includes(k))
    .map(([k, v]) => `${keyText(k)}: ${valueText(k, v)}`);
}

const str = (v: JsonValue | undefined): string | null => (typeof v === "string" && v !== "" ? v : null);
const num = (v: JsonValue | undefined): number | null => (typeof v === "number" ? v : null);
const when = (v: JsonValue | undefined): string | null => (str(v) ? formatDateTime(str(v)) : null);
const quoted = (v: JsonValue | undefined): string | null => (str(v) ? `“${str(v)}”` : null);

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const STATE_TEXT: Record<string, string> = {
  pending: "waiting for customer approval",
  awaiting_provider: "waiting for the provider's approval",
};

/**
 * Per operation: the lines that read its details (keys as the engine writes
 * them, lockbox-core machine.rs / engine/ / tokens.rs / mail.rs) and the
 * keys those lines cover. Keys not covered are shown as `key: value`.
 */
const READERS: Record<string, { keys: readonly string[]; read: (d: Details) => Array<string | null> }> = {
  request_created: {
    keys: ["case", "workload", "resource", "reason", "requested_duration_s", "expires_at"],
    read: (d) => [
      str(d.case) && `Case ${str(d.case)}`,
      str(d.workload),
      str(d.resource),
      num(d.requested_duration_s) !== null ? `requested ${humanDuration(num(d.requested_duration_s) ?? 0)}` : null,
      when(d.expires_at) && `expires ${when(d.expires_at)}`,
      str(d.reason) && `Reason: ${str(d.reason)}`,
    ],
  },
  provider_approved: {
    keys: ["comment", "approvals", "required"],
    read: (d) => [quoted(d.comment), approvals(d, "provider approval")],
  },
  approved: {
    keys: ["comment", "duration_s", "approvals", "required", "final", "granted_duration_s", "access_ends_at"],
    read: (d) => [
      quoted(d.comment),
      approvals(d, "approval"),
      d.final === true && num(d.granted_duration_s) !== null
        ? `granted ${humanDuration(num(d.granted_duration_s) ?? 0)}`
        : num(d.duration_s) !== null
          ? `proposed ${humanDuration(num(d.duration_s) ?? 0)}`
          : null,
      d.final === true && when(d.access_ends_at) ? `access ends ${when(d.access_ends_at)}` : null,
      d.final === false ? "more approvals needed" : null,
    ],
  },
  auto_approved: {
    keys: ["policy", "granted_duration_s", "access_ends_at"],
    read: (d) => [
      str(d.policy) && capitalized(str(d.policy) ?? ""),
      num(d.granted_duration_s) !== null ? `granted ${humanDuration(num(d.granted_duration_s) ?? 0)}` : null,
      when(d.access_ends_at) && `access ends ${when(d.access_ends_at)}`,
    ],
  },
  rejected: { keys: ["comment"], read: (d) => [quoted(d.comment) ?? "No comment"] },
  canceled: { keys: ["comment"], read: (d) => [quoted(d.comment) ?? "No comment"] },
  revoked: {
    keys: ["comment", "access_was_to_end_at"],
    read: (d) => [quoted(d.comment), when(d.access_was_to_end_at) && `access was to end ${when(d.access_was_to_end_at)}`],
  },
  expired: {
    keys: ["deadline", "unanswered_in"],
    read: (d) => [
      `Expired unanswered${when(d.deadline) ? ` at ${when(d.deadline)}` : ""}`,
      str(d.unanswered_in) && (STATE_TEXT[str(d.unanswered_in) ?? ""] ?? `was ${keyText(str(d.unanswered_in) ?? "")}`),
    ],
  },
  completed: {
    keys: ["deadline"],
    read: (d) => [`Access window ended${when(d.deadline) ? ` ${when(d.deadline)}` : ""}`],
  },
  access_used: { keys: ["action"], read: (d) => [str(d.action)] },
  access_denied: {
    keys: ["action", "reason"],
    read: (d) => [str(d.action), str(d.reason) && `denied: ${str(d.reason)}`],
  },
  settings_changed: {
    keys: ["changes"],
    read: (d) =>
      (Array.isArray(d.changes) ? d.changes : []).map((c) => {
        if (c === null || typeof c !== "object" || Array.isArray(c)) return valueText("change", c);
        const key = String(c.key ?? "setting");
        // Some changes (e.g. smtp) carry only the new value.
        return "old" in c
          ? `${key}: ${settingValue(key, c.old)} → ${settingValue(key, c.new)}`
          : `${key}: ${settingValue(key, c.new)}`;
      }),
  },
  user_added: {
    keys: ["user", "role", "email", "first_admin"],
    read: (d) => [user(d), str(d.email), d.first_admin === true ? "first admin of the organization" : null],
  },
  user_removed: { keys: ["user", "role"], read: (d) => [user(d)] },
  tenant_added: {
    keys: ["tenant", "name", "settings"],
    read: (d) => {
      const settings = d.settings;
      const shown =
        settings !== null && typeof settings === "object" && !Array.isArray(settings)
          ? Object.entries(settings).map(([k, v]) => `${k}: ${settingValue(k, v)}`)
          : settings === undefined || settings === null
            ? []
            : [`settings: ${valueText("settings", settings)}`];
      return [str(d.name) && str(d.tenant) ? `${str(d.name)} (${str(d.tenant)})` : (str(d.name) ?? str(d.tenant)), ...shown];
    },
  },
  token_issued: {
    keys: ["connection", "token_id", "expires_at"],
    read: (d) => [
      str(d.connection),
      when(d.expires_at) ? `expires ${when(d.expires_at)}` : "never expires",
      str(d.token_id) && `token ID ${str(d.token_id)}`,
    ],
  },
  token_revoked: {
    keys: ["connection", "token_id"],
    read: (d) => [str(d.connection), str(d.token_id) && `token ID ${str(d.token_id)}`],
  },
  receipt_key_created: {
    keys: ["key_id", "public_key", "file"],
    read: (d) => [str(d.key_id) && `key ${str(d.key_id)}`, str(d.file) && `file ${str(d.file)}`],
  },
  audit_rechained: {
    keys: ["previous_chain", "tenant_entries"],
    read: (d) => {
      const p = (d.previous_chain ?? {}) as Details;
      return [
        num(d.tenant_entries) === null ? null : `${num(d.tenant_entries)} entries of this tenant moved to its own chain`,
        num(p.entries) === null ? null : `old chain: ${num(p.entries)} entries`,
        str(p.head_hash) ? `old head ${str(p.head_hash)}` : null,
      ];
    },
  },
  receipt_key_rotated: {
    keys: ["key_id", "previous_key_id", "public_key", "file"],
    read: (d) => [
      str(d.previous_key_id) ? `key ${str(d.previous_key_id)} → ${str(d.key_id)}` : str(d.key_id) && `key ${str(d.key_id)}`,
      str(d.file) && `file ${str(d.file)}`,
    ],
  },
};

function approvals(d: Details, what: string): string | null {
  const have = num(d.approvals);
  const need = num(d.required);
  if (have === null || need === null) return null;
  return `${have} of ${need} ${what}${need === 1 ? "" : "s"}`;
}

function user(d: Details): string | null {
  const name = str(d.user);
  if (!name) return null;
  return str(d.role) ? `${name} (${str(d.role)})` : name;
}

/**
 * An audit entry's details as lines of plain text, for every operation (and
 * `key: value` lines for operations or keys this UI does not know): never JSON.
 */
export function auditDetails(e: Pick<AuditEntryDto, "operation" | "details">): string[] {
  const d = e.details;
  if (d === null || d === undefined) return [];
  if (typeof d !== "object" || Array.isArray(d)) {
    const v = valueText("details", d);
    return v === "" ? [] : [v];
  }
  const reader = READERS[e.operation];
  const how = authnText(d.authn);
  if (!reader) return [...pairs(d, ["authn"]), ...how];
  const lines = reader.read(d).filter((x): x is string => typeof x === "string" && x !== "");
  return [...lines, ...pairs(d, [...reader.keys, "authn"]), ...how];
}

/** How the engine authenticated a customer-side actor (`details.authn`). */
function authnText(a: JsonValue | undefined): string[] {
  if (a === undefined || a === null || typeof a !== "object" || Array.isArray(a)) return [];
  if (a.method === "os_user" && typeof a.uid === "number") return [`as the OS user (uid ${a.uid})`];
  return [`authenticated by ${pairs(a).join(", ")}`];
}

/** The same on one line, for a table cell or a timeline. */
export function auditDetailsText(e: Pick<AuditEntryDto, "operation" | "details">): string {
  return auditDetails(e).join(" · ");
}
