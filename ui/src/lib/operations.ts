import type { AuditEntryDto } from "../bindings/AuditEntryDto";
import { humanDuration } from "./duration";

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
};

export function operationLabel(op: string): string {
  const known = KNOWN_OPERATIONS[op];
  if (known) return known;
  const words = op.replace(/[_.:-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A one-line reading of an audit entry's details (keys as the engine writes them). */
export function auditSummary(e: AuditEntryDto): string {
  const d = e.details;
  if (d === null || typeof d !== "object" || Array.isArray(d)) return "";
  const parts: string[] = [];
  if (typeof d.comment === "string") parts.push(`“${d.comment}”`);
  if (e.operation === "approved") {
    if (typeof d.approvals === "number" && typeof d.required === "number") parts.push(`${d.approvals} of ${d.required} approvals`);
    if (d.final === true && typeof d.granted_duration_s === "number") parts.push(`granted ${humanDuration(d.granted_duration_s)}`);
    else if (typeof d.duration_s === "number") parts.push(`proposed ${humanDuration(d.duration_s)}`);
  } else if (typeof d.requested_duration_s === "number") {
    parts.push(`requested ${humanDuration(d.requested_duration_s)}`);
  }
  if (typeof d.action === "string") parts.push(d.action);
  if (typeof d.reason === "string" && e.operation !== "request_created") parts.push(d.reason);
  if (Array.isArray(d.changes)) {
    for (const c of d.changes) {
      if (c && typeof c === "object" && !Array.isArray(c)) {
        // Some changes (e.g. smtp) carry only the new value.
        parts.push("old" in c ? `${String(c.key)}: ${String(c.old)} → ${String(c.new)}` : `${String(c.key)}: ${String(c.new)}`);
      }
    }
  }
  if (typeof d.connection === "string") parts.push(d.connection);
  if (typeof d.key_id === "string") parts.push(typeof d.previous_key_id === "string" ? `key ${d.previous_key_id} → ${d.key_id}` : `key ${d.key_id}`);
  if (typeof d.user === "string") parts.push(typeof d.role === "string" ? `${d.user} (${d.role})` : d.user);
  return parts.join(" · ");
}
