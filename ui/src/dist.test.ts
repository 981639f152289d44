// The production bundle carries no mock transport (scripts/check-dist.mjs, run
// by `npm run build`). Here: the check finds mock code when it is there, and the
// built ui/dist (when one exists) passes it.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { checkDist, mockMarkers } from "../scripts/check-dist.mjs";

const check = checkDist as (dist: string, markers?: string[]) => string[];
const markers = (mockMarkers as () => string[])();
const dirs: string[] = [];
function dist(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), "lockbox-dist-"));
  dirs.push(d);
  mkdirSync(join(d, "assets"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("check-dist: no mock transport in the production bundle", () => {
  it("knows enough of the mock's own strings to recognise it", () => {
    expect(markers.length).toBeGreaterThanOrEqual(20);
  });

  it("passes a bundle without mock code", () => {
    expect(check(dist({ "index.html": "<html></html>", "assets/index-a1.js": 'call("session")' }), markers)).toEqual([]);
  });

  it("fails on a mock chunk, and on mock code bundled into another chunk", () => {
    const mockSource = readdirSync(join(__dirname, "api", "mock"))
      .map((f) => readFileSync(join(__dirname, "api", "mock", f), "utf8"))
      .join("\n");
    const d = dist({ "assets/mock-x1.js": "export{}", "assets/index-b2.js": mockSource });
    const problems = check(d, markers);
    expect(problems.some((p) => p.includes("mock-x1.js: a mock chunk"))).toBe(true);
    expect(problems.some((p) => p.includes("index-b2.js: mock code"))).toBe(true);
  });

  it.runIf(existsSync(join(__dirname, "..", "dist", "index.html")))("passes the built ui/dist", () => {
    expect(check(join(__dirname, "..", "dist"), markers)).toEqual([]);
  });
});
