// Where the static first paint's time goes (issue 15): the built admin center
// (ui/dist) in WebKitGTK's MiniBrowser, a new browser process per start, with
// variants of the page that each leave one kind of work out, against a page
// holding only an <h1> (the bare Tauri window's page) measured in the same run.
//
// Each start loads index.html#/requests with a stand-in for the Tauri shell
// (window.__TAURI_INTERNALS__) that answers `boot` at once with 20 pending
// requests (10 000 in all), as the app's store would; prepaint.ts fills the
// page and calls `ui_ready` two animation frames later, as in the app, and the
// stand-in reports performance.now() then: ms from the navigation's start to
// the first paint. So it times WebKit's work on the page (parse, style, layout,
// paint, the frames) and nothing of the app's window, process or store.
//
// Usage (an X display: Xvfb):
//   DISPLAY=:N node crates/lockbox-bench/first-frame.mjs RUNS VARIANT...
//   e.g. RUNS=9 base h1 hidden none hidden+fonts fonts notable
// Variants (join with +): base (the page as built); h1 (the bare page);
// hidden (#root laid out, not painted: visibility hidden); none (#root not laid
// out: display none); fonts (the theme's font stacks replaced by the generic
// sans-serif / monospace); segoe (the stacks the app uses since, 'Segoe UI',
// sans-serif); notable (no table); nopreload (no modulepreload of
// the admin center's chunk). Prints the median and every run per variant.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = process.env.DIST ?? join(ROOT, "ui/dist");
const BROWSER = ["x86_64-linux-gnu", "aarch64-linux-gnu"]
  .map((a) => `/usr/lib/${a}/webkit2gtk-4.1/MiniBrowser`)
  .find((p) => existsSync(p));
const [runs, ...variants] = process.argv.slice(2);
const fail = (why) => {
  console.error(`first-frame: ${why}`);
  process.exit(1);
};
if (!Number(runs) || variants.length === 0) fail("usage: node first-frame.mjs RUNS VARIANT...");
if (!process.env.DISPLAY) fail("no X display ($DISPLAY): run it under Xvfb");
if (!BROWSER) fail("no MiniBrowser (Debian package libwebkit2gtk-4.1-0)");
if (!existsSync(join(DIST, "index.html"))) fail(`no ${DIST}/index.html: make ui`);

const now = Date.now();
const iso = (ms) => new Date(ms).toISOString();
const items = Array.from({ length: 20 }, (_, i) => ({
  id: `0192${String(i).padStart(4, "0")}-aaaa-7bbb-8ccc-${String(1e11 + i)}0`,
  tenant: "default",
  state: "pending",
  case: `SR-${100200 + i}`,
  workload: i % 2 ? "Exchange Online" : "SharePoint Online",
  resource: `Mailbox: user${i}@contoso.example`,
  reason: "Investigate a mailbox sync failure",
  requester: `eng.${i}@provider.example`,
  requested_duration_s: 14400,
  granted_duration_s: null,
  created_at: iso(now - (i + 1) * 60_000),
  expires_at: iso(now + 11 * 3600_000 - i * 60_000),
  approved_at: null,
  access_ends_at: null,
  closed_at: null,
  approvals_required: 1,
  provider_approvals_required: 1,
  lockbox_required: true,
  decisions: [],
}));
const BOOT = {
  session: { user: "admin", role: "admin", tenants: [{ id: "default", name: "Default", created_at: iso(now - 86400_000) }] },
  tenant: "default",
  requests: { items, next_cursor: "next", total: 10000 },
};
const CSS = {
  hidden: "#root{visibility:hidden!important}",
  none: "#root{display:none!important}",
  fonts: ".fui-FluentProvider{--fontFamilyBase:sans-serif!important;--fontFamilyMonospace:monospace!important}",
  segoe: ".fui-FluentProvider{--fontFamilyBase:'Segoe UI',sans-serif!important;--fontFamilyMonospace:Consolas,monospace!important}",
  notable: "table{display:none!important}",
};
const shell = (v) =>
  `<script>window.__TAURI_INTERNALS__={invoke:async(c)=>{if(c==="boot")return ${JSON.stringify(BOOT)};` +
  `if(c==="ui_ready")fetch("/report?v=${v}&t="+performance.now());return null}};</script>`;

function page(v) {
  const parts = v.split("+");
  for (const p of parts) if (!["base", "h1", "nopreload", ...Object.keys(CSS)].includes(p)) fail(`unknown variant part '${p}'`);
  if (parts.includes("h1"))
    return `<!doctype html><html><head>${shell(v)}</head><body><h1>Bare Tauri window</h1><script>` +
      `requestAnimationFrame(()=>requestAnimationFrame(()=>__TAURI_INTERNALS__.invoke("ui_ready")))</script></body></html>`;
  let html = readFileSync(join(DIST, "index.html"), "utf8");
  if (parts.includes("nopreload")) html = html.replace(/<link rel="modulepreload"[^>]*>/g, "");
  const styles = parts.filter((p) => CSS[p]).map((p) => `<style>${CSS[p]}</style>`).join("");
  return html.replace("<head>", `<head>${shell(v)}${styles}`);
}

let reported = null;
const server = http.createServer((req, res) => {
  const u = new URL(req.url, "http://x");
  if (u.pathname === "/report") {
    res.end("ok");
    reported?.(Number(u.searchParams.get("t")));
    return;
  }
  const m = /^\/v\/([^/]+)(\/.*)$/.exec(u.pathname);
  if (m && (m[2] === "/" || m[2] === "/index.html")) {
    res.setHeader("content-type", "text/html");
    return res.end(page(m[1]));
  }
  const file = m && join(DIST, m[2]);
  if (!file || !file.startsWith(DIST) || !existsSync(file)) {
    res.statusCode = 404;
    return res.end();
  }
  res.setHeader("content-type", { ".js": "text/javascript", ".css": "text/css" }[extname(file)] ?? "application/octet-stream");
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;

async function start(v) {
  const done = new Promise((r) => (reported = r));
  const child = spawn(BROWSER, [`http://127.0.0.1:${port}/v/${v}/#/requests`], { stdio: "ignore" });
  const ms = await Promise.race([done, new Promise((r) => setTimeout(() => r(NaN), 20_000))]);
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  await new Promise((r) => setTimeout(r, 300));
  if (Number.isNaN(ms)) fail(`variant ${v}: no first paint in 20 s`);
  return ms;
}

await start(variants[0]); // caches warm (page cache, fontconfig, shaders)
const results = Object.fromEntries(variants.map((v) => [v, []]));
for (let i = 0; i < Number(runs); i++) for (const v of variants) results[v].push(await start(v));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`machine: load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}; ${runs} starts per variant, alternating`);
for (const v of variants)
  console.log(`${v.padEnd(20)} median ${median(results[v]).toFixed(0).padStart(5)} ms   runs ${results[v].map((x) => x.toFixed(0)).join(" ")}`);
server.close();
