import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "../bindings/serde_json/JsonValue";
import { auditDetails, auditDetailsText, KNOWN_OPERATIONS, operationLabel } from "./operations";

// Details as the engine writes them for each operation (lockbox-core
// machine.rs, engine/, tokens.rs, mail.rs), with the variants that matter.
const AT = "2025-03-10T12:00:00Z";
const LATER = "2025-03-10T16:00:00Z";
const ID = "0190a6f2-7c3e-7a11-9f00-8d2b5c4e1a77";

const CASES: Array<{ operation: string; name: string; details: JsonValue; reads: string[] }> = [
  {
    operation: "request_created",
    name: "a new request",
    details: {
      case: "CASE-7100231",
      workload: "Exchange Online",
      resource: "megan.bowen@contoso.com mailbox",
      reason: "Mailbox items disappear after a retention change.",
      requested_duration_s: 14400,
      expires_at: LATER,
    },
    reads: ["Case CASE-7100231", "requested 4 hours", "expires Mar 10, 2025", "Reason: Mailbox items disappear"],
  },
  {
    operation: "provider_approved",
    name: "without comment",
    details: { comment: null, approvals: 1, required: 1 },
    reads: ["1 of 1 provider approval"],
  },
  {
    operation: "approved",
    name: "the final approval",
    details: {
      comment: "Looks fine",
      duration_s: 3600,
      approvals: 1,
      required: 1,
      final: true,
      granted_duration_s: 3600,
      access_ends_at: LATER,
    },
    reads: ["“Looks fine”", "1 of 1 approval", "granted 1 hour", "access ends Mar 10, 2025"],
  },
  {
    operation: "approved",
    name: "one of two approvals",
    details: {
      comment: null,
      duration_s: null,
      approvals: 1,
      required: 2,
      final: false,
      granted_duration_s: null,
      access_ends_at: null,
    },
    reads: ["1 of 2 approvals", "more approvals needed"],
  },
  {
    operation: "auto_approved",
    name: "Lockbox off",
    details: { policy: "customer lockbox is off for this tenant", granted_duration_s: 7200, access_ends_at: LATER },
    reads: ["Customer lockbox is off for this tenant", "granted 2 hours", "access ends"],
  },
  {
    operation: "rejected",
    name: "with comment",
    details: { comment: "Not during quarter close." },
    reads: ["“Not during quarter close.”"],
  },
  { operation: "rejected", name: "without comment", details: { comment: null }, reads: ["No comment"] },
  { operation: "canceled", name: "by the requester", details: { comment: "Fixed without access." }, reads: ["“Fixed without access.”"] },
  {
    operation: "revoked",
    name: "early",
    details: { comment: null, access_was_to_end_at: LATER },
    reads: ["access was to end Mar 10, 2025"],
  },
  {
    operation: "expired",
    name: "while pending",
    details: { deadline: AT, unanswered_in: "pending" },
    reads: ["Expired unanswered at Mar 10, 2025, 12:00", "waiting for customer approval"],
  },
  {
    operation: "expired",
    name: "before the provider approved",
    details: { deadline: AT, unanswered_in: "awaiting_provider" },
    reads: ["Expired unanswered at", "waiting for the provider's approval"],
  },
  { operation: "completed", name: "at the end of access", details: { deadline: LATER }, reads: ["Access window ended Mar 10, 2025"] },
  { operation: "access_used", name: "an action", details: { action: "read item properties" }, reads: ["read item properties"] },
  {
    operation: "access_denied",
    name: "another engineer",
    details: { action: "open item", reason: "the grant is for dana.kim@provider.example, not eve@provider.example" },
    reads: ["open item", "denied: the grant is for dana.kim@provider.example"],
  },
  {
    operation: "settings_changed",
    name: "policy (engine strings)",
    details: {
      changes: [
        { key: "request-lifetime", old: "1d", new: "12h" },
        { key: "lockbox", old: "on", new: "off" },
      ],
    },
    reads: ["request-lifetime: 1d → 12h", "lockbox: on → off"],
  },
  {
    operation: "settings_changed",
    name: "smtp (only the new value)",
    details: { changes: [{ key: "smtp", new: "smtp.contoso.com:587 (starttls) from lockbox@contoso.com, with login" }] },
    reads: ["smtp: smtp.contoso.com:587 (starttls) from lockbox@contoso.com, with login"],
  },
  {
    operation: "settings_changed",
    name: "raw values (the mock engine)",
    details: { changes: [{ key: "request-lifetime", old: 86400, new: 43200 }, { key: "lockbox-enabled", old: true, new: false }] },
    reads: ["request-lifetime: 1 day → 12 hours", "lockbox-enabled: on → off"],
  },
  {
    operation: "user_added",
    name: "an approver",
    details: { user: "Megan Bowen", role: "approver", email: "megan.bowen@contoso.com" },
    reads: ["Megan Bowen (approver)", "megan.bowen@contoso.com"],
  },
  {
    operation: "user_added",
    name: "a tenant's first admin",
    details: { user: "Alex Wilber", role: "admin", email: null, first_admin: true },
    reads: ["Alex Wilber (admin)", "first admin of the organization"],
  },
  { operation: "user_removed", name: "an approver", details: { user: "Nestor Wilke", role: "approver" }, reads: ["Nestor Wilke (approver)"] },
  {
    operation: "tenant_added",
    name: "with its settings",
    details: {
      tenant: "fabrikam",
      name: "Fabrikam, Inc.",
      settings: {
        "approvals-required": "1",
        lockbox: "on",
        "max-access-duration": "4h",
        "provider-approvals-required": "1",
        "reminder-lead": "off",
        "request-lifetime": "12h",
      },
    },
    reads: ["Fabrikam, Inc. (fabrikam)", "lockbox: on", "request-lifetime: 12h", "reminder-lead: off"],
  },
  {
    operation: "token_issued",
    name: "with an expiry",
    details: { connection: "Provider support (production)", token_id: ID, expires_at: LATER },
    reads: ["Provider support (production)", "expires Mar 10, 2025", `token ID ${ID}`],
  },
  {
    operation: "token_issued",
    name: "without an expiry",
    details: { connection: "Ticketing", token_id: ID, expires_at: null },
    reads: ["Ticketing", "never expires"],
  },
  { operation: "token_revoked", name: "a connection", details: { connection: "Ticketing", token_id: ID }, reads: ["Ticketing", `token ID ${ID}`] },
  {
    operation: "receipt_key_created",
    name: "a new key",
    details: { key_id: "k1a2b3", public_key: "MCowBQ", existing: false, file: "/home/a/.local/share/lockbox/lockbox-receipts.key" },
    reads: ["key k1a2b3", "file /home/a/.local/share/lockbox/lockbox-receipts.key"],
  },
  {
    operation: "audit_rechained",
    name: "the link to the old global chain",
    details: {
      previous_chain: { entries: 120, format: "lockbox-audit-v1", head_hash: "ab12" },
      tenant_entries: 40,
    },
    reads: ["40 entries of this tenant", "old chain: 120 entries", "old head ab12"],
  },
  {
    operation: "receipt_key_rotated",
    name: "a replaced key, by an OS user",
    details: {
      key_id: "k2",
      public_key: "MCowBQ",
      previous_key_id: "k1",
      file: "/tmp/lockbox-receipts.key",
      authn: { method: "os_user", uid: 1000 },
    },
    reads: ["key k1 → k2", "as the OS user (uid 1000)"],
  },
  {
    operation: "settings_changed",
    name: "by an OS user",
    details: { changes: [{ key: "lockbox", old: "on", new: "off" }], authn: { method: "os_user", uid: 0 } },
    reads: ["as the OS user (uid 0)"],
  },
];

/** The operations of `Operation` in crates/lockbox-core/src/model.rs. */
function engineOperations(): string[] {
  const src = readFileSync(resolve(import.meta.dirname, "../../../crates/lockbox-core/src/model.rs"), "utf8");
  const block = /enum Operation\s*\{([^}]*)\}/.exec(src.slice(src.indexOf("/// Every kind of audited action.")))?.[1] ?? "";
  // strum spells each variant in snake_case (`#[strum(serialize_all = "snake_case")]`).
  const snake = (v: string) => v.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? "" : "_") + c.toLowerCase());
  return [...block.matchAll(/^\s*([A-Z][A-Za-z]*),/gm)].map((m) => snake(m[1] as string));
}

describe("audit details as text", () => {
  it("covers every operation the engine writes, and the UI knows them all", () => {
    const ops = engineOperations();
    expect(ops.length).toBeGreaterThanOrEqual(17);
    expect(Object.keys(KNOWN_OPERATIONS).sort()).toEqual([...ops].sort());
    expect([...new Set(CASES.map((c) => c.operation))].sort()).toEqual([...ops].sort());
  });

  it.each(CASES)("$operation ($name) reads as text, never JSON", ({ operation, details, reads }) => {
    const lines = auditDetails({ operation, details });
    const text = auditDetailsText({ operation, details });
    expect(lines.length).toBeGreaterThan(0);
    expect(text).toBe(lines.join(" · "));
    for (const out of [text, ...lines]) {
      expect(out).not.toContain("{");
      expect(out).not.toContain("}");
      expect(out).not.toContain('"');
      expect(out).not.toContain("[object");
      expect(out).not.toMatch(/\b(null|undefined)\b/);
    }
    for (const r of reads) expect(text).toContain(r);
    expect(operationLabel(operation)).not.toBe("");
  });

  it("reads unknown operations, unknown keys and nested values as key: value", () => {
    const details = {
      ticket: "INC-1",
      retries: 3,
      urgent: true,
      window_s: 5400,
      until: AT,
      targets: ["a", "b"],
      nested: { level: "tenant", note: null },
      skipped: null,
    };
    const text = auditDetailsText({ operation: "quarantine_started", details });
    expect(text).toBe(
      "ticket: INC-1 · retries: 3 · urgent: yes · window: 1 hour 30 minutes · until: Mar 10, 2025, 12:00 PM · targets: a, b · nested: level: tenant",
    );
    // A known operation with a key the UI doesn't know keeps it too.
    expect(auditDetailsText({ operation: "access_used", details: { action: "open item", via: "api" } })).toBe(
      "open item · via: api",
    );
    expect(auditDetailsText({ operation: "expired", details: null })).toBe("");
    expect(auditDetailsText({ operation: "user_added", details: { tampered: true } })).toBe("tampered: yes");
  });
});
