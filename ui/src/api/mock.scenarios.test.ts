// The scenario table tests/scenarios/commands.json against the mock engine,
// through the mock transport's `invoke` as the UI calls it. The real commands
// run the same table (src-tauri/tests/scenarios.rs): both passing means the
// mock answers as the engine does. The table's "about" says how it reads.

import { describe, expect, it } from "vitest";
import table from "../../../tests/scenarios/commands.json";
import type { ErrorDto } from "../bindings/ErrorDto";
import type { SettingsDto } from "../bindings/SettingsDto";
import { createMockTransport, type MockNewRequest } from "./mock";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Expect = { ok?: Json; error?: string; message?: string };
type Step = { advance_s: number } | { cmd: string; args: { [key: string]: Json }; expect: Expect; save?: Record<string, string> };
type Scenario = {
  name: string;
  settings?: Partial<SettingsDto>;
  requests: Array<MockNewRequest & { key: string; at: string; provider_approved: boolean }>;
  now: string;
  steps: Step[];
};

const scenarios = table.scenarios as Scenario[];

/** `v` with "$name" and {"$repeat": [text, n]} replaced (see the table's "about"). */
function fill(v: Json, vars: Map<string, Json>): Json {
  if (typeof v === "string") {
    const whole = v.startsWith("$") ? vars.get(v.slice(1)) : undefined;
    if (whole !== undefined) return whole;
    let out = v;
    for (const [k, val] of vars) if (typeof val === "string") out = out.split(`$${k}`).join(val);
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => fill(x, vars));
  if (v !== null && typeof v === "object") {
    const rep = v.$repeat;
    if (Object.keys(v).length === 1 && Array.isArray(rep)) return String(rep[0]).repeat(Number(rep[1]));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, vars)]));
  }
  return v;
}

/** Where `actual` fails to contain `expected`, if anywhere: objects by subset, arrays element by element. */
function mismatch(expected: Json, actual: unknown, at: string): string | null {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at} is ${JSON.stringify(actual)}, not an array`;
    if (actual.length !== expected.length) return `${at} has ${actual.length} elements, not ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(expected[i] as Json, actual[i], `${at}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return `${at} is ${JSON.stringify(actual)}, not an object`;
    for (const [k, ev] of Object.entries(expected)) {
      if (!(k in actual)) return `${at}.${k} is missing`;
      const m = mismatch(ev, (actual as Record<string, unknown>)[k], `${at}.${k}`);
      if (m) return m;
    }
    return null;
  }
  return actual === expected ? null : `${at} is ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`;
}

async function run(s: Scenario): Promise<number> {
  let now = Date.parse(table.start);
  const t = createMockTransport({ now: () => now, fresh: { tenant: table.tenant, user: table.user } });
  const b = t.backend;
  if (s.settings) {
    const current = (await t.invoke("get_settings", { tenant: table.tenant })) as SettingsDto;
    await t.invoke("update_settings", { tenant: table.tenant, settings: { ...current, ...s.settings } });
  }
  const vars = new Map<string, Json>();
  for (const r of s.requests) {
    now = Date.parse(r.at);
    const filed = b.fileRequest(table.tenant, r);
    if (r.provider_approved) b.providerApprove(table.tenant, filed.id, table.manager);
    vars.set(r.key, filed.id);
  }
  now = Date.parse(s.now);
  let steps = 0;
  for (const [i, step] of s.steps.entries()) {
    if ("advance_s" in step) {
      now += step.advance_s * 1000;
      continue;
    }
    steps += 1;
    const args = fill(step.args, vars) as Record<string, unknown>;
    const want = fill(step.expect as Json, vars) as Expect;
    const what = `${s.name}, step ${i + 1} (${step.cmd} ${JSON.stringify(args).slice(0, 200)})`;
    let got: { ok: unknown } | { error: ErrorDto };
    try {
      got = { ok: await t.invoke(step.cmd, args) };
    } catch (e) {
      got = { error: e as ErrorDto };
    }
    if ("error" in want) {
      expect(got, what).toHaveProperty("error");
      const e = (got as { error: ErrorDto }).error;
      expect(e.code, `${what}: ${e.message}`).toBe(want.error);
      if (want.message !== undefined) expect(e.message, what).toBe(want.message);
    } else {
      if ("error" in got) expect.fail(`${what}: failed with ${JSON.stringify(got.error)}`);
      const m = mismatch(want.ok ?? null, got.ok, "result");
      if (m) expect.fail(`${what}: ${m}\n  result: ${JSON.stringify(got.ok)}`);
      for (const [name, key] of Object.entries(step.save ?? {})) {
        vars.set(name, (got.ok as Record<string, Json>)[key] ?? null);
      }
    }
  }
  return steps;
}

describe("the mock engine answers the scenario table as the engine does", () => {
  it("has the table's 25+ steps", () => {
    const steps = scenarios.flatMap((s) => s.steps.filter((x) => !("advance_s" in x)));
    expect(steps.length).toBeGreaterThanOrEqual(25);
  });

  for (const s of scenarios) {
    it(s.name, async () => {
      expect(await run(s)).toBeGreaterThan(0);
    });
  }
});
