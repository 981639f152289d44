import { describe, expect, it } from "vitest";
import type { RequestDto } from "../bindings/RequestDto";
import type { RequestPage } from "../bindings/RequestPage";
import type { AuditPage } from "../bindings/AuditPage";
import type { VerifyReport } from "../bindings/VerifyReport";
import type { HomeStats } from "../bindings/HomeStats";
import { createMockTransport } from "./mock";

const NOW = Date.parse("2025-03-10T12:00:00Z");

function mk(opts = {}) {
  const t = createMockTransport({ now: () => NOW, ...opts });
  const inv = <T,>(cmd: string, args: Record<string, unknown> = {}) => t.invoke(cmd, args) as Promise<T>;
  return { t, inv };
}

const q = (over: Record<string, unknown> = {}) => ({ states: null, search: null, sort: null, cursor: null, limit: null, ...over });

describe("mock engine", () => {
  it("seeds ~25 requests in every state and ~200 chained audit entries", async () => {
    const { t, inv } = mk();
    const page = await inv<RequestPage>("list_requests", { tenant: "contoso", query: q({ limit: 200 }) });
    expect(page.total).toBe(25);
    const states = new Set(page.items.map((r) => r.state));
    expect([...states].sort()).toEqual(
      ["approved", "awaiting_provider", "canceled", "completed", "expired", "pending", "rejected", "revoked"].sort(),
    );
    expect(t.backend.audit.length).toBeGreaterThanOrEqual(150);
    expect(t.backend.audit.length).toBeLessThanOrEqual(260);
    const report = await inv<VerifyReport>("verify_audit");
    expect(report).toMatchObject({ ok: true, entries: t.backend.audit.length, first_bad_seq: null });
    expect(report.head_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is deterministic for a seed", async () => {
    const a = await mk().inv<RequestPage>("list_requests", { tenant: "contoso", query: q() });
    const b = await mk().inv<RequestPage>("list_requests", { tenant: "contoso", query: q() });
    expect(a.items.map((r) => r.id)).toEqual(b.items.map((r) => r.id));
  });

  it("pages with a keyset cursor without gaps or repeats", async () => {
    const { inv } = mk();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: RequestPage = await inv<RequestPage>("list_requests", { tenant: "contoso", query: q({ limit: 7, cursor, sort: "oldest" }) });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
  });

  it("filters by state and searches case, requester and id", async () => {
    const { inv } = mk();
    const pending = await inv<RequestPage>("list_requests", { tenant: "contoso", query: q({ states: ["pending"] }) });
    expect(pending.total).toBe(5);
    expect(pending.items.every((r) => r.state === "pending")).toBe(true);
    const one = pending.items[0] as RequestDto;
    const byCase = await inv<RequestPage>("list_requests", { tenant: "contoso", query: q({ search: one.case.toLowerCase() }) });
    expect(byCase.items.map((r) => r.id)).toEqual([one.id]);
    const byId = await inv<RequestPage>("list_requests", { tenant: "contoso", query: q({ search: one.id.slice(0, 8) }) });
    expect(byId.items.map((r) => r.id)).toContain(one.id);
  });

  it("approves with a shorter duration, refuses a second decision, and logs it", async () => {
    const { inv, t } = mk();
    const pending = await inv<RequestPage>("list_requests", { tenant: "contoso", query: q({ states: ["pending"], sort: "oldest" }) });
    const r = pending.items.find((x) => x.approvals_required === 1 && x.requested_duration_s > 900) as RequestDto;
    const before = t.backend.audit.length;
    const out = await inv<RequestDto>("approve_request", { tenant: "contoso", id: r.id, comment: "ok", durationS: 900 });
    expect(out.state).toBe("approved");
    expect(out.granted_duration_s).toBe(900);
    expect(Date.parse(out.access_ends_at ?? "") - NOW).toBe(900_000);
    expect(t.backend.audit.length).toBe(before + 1);
    expect(t.backend.audit.at(-1)).toMatchObject({ operation: "approved", request_id: r.id, actor_kind: "customer" });
    await expect(inv("reject_request", { tenant: "contoso", id: r.id, comment: null })).rejects.toMatchObject({
      code: "invalid_transition",
    });
    const revoked = await inv<RequestDto>("revoke_request", { tenant: "contoso", id: r.id, comment: null });
    expect(revoked.state).toBe("revoked");
  });

  it("expires pending requests once their time is up", async () => {
    let now = NOW;
    const t = createMockTransport({ now: () => now });
    const page = (await t.invoke("list_requests", { tenant: "contoso", query: q({ states: ["pending"], sort: "expires_soonest" }) })) as RequestPage;
    const first = page.items[0] as RequestDto;
    now = Date.parse(first.expires_at) + 1000;
    const r = (await t.invoke("get_request", { tenant: "contoso", id: first.id })) as RequestDto;
    expect(r.state).toBe("expired");
  });

  it("queries audit newest first with before_seq paging and filters", async () => {
    const { inv } = mk();
    const p1 = await inv<AuditPage>("query_audit", { tenant: "contoso", query: { since: null, until: null, request_id: null, actor: null, operation: null, text: null, before_seq: null, limit: 10 } });
    expect(p1.items).toHaveLength(10);
    const seqs = p1.items.map((e) => e.seq);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    const p2 = await inv<AuditPage>("query_audit", { tenant: "contoso", query: { since: null, until: null, request_id: null, actor: null, operation: null, text: null, before_seq: p1.next_before_seq, limit: 10 } });
    expect(Math.max(...p2.items.map((e) => e.seq))).toBeLessThan(Math.min(...seqs));
    const ops = await inv<AuditPage>("query_audit", { tenant: "contoso", query: { since: null, until: null, request_id: null, actor: null, operation: "request_created", text: null, before_seq: null, limit: 100 } });
    expect(ops.items).toHaveLength(25);
  });

  it("detects a broken chain", async () => {
    const { inv, t } = mk();
    t.backend.corrupt(17);
    const report = await inv<VerifyReport>("verify_audit");
    expect(report).toMatchObject({ ok: false, first_bad_seq: 17 });
  });

  it("computes home stats from the data", async () => {
    const { inv } = mk();
    const s = await inv<HomeStats>("home_stats", { tenant: "contoso" });
    expect(s.pending).toBe(5);
    expect(s.active_grants).toBe(3);
    expect(s.expiring_within_2h).toBe(2);
    expect(s.per_day).toHaveLength(30);
    expect(s.per_day.at(-1)?.day).toBe("2025-03-10");
    expect(s.decisions_last_30d).toBeGreaterThan(10);
  });

  it("validates settings like the engine", async () => {
    const { inv } = mk();
    const s = await inv<Record<string, unknown>>("get_settings", { tenant: "contoso" });
    await expect(inv("update_settings", { tenant: "contoso", settings: { ...s, approvals_required: 0 } })).rejects.toMatchObject({
      code: "invalid_input",
    });
  });
});
