import { describe, expect, it } from "vitest";
import type { RequestPage } from "../bindings/RequestPage";
import type { VerifyReport } from "../bindings/VerifyReport";
import type { HomeStats } from "../bindings/HomeStats";
import type { ApiSettingsDto } from "../bindings/ApiSettingsDto";
import type { DeliveryDto } from "../bindings/DeliveryDto";
import type { IssuedTokenDto } from "../bindings/IssuedTokenDto";
import type { SmtpDto } from "../bindings/SmtpDto";
import type { TokenDto } from "../bindings/TokenDto";
import { createMockTransport } from "./mock";

// The demo data and what only the mock has (its seed, "Verify integrity" on a
// broken chain, SMTP and the provider API, which the scenario table leaves
// out). The engine's rules and messages are checked by the scenario table,
// against the mock and the real commands alike (mock.scenarios.test.ts).

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
    expect(report.chains[0]?.head_hash).toMatch(/^[0-9a-f]{64}$/);
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

});

describe("mock engine › provider connections, email, API", () => {
  it("seeds one active connection, no SMTP and deliveries with a scheduled retry", async () => {
    const { inv } = mk();
    const tokens = await inv<TokenDto[]>("list_tokens", { tenant: "contoso" });
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({ name: "Provider support (production)", active: true, revoked_at: null });
    await expect(inv("get_smtp", { tenant: "contoso" })).resolves.toBeNull();
    const deliveries = await inv<DeliveryDto[]>("email_status", { tenant: "contoso" });
    expect(deliveries.map((d) => d.outcome)).toEqual(["failed", "sent", "failed"]);
    expect(Date.parse(deliveries[0]?.next_attempt_at ?? "")).toBeGreaterThan(NOW);
    expect(deliveries[2]?.next_attempt_at).toBeNull();
    await expect(inv("list_tokens", { tenant: "nope" })).rejects.toMatchObject({ code: "not_found" });
  });

  it("shows a token's secret once and never stores it; only admins issue", async () => {
    const { inv, t } = mk();
    const out = await inv<IssuedTokenDto>("issue_token", { tenant: "contoso", name: "Ticketing", expiresS: 3600 });
    expect(out.secret).toMatch(/^lbx_[0-9a-f]{64}$/);
    expect(t.backend.audit.at(-1)).toMatchObject({ operation: "token_issued", details: { connection: "Ticketing" } });
    expect(JSON.stringify(t.backend.tokens.get("contoso"))).not.toContain(out.secret);
    const approver = mk({ role: "approver" });
    await expect(approver.inv("issue_token", { tenant: "contoso", name: "y", expiresS: null })).rejects.toMatchObject({ code: "not_permitted" });
  });

  it("reports an expired token as inactive", async () => {
    let now = NOW;
    const t = createMockTransport({ now: () => now });
    await t.invoke("issue_token", { tenant: "contoso", name: "Short", expiresS: 60 });
    now += 61_000;
    const tokens = (await t.invoke("list_tokens", { tenant: "contoso" })) as TokenDto[];
    expect(tokens.find((x) => x.name === "Short")).toMatchObject({ active: false, revoked_at: null });
  });

  it("validates SMTP settings, keeps the password on null and turns email off", async () => {
    const { inv, t } = mk();
    const good = { host: "smtp.contoso.com", port: 587, security: "starttls", username: "u", password: "p", from_address: "lockbox@contoso.com" };
    for (const bad of [{ host: " " }, { port: 0 }, { port: 70000 }, { security: "ssl" }, { from_address: "nope" }]) {
      await expect(inv("set_smtp", { tenant: "contoso", smtp: { ...good, ...bad } })).rejects.toMatchObject({ code: "invalid_input" });
    }
    await expect(inv<SmtpDto>("set_smtp", { tenant: "contoso", smtp: good })).resolves.toMatchObject({ password_set: true, username: "u" });
    const kept = await inv<SmtpDto>("set_smtp", { tenant: "contoso", smtp: { ...good, host: "mail.contoso.com", password: null } });
    expect(kept).toMatchObject({ host: "mail.contoso.com", password_set: true });
    expect(t.backend.smtp.get("contoso")?.password).toBe("p");
    expect(kept).not.toHaveProperty("password");
    await expect(inv("test_smtp", { tenant: "contoso", to: "a@contoso.com" })).resolves.toBeNull();
    await expect(inv("test_smtp", { tenant: "contoso", to: "nope" })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(inv("set_smtp", { tenant: "contoso", smtp: null })).resolves.toBeNull();
    await expect(inv("test_smtp", { tenant: "contoso", to: "a@contoso.com" })).rejects.toMatchObject({
      code: "invalid_input",
      message: "no SMTP server is set for this tenant",
    });
  });

  it("validates API settings like the engine: loopback or TLS, certificate and key together", async () => {
    const { inv } = mk();
    const base = await inv<ApiSettingsDto>("get_api_settings");
    expect(base).toMatchObject({ enabled: true, bind: "127.0.0.1:8787", listening_on: "127.0.0.1:8787", error: null });
    await expect(inv("set_api_settings", { tenant: "contoso", settings: { ...base, bind: "0.0.0.0:8787" } })).rejects.toMatchObject({
      code: "invalid_input",
      message: "0.0.0.0:8787 is not a loopback address: serving it requires TLS (certificate and key)",
    });
    await expect(inv("set_api_settings", { tenant: "contoso", settings: { ...base, tls_cert: "/c.pem" } })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(inv("set_api_settings", { tenant: "contoso", settings: { ...base, bind: "localhost:8787" } })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(inv<ApiSettingsDto>("set_api_settings", { tenant: "contoso", settings: { ...base, bind: "[::1]:9000", tls_cert: "", tls_key: "" } })).resolves.toMatchObject({
      bind: "[::1]:9000",
      tls_cert: null,
      listening_on: "[::1]:9000",
    });
    const remote = await inv<ApiSettingsDto>("set_api_settings", {
      tenant: "contoso",
      settings: { ...base, enabled: false, bind: "10.0.0.5:8443", tls_cert: "/c.pem", tls_key: "/k.pem" },
    });
    expect(remote).toMatchObject({ enabled: false, listening_on: null, error: null });
  });
});
