// Asserts that a production build (ui/dist) holds no code of the in-memory mock
// transport (src/api/mock/): `npm run build` runs it after `vite build`, so
// `make ui`, `make test` and the benchmarks fail if the mock comes back.
//
// What counts as mock code: a chunk named mock-*.js, or any of the mock's own
// string literals (12+ characters that appear in no other non-test source file:
// seed names, messages, ids), which survive minification.
// Usage: node scripts/check-dist.mjs [DIST]   (default: dist)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const UI = join(dirname(fileURLToPath(import.meta.url)), "..");
const MOCK_DIR = join(UI, "src", "api", "mock");

function files(dir, keep) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, keep) : keep(p) ? [p] : [];
  });
}

/** String literals of a TypeScript source (quotes and template literals without `${`). */
export function literals(text) {
  const out = [];
  // Comments out first (an apostrophe in one is no quote); "://" in a string stays.
  text = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const re = /"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\$]|\\.)*)`/g;
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** The mock's own literals: 12+ characters, with no quote, backslash or line break, in no other source. */
export function mockMarkers(src = join(UI, "src")) {
  const isSource = (p) => /\.(ts|tsx)$/.test(p) && !/\.test\.tsx?$/.test(p) && !p.includes(`${join("src", "test")}`);
  const mock = files(MOCK_DIR, isSource);
  const others = files(src, isSource).filter((p) => !p.startsWith(MOCK_DIR));
  const elsewhere = others.map((p) => readFileSync(p, "utf8")).join("\n");
  const found = new Set();
  for (const p of mock) {
    for (const s of literals(readFileSync(p, "utf8"))) {
      if (s.length >= 12 && !/["'`\\\n]/.test(s) && !s.startsWith(".") && !elsewhere.includes(s)) found.add(s);
    }
  }
  return [...found];
}

/** Problems found in DIST: mock chunks by name, mock literals by content. */
export function checkDist(dist, markers = mockMarkers()) {
  const problems = [];
  for (const p of files(dist, (f) => /\.(js|mjs|html)$/.test(f))) {
    const name = relative(dist, p);
    if (/(^|\/)mock[-.]/.test(name)) problems.push(`${name}: a mock chunk`);
    const text = readFileSync(p, "utf8");
    const hits = markers.filter((m) => text.includes(m));
    if (hits.length) problems.push(`${name}: mock code (${hits.length} of its strings, e.g. ${JSON.stringify(hits[0])})`);
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dist = process.argv[2] ?? join(UI, "dist");
  const markers = mockMarkers();
  if (markers.length < 20) {
    console.error(`check-dist: only ${markers.length} mock strings found to look for: the check would prove nothing`);
    process.exit(1);
  }
  const problems = checkDist(dist, markers);
  if (problems.length) {
    console.error(`check-dist: the production build contains the mock transport (src/api/mock/):\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`check-dist: ${dist} holds no mock code (${markers.length} mock strings looked for)`);
}
