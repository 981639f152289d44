// Helpers for the Lockbox WebDriver end-to-end tests (run by tests/e2e/run.sh).
//
// Elements are found the way a user finds them: by ARIA role and accessible
// name (computed in the page by `LOCATE` below), or by visible text. Every wait
// is explicit (a DOM condition) and bounded; nothing sleeps for a fixed time
// except two requestAnimationFrame ticks (before a screenshot, and to see that
// an element has stopped moving before clicking it).
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Builder, Key } from "selenium-webdriver";

export { Key };

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through tests/e2e/run.sh`);
  return v;
}

// Read when used (each scenario's set-up sets what its tests use: run.sh the
// single app's, connected.sh the team server's and its two apps').
export const env = {
  get app() { return need("LOCKBOX_E2E_APP"); },
  get cli() { return need("LOCKBOX_E2E_CLI"); },
  get driverUrl() { return need("LOCKBOX_E2E_DRIVER_URL"); },
  get shots() { return need("LOCKBOX_E2E_SHOTS"); },
  get savePath() { return need("LOCKBOX_E2E_SAVE_PATH"); },
  /** What the app's "Open audit archive…" dialog answers (LOCKBOX_E2E_OPEN_PATH). */
  get openPath() { return need("LOCKBOX_E2E_OPEN_PATH"); },
  /** The live store (LOCKBOX_DB). */
  get db() { return need("LOCKBOX_DB"); },
  get work() { return need("LOCKBOX_E2E_WORK"); },
  /** The OS user running the app: the store's first admin, who decides in the window. */
  get me() { return need("LOCKBOX_E2E_ME"); },
};

/** Default bound for a UI wait. Generous: the build machines have 2 busy cores. */
export const WAIT_MS = 20_000;

// ---------------------------------------------------------------- the CLI

/** Runs `lockbox --json ARGS` on the test store; returns parsed JSON (or text). */
export function cli(args, { json = true } = {}) {
  const argv = json ? ["--json", ...args] : args;
  const r = spawnSync(env.cli, argv, { encoding: "utf8", timeout: 30_000, env: process.env });
  if (r.error) throw new Error(`lockbox ${argv.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`lockbox ${argv.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  }
  if (!json) return r.stdout;
  const out = r.stdout.trim();
  if (out === "") return null;
  try {
    return JSON.parse(out);
  } catch {
    return out;
  }
}

/** Files a request as a provider engineer and (optionally) provider-approves it. */
export function fileRequest({ case: caseId, workload = "Exchange Online", resource, reason, duration = "1h", providerApprove = true }) {
  const r = cli([
    "request", "new",
    "--engineer", "eng.e2e@provider.example",
    "--case", caseId,
    "--workload", workload,
    "--resource", resource ?? `Mailbox: ${caseId.toLowerCase()}@contoso.example`,
    "--reason", reason ?? `End-to-end test ${caseId}`,
    "--duration", duration,
  ]);
  if (!providerApprove) return r;
  return cli(["request", "provider-approve", r.id, "--as", "mgr.e2e@provider.example", "--comment", "e2e provider approval"]);
}

export function requestByCase(caseId) {
  const all = cli(["request", "list"]);
  const r = all.find((x) => x.case === caseId);
  if (!r) throw new Error(`no request with case ${caseId} in the store (have: ${all.map((x) => x.case).join(", ")})`);
  return r;
}

// As the admin center shows ids: the random tail (ui/src/lib/time.ts shortId).
export const shortId = (id) => id.replace(/-/g, "").slice(-8);

// ---------------------------------------------------------------- the session

/**
 * Starts the app under WebDriver with `args` (e.g. `["--archive", FILE]`),
 * through the tauri-driver at `driverUrl` (default LOCKBOX_E2E_DRIVER_URL).
 */
export async function startSession(args = [], { driverUrl = env.driverUrl } = {}) {
  const caps = {
    browserName: "wry",
    "tauri:options": { application: env.app, args },
  };
  const driver = await new Builder().usingServer(driverUrl).withCapabilities(caps).build();
  await driver.manage().setTimeouts({ implicit: 0, script: 30_000, pageLoad: 60_000 });
  return driver;
}

// ---------------------------------------------------------------- audit archives

/**
 * Copies the live store to FILE the way an admin hands a backup to an
 * auditor: the store file alone (no receipt key beside it), a consistent copy
 * made with the sqlite3 CLI's online backup while the app runs.
 */
export function archiveCopy(file) {
  mkdirSync(dirname(file), { recursive: true });
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  const r = spawnSync("sqlite3", [env.db, `.backup '${file.replace(/'/g, "''")}'`], { encoding: "utf8", timeout: 30_000 });
  if (r.error) throw new Error(`sqlite3 .backup: ${r.error.message} (install sqlite3: make deps)`);
  if (r.status !== 0) throw new Error(`sqlite3 .backup exited ${r.status}: ${r.stderr.trim()}`);
  return file;
}

/** Process ids of `lockbox-app --archive FILE` processes. */
export function archiveProcesses(file) {
  const pids = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone meanwhile
    }
    const i = argv.indexOf("--archive");
    if (i > 0 && argv[i + 1] === file) pids.push(Number(d));
  }
  return pids;
}

// ---------------------------------------------------------------- locating

// Runs in the page: finds visible elements by role + accessible name (a
// practical subset of the ARIA rules: explicit role, else the tag's implicit
// role; name from aria-labelledby, aria-label, <label>, title, else text).
const LOCATE = `
const [role, nameSrc, nameFlags, withinEl, textSrc, textFlags, all, includeAriaHidden] = arguments;
const root = withinEl || document;
const implicit = (el) => {
  const t = el.tagName.toLowerCase();
  const type = (el.getAttribute("type") || "text").toLowerCase();
  if (t === "button") return "button";
  if (t === "a" && el.hasAttribute("href")) return "link";
  if (t === "input") {
    if (["button", "submit", "reset"].includes(type)) return "button";
    if (type === "checkbox") return "checkbox";
    if (type === "radio") return "radio";
    if (type === "search") return "searchbox";
    if (type === "number") return "spinbutton";
    return "textbox";
  }
  if (t === "textarea") return "textbox";
  if (t === "select") return "combobox";
  if (t === "option") return "option";
  if (/^h[1-6]$/.test(t)) return "heading";
  if (t === "table") return "table";
  if (t === "tr") return "row";
  if (t === "td") return "cell";
  if (t === "th") return "columnheader";
  if (t === "nav") return "navigation";
  // A section is a region when it is named (HTML-AAM), as screen readers see it.
  if (t === "section") return el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby") ? "region" : null;
  if (t === "main") return "main";
  if (t === "dialog") return "dialog";
  if (t === "ol" || t === "ul") return "list";
  if (t === "li") return "listitem";
  return null;
};
const roleOf = (el) => (el.getAttribute("role") || implicit(el) || "").split(/\\s+/)[0];
const text = (el) => (el.innerText ?? el.textContent ?? "").replace(/\\s+/g, " ").trim();
const nameOf = (el) => {
  const lb = el.getAttribute("aria-labelledby");
  if (lb) {
    const n = lb.split(/\\s+/).map((id) => document.getElementById(id)).filter(Boolean).map(text).join(" ").trim();
    if (n) return n;
  }
  const al = el.getAttribute("aria-label");
  if (al && al.trim()) return al.trim();
  if (el.labels && el.labels.length) return Array.from(el.labels).map(text).join(" ").trim();
  const r = roleOf(el);
  if (["textbox", "searchbox", "combobox", "spinbutton", "table", "dialog", "navigation", "list", "main"].includes(r)) {
    return (el.getAttribute("title") || el.getAttribute("placeholder") || "").trim();
  }
  return text(el) || (el.getAttribute("title") || "").trim();
};
const visible = (el) => {
  if (!el.isConnected || el.getClientRects().length === 0) return false;
  const cs = getComputedStyle(el);
  if (cs.visibility === "hidden") return false;
  for (let p = el; p; p = p.parentElement) {
    if (p.hasAttribute("inert")) return false;
    if (!includeAriaHidden && p.getAttribute("aria-hidden") === "true") return false;
  }
  return true;
};
const nameRe = nameSrc === null ? null : new RegExp(nameSrc, nameFlags);
const textRe = textSrc === null ? null : new RegExp(textSrc, textFlags);
const out = [];
for (const el of root.querySelectorAll("*")) {
  if (role && roleOf(el) !== role) continue;
  if (!visible(el)) continue;
  if (nameRe) {
    if (!nameRe.test(nameOf(el).replace(/\\s+/g, " "))) continue;
  }
  if (textRe && !textRe.test(text(el))) continue;
  out.push(el);
  if (!all) break;
}
return all ? out : (out[0] || null);
`;

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function pattern(p, exact) {
  if (p === undefined || p === null) return [null, ""];
  if (p instanceof RegExp) return [p.source, p.flags];
  return [exact ? `^${escapeRe(p)}$` : escapeRe(p), exact ? "" : "i"];
}

function describeQuery(role, name, text) {
  const parts = [];
  if (role) parts.push(`role=${role}`);
  if (name !== undefined && name !== null) parts.push(`name=${name instanceof RegExp ? name : JSON.stringify(name)}`);
  if (text !== undefined && text !== null) parts.push(`text=${text instanceof RegExp ? text : JSON.stringify(text)}`);
  return parts.join(" ");
}

/**
 * Queries once (no wait). `name` is an exact string or a RegExp; `text` matches
 * the element's visible text (substring, case-insensitive, or a RegExp).
 * Elements hidden from assistive technology (aria-hidden) are skipped unless
 * `ariaHidden` is true (for what a sighted user sees, e.g. a toast shown while
 * a modal panel is open).
 */
export async function query(driver, { role = null, name, text, within = null, all = false, ariaHidden = false }) {
  const [ns, nf] = pattern(name, true);
  const [ts, tf] = pattern(text, false);
  return driver.executeScript(LOCATE, role, ns, nf, within, ts, tf, all, ariaHidden);
}

/** Waits (bounded) for an element by role/name/text; throws a readable error. */
export async function find(driver, spec, timeout = WAIT_MS) {
  const what = describeQuery(spec.role, spec.name, spec.text);
  try {
    return await driver.wait(async () => {
      try {
        return (await query(driver, spec)) || false;
      } catch (e) {
        if (e?.name === "StaleElementReferenceError") return false; // the container re-rendered
        throw e;
      }
    }, timeout);
  } catch (e) {
    if (e?.name !== "TimeoutError") throw e;
    throw new Error(`timed out after ${timeout} ms waiting for ${what}${spec.within ? " (within a container)" : ""}`, { cause: e });
  }
}

export async function findAll(driver, spec) {
  return (await query(driver, { ...spec, all: true })) || [];
}

/** Waits until no visible element matches. */
export async function waitGone(driver, spec, timeout = WAIT_MS) {
  const what = describeQuery(spec.role, spec.name, spec.text);
  try {
    await driver.wait(async () => {
      try {
        return !(await query(driver, spec));
      } catch (e) {
        if (e?.name === "StaleElementReferenceError") return true; // its container is gone too
        throw e;
      }
    }, timeout);
  } catch (e) {
    if (e?.name !== "TimeoutError") throw e;
    throw new Error(`timed out after ${timeout} ms waiting for ${what} to go away`, { cause: e });
  }
}

/**
 * Polls `fn` until it returns a truthy value (bounded) and returns that value;
 * `what` (a string, or a function called on failure) names it in the error.
 */
export async function waitUntil(driver, what, fn, timeout = WAIT_MS) {
  let last;
  try {
    return await driver.wait(async () => {
      try {
        return (await fn()) || false;
      } catch (e) {
        if (e?.name === "StaleElementReferenceError") return false;
        last = e;
        return false;
      }
    }, timeout);
  } catch (e) {
    const label = typeof what === "function" ? what() : what;
    throw new Error(`timed out after ${timeout} ms waiting until ${label}${last ? ` (last error: ${last.message})` : ""}`, { cause: e });
  }
}

export const textOf = (driver, el) =>
  driver.executeScript("return (arguments[0].innerText ?? arguments[0].textContent ?? '').replace(/\\s+/g, ' ').trim();", el);

// Runs in the page: scrolls the element into view, then reports whether it is
// enabled and has stayed put for two animation frames (not sliding in, not
// being positioned, as drawers and menu popovers are right after they open).
const SETTLED = `
const el = arguments[0], done = arguments[arguments.length - 1];
if (!el.isConnected) return done("detached");
el.scrollIntoView({ block: "center", inline: "nearest" });
const box = () => { const r = el.getBoundingClientRect(); return [r.x, r.y, r.width, r.height].map(Math.round).join(","); };
const before = box();
requestAnimationFrame(() => requestAnimationFrame(() => {
  if (!el.isConnected) return done("detached");
  if (el.disabled || el.getAttribute("aria-disabled") === "true") return done("disabled");
  done(box() === before ? "ok" : "moving");
}));
`;

/**
 * Clicks like a user: waits (bounded) until the element is enabled and has
 * stopped moving, then clicks it; retries while an overlay intercepts the click.
 */
export async function click(driver, el, timeout = WAIT_MS) {
  let last = "";
  try {
    await driver.wait(async () => {
      try {
        const state = await driver.executeAsyncScript(SETTLED, el);
        if (state === "detached") throw new Error("the element left the page before it could be clicked");
        if (state !== "ok") {
          last = `the element is ${state}`;
          return false;
        }
        await el.click();
        return true;
      } catch (e) {
        if (["ElementClickInterceptedError", "ElementNotInteractableError"].includes(e?.name)) {
          last = e.message;
          return false;
        }
        throw e;
      }
    }, timeout);
  } catch (e) {
    throw new Error(`could not click the element: ${last || e.message}`, { cause: e });
  }
}

/** Finds then clicks. */
export async function clickOn(driver, spec, timeout = WAIT_MS) {
  const el = await find(driver, spec, timeout);
  await click(driver, el, timeout);
  return el;
}

/** Types into a text field as a user would (focus, select all, type). */
export async function typeInto(driver, el, value) {
  await click(driver, el);
  await el.sendKeys(Key.chord(Key.CONTROL, "a"), Key.BACK_SPACE);
  await el.sendKeys(value);
  await waitUntil(driver, `the field shows ${JSON.stringify(value)}`, async () => (await el.getAttribute("value")) === value, 5_000);
}

/** Navigates with the left navigation, then waits for the page heading. */
export async function openPage(driver, navName, heading = navName) {
  const nav = await find(driver, { role: "navigation", name: "Navigation" });
  await clickOn(driver, { role: "link", name: navName, within: nav });
  await find(driver, { role: "heading", name: heading, within: await find(driver, { role: "main" }) });
}

/**
 * The data rows of the table named NAME (no header row), read afresh (tables
 * re-mount while they load): [{ el, cells: {header: text}, text }].
 */
export async function tableRows(driver, name) {
  const table = await query(driver, { role: "table", name });
  if (!table) return [];
  return driver.executeScript(
    `const t = arguments[0];
     const text = (el) => (el.innerText ?? el.textContent ?? "").replace(/\\s+/g, " ").trim();
     const headers = Array.from(t.querySelectorAll("thead th, thead [role=columnheader]")).map(text);
     return Array.from(t.querySelectorAll("tbody tr")).map((tr) => {
       const cells = {};
       Array.from(tr.querySelectorAll(":scope > td, :scope > [role=cell], :scope > [role=gridcell]")).forEach((td, i) => { cells[headers[i] ?? i] = text(td); });
       return { el: tr, cells, text: text(tr) };
     });`,
    table,
  );
}

/** Closes a request's details panel and waits until it has left the page (its exit animation included). */
export async function closeDrawer(driver, drawer) {
  await clickOn(driver, { role: "button", name: "Close", within: drawer });
  // Not by name: the panel's name changes to "Request details" while it slides out.
  await waitGone(driver, { role: "dialog" });
}

// ---------------------------------------------------------------- screenshots

// Without a GPU the app has WebKit paint without compositing (lockbox_webkit),
// and WebKitWebDriver then answers a screenshot only after the page's next
// paint: on a page with nothing changing that can take a minute or more. So
// while a screenshot is taken, the page repaints one transparent pixel every
// 50 ms (text of the same transparent colour changing): the image shows
// nothing of it, and the element leaves the page right after.
const REPAINT_START = `
const dot = document.createElement("div");
dot.id = "lockbox-e2e-repaint";
dot.setAttribute("aria-hidden", "true");
dot.style.cssText = "position:fixed;left:0;top:0;width:1px;height:1px;overflow:hidden;pointer-events:none;color:transparent;font-size:1px;line-height:1px";
document.body.appendChild(dot);
let n = 0;
window.__lockboxE2eRepaint = setInterval(() => { dot.textContent = n++ % 2 ? "." : ":"; }, 50);
`;
const REPAINT_STOP = `clearInterval(window.__lockboxE2eRepaint); document.getElementById("lockbox-e2e-repaint")?.remove();`;

/**
 * Saves NAME.png of the window. First waits (bounded) for finite CSS
 * transitions/animations to finish (WebKit under Xvfb starts them late, so a
 * button just enabled can still be drawn grey), then two animation frames so
 * the frame is painted.
 */
export async function screenshot(driver, name) {
  await driver
    .wait(
      () =>
        driver.executeScript(
          "return document.getAnimations().every((a) => a.playState !== 'running' || !Number.isFinite(a.effect?.getComputedTiming().endTime));",
        ),
      3_000,
    )
    .catch(() => console.error(`    (${name}: animations still running after 3 s; taking the screenshot anyway)`));
  await driver.executeAsyncScript(
    "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
  );
  await driver.executeScript(REPAINT_START);
  let png;
  try {
    png = await driver.takeScreenshot();
  } finally {
    await driver.executeScript(REPAINT_STOP).catch(() => undefined);
  }
  mkdirSync(env.shots, { recursive: true });
  const file = join(env.shots, `${name}.png`);
  writeFileSync(file, Buffer.from(png, "base64"));
  return file;
}

/** Best-effort screenshot for a failing test; never throws. */
export async function failureScreenshot(driver, testName) {
  if (!driver) return null;
  const slug = testName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
  try {
    const file = await screenshot(driver, `FAILED-${slug}`);
    return file;
  } catch (e) {
    console.error(`(could not take a failure screenshot: ${e.message})`);
    return null;
  }
}

// ---------------------------------------------------------------- CSV

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
