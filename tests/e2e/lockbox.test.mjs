// End-to-end tests of the real Lockbox desktop app through WebDriver.
// Run by tests/e2e/run.sh, which starts tauri-driver, seeds a temp store with
// `lockbox demo` (3 pending requests + 1 awaiting the provider) and sets the
// environment read by ./lib.mjs. One app session, tests run in order.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  archiveCopy,
  archiveProcesses,
  cli,
  click,
  clickOn,
  closeDrawer,
  env,
  failureScreenshot,
  fileRequest,
  find,
  findAll,
  Key,
  openPage,
  parseCsv,
  query,
  requestByCase,
  screenshot,
  shortId,
  startSession,
  tableRows,
  textOf,
  typeInto,
  waitGone,
  waitUntil,
} from "./lib.mjs";

const CSV_HEADER = "seq,tenant_seq,at,at_ms,recorded_at,recorded_at_ms,tenant,actor_kind,actor,operation,request_id,details,prev_hash,hash";
const COL = Object.fromEntries(CSV_HEADER.split(",").map((name, i) => [name, i]));
const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");

let driver = null;
let sessionError = null;

/** A test with a failure screenshot, run against a UI with no dialog left open. */
function uiTest(name, fn, { timeout = 120_000 } = {}) {
  it(name, { timeout }, async () => {
    if (!driver) throw new Error(`no app session: ${sessionError?.message ?? "the app did not start"}`);
    try {
      await closeOverlays();
      await fn();
    } catch (e) {
      const file = await failureScreenshot(driver, name);
      if (file) e.message += `\n    screenshot: ${relative(ROOT, file)}`;
      throw e;
    }
  });
}

/** Closes any dialog or panel a previous (failed) test left open. */
async function closeOverlays() {
  for (let i = 0; i < 4; i++) {
    const open = await findAll(driver, { role: "dialog" });
    if (open.length === 0) return;
    try {
      const top = open[open.length - 1];
      const button = await query(driver, { role: "button", name: /^(Close|Cancel)$/, within: top });
      if (button) await click(driver, button, 5_000);
      else await top.sendKeys(Key.ESCAPE);
    } catch {
      // It was already closing (its button left the page); the wait below decides.
    }
    await waitUntil(driver, "a dialog left open closes", async () => (await findAll(driver, { role: "dialog" })).length < open.length, 5_000);
  }
}

/** Opens a request's details panel from the Service requests list. */
async function openRequest(req) {
  await openPage(driver, "Service requests");
  await clickOn(driver, { role: "button", name: `Open request ${shortId(req.id)} (${req.case})` });
  const drawer = await find(driver, { role: "dialog", name: `Request ${shortId(req.id)} details` });
  await find(driver, { role: "heading", name: `${req.case} · ${shortId(req.id)}`, within: drawer });
  return drawer;
}

describe("Lockbox desktop app", { concurrency: 1 }, () => {
  before(async () => {
    try {
      driver = await startSession();
      await find(driver, { role: "heading", name: "Lockbox admin center" }, 60_000);
    } catch (e) {
      sessionError = e;
      await failureScreenshot(driver, "app start");
      throw new Error(`the app did not start under WebDriver: ${e.message}`, { cause: e });
    }
  }, { timeout: 120_000 });

  after(async () => {
    if (!driver) return;
    // Ending the session makes tauri-driver stop the app.
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(console.error("(ending the WebDriver session took over 30 s)")), 30_000);
    });
    await Promise.race([driver.quit(), timeout]).catch((e) => console.error(`(ending the session: ${e.message})`));
    clearTimeout(timer);
  }, { timeout: 40_000 });

  uiTest("Home shows the overview of the seeded store", async () => {
    const pending = cli(["request", "list", "--state", "pending"]).length;
    const active = cli(["request", "list", "--state", "approved"]).length;
    await openPage(driver, "Home");
    await find(driver, { name: `Signed in as ${env.me}` });
    await find(driver, { role: "group", name: `Pending requests: ${pending}` });
    await find(driver, { role: "group", name: `Active access grants: ${active}` });
    await screenshot(driver, "01-home");
  });

  uiTest("Approve a pending request through the Approve dialog, with a comment", async () => {
    const req = requestByCase("SR-4821907");
    assert.equal(req.state, "pending", "seeded request should be pending");
    const comment = `Approved in the e2e test for ${req.case}`;

    const drawer = await openRequest(req);
    await find(driver, { role: "button", name: "Approve", within: drawer });
    await screenshot(driver, "02-service-requests-details");

    await clickOn(driver, { role: "button", name: "Approve", within: drawer });
    const dialog = await find(driver, { role: "dialog", name: "Approve request" });
    const intro = await textOf(driver, dialog);
    assert.match(intro, new RegExp(`Approving lets ${req.requester} access`), "the dialog names the requester");
    await find(driver, { role: "combobox", name: "Access duration", within: dialog });
    await typeInto(driver, await find(driver, { role: "textbox", name: "Comment (optional)", within: dialog }), comment);
    await screenshot(driver, "03-approve-dialog");
    await clickOn(driver, { role: "button", name: "Approve", within: dialog });
    await waitGone(driver, { role: "dialog", name: "Approve request" });

    // The panel now shows the approved request and a confirmation toast.
    await find(driver, { text: /^Approved\. Access ends /, ariaHidden: true }); // the toast
    await find(driver, { role: "button", name: "Revoke access", within: drawer });
    await closeDrawer(driver, drawer);
    // ...and it left the Pending list without a manual refresh.
    await waitGone(driver, { role: "button", name: `Open request ${shortId(req.id)} (${req.case})` });

    const after = cli(["request", "show", req.id]);
    assert.equal(after.state, "approved", "lockbox request show: state");
    assert.equal(after.granted_duration_s, req.requested_duration_s, "granted the requested duration");
    const d = after.decisions.find((x) => x.level === "customer" && x.decision === "approve");
    assert.ok(d, `a customer approval is recorded: ${JSON.stringify(after.decisions)}`);
    assert.equal(d.actor, env.me);
    assert.equal(d.comment, comment);
  });

  uiTest("Reject a pending request through the Reject dialog", async () => {
    const req = requestByCase("SR-4822113");
    assert.equal(req.state, "pending", "seeded request should be pending");
    const comment = "Not needed: the customer fixed the library view";

    const drawer = await openRequest(req);
    await clickOn(driver, { role: "button", name: "Reject", within: drawer });
    const dialog = await find(driver, { role: "dialog", name: "Reject request" });
    await typeInto(driver, await find(driver, { role: "textbox", name: "Comment", within: dialog }), comment);
    await clickOn(driver, { role: "button", name: "Reject", within: dialog });
    await waitGone(driver, { role: "dialog", name: "Reject request" });

    await find(driver, { text: /^Request rejected$/, ariaHidden: true }); // the toast
    await waitGone(driver, { role: "button", name: "Approve", within: drawer });
    await find(driver, { text: /^Rejected$/, within: drawer });
    await closeDrawer(driver, drawer);
    await waitGone(driver, { role: "button", name: `Open request ${shortId(req.id)} (${req.case})` });

    const after = cli(["request", "show", req.id]);
    assert.equal(after.state, "rejected", "lockbox request show: state");
    const d = after.decisions.find((x) => x.level === "customer" && x.decision === "reject");
    assert.ok(d, `a customer rejection is recorded: ${JSON.stringify(after.decisions)}`);
    assert.equal(d.comment, comment);
  });

  uiTest("A request expiring while Service requests is open flips to Expired by itself", async () => {
    // Set up with the CLI before the page is opened.
    await openPage(driver, "Home");
    const original = cli(["settings", "show"]);
    cli(["settings", "set", "lockbox", "on"]);
    cli(["settings", "set", "request-lifetime", "20s"]);
    const caseId = `SR-E2E-EXPIRY-${Date.now().toString(36).toUpperCase()}`; // wall-clock: a unique name
    let req;
    // The wait is timed on this process's monotonic clock from the request's
    // own lifetime (both ends stamped by the engine): nothing below compares
    // this process's calendar time with the app's, so no assertion depends on
    // the date, on the clocks being a year ahead, or on them disagreeing.
    let startedFiling, doneFiling;
    try {
      startedFiling = performance.now();
      req = fileRequest({ case: caseId, workload: "Teams", resource: "Team: E2E expiry" });
      doneFiling = performance.now();
    } finally {
      // Policy is snapshotted when a request is filed, so restore it at once: a
      // 20 s lifetime (shorter than the 1 h reminder lead) is not a valid form
      // in Org settings, and later tests save that form.
      cli(["settings", "set", "request-lifetime", `${original.request_lifetime_s}s`]);
    }
    assert.equal(req.state, "pending", "provider-approved request should be pending");
    const lifetimeMs = Date.parse(req.expires_at) - Date.parse(req.created_at);
    // The deadline on performance.now()'s clock lies between these two.
    const deadlineEarliest = startedFiling + lifetimeMs;
    const deadlineLatest = doneFiling + lifetimeMs;

    await openPage(driver, "Service requests");
    // Show every state, so the row stays listed when it expires.
    await clickOn(driver, { role: "combobox", name: "Status" });
    await clickOn(driver, { role: "option", name: "All requests" });
    await waitUntil(driver, "the Status filter shows All requests", async () =>
      (await textOf(driver, await find(driver, { role: "combobox", name: "Status" }))) === "All requests");

    const rowOf = async () => (await tableRows(driver, "Service requests")).find((r) => r.cells["Support case"] === caseId);
    const first = await waitUntil(driver, `the new request ${caseId} is listed`, rowOf);
    const leftS = Math.round((deadlineLatest - performance.now()) / 1000);
    assert.equal(first.cells.Status, "Pending", `the new request is listed as Pending first (${leftS} s before its deadline)`);
    assert.match(first.cells["Expires / Access ends"], /^Expires in /, "a live countdown is shown");

    // No clicks from here on: the page must update itself.
    const budgetMs = Math.max(deadlineLatest - performance.now(), 0) + 20_000;
    assert.ok(budgetMs <= 40_000, `the wait stays bounded (${budgetMs} ms)`);
    let seen;
    await waitUntil(
      driver,
      () => `the row of ${caseId} shows the Expired status (deadline ${req.expires_at}; last seen: ${JSON.stringify(seen?.cells)})`,
      async () => {
        seen = await rowOf();
        return seen?.cells.Status === "Expired";
      },
      budgetMs,
    );
    const lagMs = Math.round(performance.now() - deadlineEarliest);
    console.log(`    (row showed Expired at most ${lagMs} ms after the deadline; countdown cell: ${JSON.stringify(seen.cells["Expires / Access ends"])})`);
    assert.equal(cli(["request", "show", req.id]).state, "expired", "lockbox request show: state");
  });

  uiTest("Turn Customer Lockbox off in Org settings › Security & privacy", async () => {
    const before = cli(["audit", "list", "--operation", "settings_changed", "--limit", "1000"]);
    assert.equal(cli(["settings", "show"]).lockbox_enabled, true, "Customer Lockbox starts on");

    await openPage(driver, "Org settings");
    const tab = await clickOn(driver, { role: "tab", name: "Security & privacy" });
    await waitUntil(driver, "the Security & privacy tab is selected", async () => (await tab.getAttribute("aria-selected")) === "true");
    const panel = await find(driver, { role: "tabpanel", name: "Security & privacy" });
    await find(driver, { text: /^Customer Lockbox is On$/, within: panel });
    await screenshot(driver, "04-org-settings");

    await clickOn(driver, { role: "button", name: "Edit", within: panel });
    const drawer = await find(driver, { role: "dialog", name: "Customer Lockbox settings" });
    const toggle = await find(driver, { role: "switch", name: "Require approval for all data access requests", within: drawer });
    assert.equal(await toggle.isSelected(), true, "the switch starts on");
    await click(driver, toggle);
    await waitUntil(driver, "the switch is off", async () => !(await toggle.isSelected()), 5_000);
    await screenshot(driver, "04b-org-settings-edit");
    await clickOn(driver, { role: "button", name: "Save", within: drawer });
    await waitGone(driver, { role: "dialog" });

    await find(driver, { text: /^Customer Lockbox is Off$/, within: panel });
    await find(driver, { text: /^Customer Lockbox settings saved$/, ariaHidden: true }); // the toast

    assert.equal(cli(["settings", "show"]).lockbox_enabled, false, "lockbox settings show: lockbox_enabled");
    const entries = cli(["audit", "list", "--operation", "settings_changed", "--limit", "1000"]);
    const added = entries.filter((e) => !before.some((b) => b.seq === e.seq));
    assert.equal(added.length, 1, `exactly one settings_changed entry was added: ${JSON.stringify(added)}`);
    const [e] = added;
    assert.equal(e.actor, env.me);
    assert.deepEqual(e.details.changes, [{ key: "lockbox", old: "on", new: "off" }], "the entry records lockbox on → off");
  });

  uiTest("Search the audit history with the free-text filter", async () => {
    // An entry to look for: reject the last seeded pending request with a unique comment.
    const token = `e2e-${Date.now().toString(36)}`; // wall-clock: a unique name
    const req = requestByCase("SR-4822540");
    cli(["request", "reject", req.id, "--comment", `Closed from the CLI (${token})`]);

    await openPage(driver, "Audit");
    await waitUntil(driver, "the audit history lists the new entry", async () =>
      (await tableRows(driver, "Audit history")).some((r) => r.text.includes(token)));
    const total = (await tableRows(driver, "Audit history")).length;
    assert.ok(total > 5, `the unfiltered history has many entries (${total})`);
    await screenshot(driver, "05-audit");

    // Live: what another process writes appears while the page is open.
    // wall-clock: a unique name
    const live = fileRequest({ case: `SR-LIVE-${Date.now().toString(36)}`, providerApprove: false });
    await waitUntil(driver, "the CLI's new entry appears without leaving the page", async () =>
      (await tableRows(driver, "Audit history")).some(
        (r) => r.cells["Request ID"] === shortId(live.id) && r.cells.Operation === "Request created"));

    await typeInto(driver, await find(driver, { role: "searchbox", name: "Search audit details" }), token);
    const rows = await waitUntil(driver, "only the matching entry is listed", async () => {
      const r = await tableRows(driver, "Audit history");
      return r.length === 1 ? r : null;
    });
    const { cells } = rows[0];
    assert.equal(cells.Operation, "Rejected");
    assert.equal(cells["Request ID"], shortId(req.id));
    assert.match(cells.Details, new RegExp(token));
    assert.ok(cells.Actor.startsWith(env.me), `actor ${cells.Actor}`);
    await find(driver, { text: /^Showing 1 entr(y|ies)$/ });
    await screenshot(driver, "05b-audit-search");
  });

  uiTest("Export the audit history as CSV", async () => {
    await openPage(driver, "Audit");
    const clear = await query(driver, { role: "button", name: "Clear filters" });
    if (clear) await click(driver, clear);
    const all = cli(["audit", "list", "--limit", "100000"]);
    await waitUntil(driver, `the unfiltered history is listed (${Math.min(all.length, 50)} rows)`, async () =>
      (await tableRows(driver, "Audit history")).length === Math.min(all.length, 50));

    const exportCsv = async () => {
      rmSync(env.savePath, { force: true });
      await clickOn(driver, { role: "button", name: "Export" });
      await clickOn(driver, { role: "menuitem", name: "CSV" });
      const note = await find(driver, { role: "status", text: /^Export complete/ });
      const m = /Exported ([\d,]+) rows? to (.+)$/.exec(await textOf(driver, note));
      assert.ok(m, `the export message names the rows and file: ${await textOf(driver, note)}`);
      assert.equal(m[2], env.savePath, "exported to LOCKBOX_E2E_SAVE_PATH");
      assert.ok(existsSync(env.savePath), `the export file exists: ${env.savePath}`);
      await clickOn(driver, { role: "button", name: "Dismiss", within: note });
      return { rows: Number(m[1].replace(/,/g, "")), text: readFileSync(env.savePath, "utf8") };
    };
    const sameAsCli = (text, args, what) => {
      const out = join(env.work, "cli-export.csv");
      cli(["audit", "export", "--format", "csv", "--out", out, ...args], { json: false });
      const want = readFileSync(out, "utf8").split(/\r?\n/);
      const got = text.split(/\r?\n/);
      const i = want.findIndex((l, k) => l !== got[k]);
      assert.ok(i === -1 && got.length === want.length,
        `${what}: the app's export differs from 'lockbox audit export' at line ${i + 1}:\n      app: ${got[i]}\n      cli: ${want[i]}`);
    };

    // Everything.
    const full = await exportCsv();
    const rows = parseCsv(full.text).filter((r) => r.length > 1);
    assert.equal(rows[0].join(","), CSV_HEADER, "the CSV header");
    assert.equal(rows.length - 1, all.length, "one row per audit entry");
    assert.equal(full.rows, all.length, "the message counts every entry");
    const seqs = rows.slice(1).map((r) => Number(r[COL.seq]));
    assert.deepEqual(seqs, all.map((e) => e.seq).sort((a, b) => a - b), "rows in seq order, none missing");
    for (let k = 2; k < rows.length; k++) {
      assert.equal(rows[k][COL.prev_hash], rows[k - 1][COL.hash], `row ${k}: prev_hash links to the previous row's hash`);
      assert.equal(Number(rows[k][COL.tenant_seq]), Number(rows[k - 1][COL.tenant_seq]) + 1, `row ${k}: tenant_seq counts on`);
    }
    const ops = new Set(rows.slice(1).map((r) => r[COL.operation]));
    for (const op of ["tenant_added", "request_created", "provider_approved"]) assert.ok(ops.has(op), `the export has a ${op} row`);
    sameAsCli(full.text, [], "full export");

    // Only what the filter shows.
    const text = "SR-4821907";
    const matching = cli(["audit", "list", "--text", text, "--limit", "100000"]);
    await typeInto(driver, await find(driver, { role: "searchbox", name: "Search audit details" }), text);
    await waitUntil(driver, `the filtered history is listed (${matching.length} rows)`, async () =>
      (await tableRows(driver, "Audit history")).length === matching.length);
    const filtered = await exportCsv();
    assert.equal(filtered.rows, matching.length, "the filtered export counts only matching entries");
    assert.ok(filtered.rows >= 1 && filtered.rows < full.rows, `a proper subset (${filtered.rows} of ${full.rows})`);
    sameAsCli(filtered.text, ["--text", text], "filtered export");
  });

  uiTest("Open audit archive… starts the archive in a process of its own", async () => {
    archiveCopy(env.openPath);
    await openPage(driver, "Audit");
    await clickOn(driver, { role: "button", name: "Open audit archive…" });
    const note = await find(driver, { role: "status", text: /^Audit archive opened/ });
    const said = await textOf(driver, note);
    assert.ok(said.includes(`${env.openPath} opens read-only`), `the note names the file: ${said}`);
    const [pid] = await waitUntil(driver, `a process runs 'lockbox-app --archive ${env.openPath}'`, async () => {
      const pids = archiveProcesses(env.openPath);
      return pids.length > 0 ? pids : null;
    });
    try {
      // The live window goes on as it was.
      await clickOn(driver, { role: "button", name: "Dismiss", within: note });
      await openPage(driver, "Home");
      await find(driver, { name: `Signed in as ${env.me}` });
    } finally {
      process.kill(pid, "SIGTERM");
    }
    await waitUntil(driver, `the archive process ${pid} has exited`, async () => !archiveProcesses(env.openPath).includes(pid));
  });
});

// ---------------------------------------------------------------- the audit archive

describe("Lockbox audit archive", { concurrency: 1 }, () => {
  const copy = join(env.work, "archive", "contoso-archive.db");
  let adriver = null;
  let startError = null;
  let live = null;
  let verified = null;
  let undecided = [];

  before(async () => {
    try {
      // Requests a live window would offer a decision on (read from the live store as it is copied).
      undecided = cli(["request", "list"]).filter((r) => r.state === "pending" || r.state === "approved");
      archiveCopy(copy);
      verified = cli(["--db", copy, "audit", "verify"]);
      // A live app on the live store runs meanwhile: the archive must get a
      // window of its own, not be handed over to it (single instance).
      const log = join(env.work, "live-app.log");
      live = spawn(env.app, [], { stdio: ["ignore", openSync(log, "w"), openSync(log, "a")], env: process.env });
      await waitFor(`the live app's first paint (${log})`, () => /first paint/.test(readFileSync(log, "utf8")), 60_000);
      adriver = await startSession(["--archive", copy]);
      await find(adriver, { role: "heading", name: "Lockbox audit archive" }, 60_000);
    } catch (e) {
      startError = e;
      await failureScreenshot(adriver, "archive start");
      throw new Error(`the archive window did not start: ${e.message}`, { cause: e });
    }
  }, { timeout: 150_000 });

  after(async () => {
    if (adriver) await adriver.quit().catch((e) => console.error(`(ending the archive session: ${e.message})`));
    if (live && live.exitCode === null) {
      live.kill("SIGTERM");
      await new Promise((resolve) => live.once("exit", resolve));
    }
  }, { timeout: 40_000 });

  it("shows the copy read-only: banner, entries as 'audit verify' counts them, no decisions or settings", { timeout: 120_000 }, async () => {
    if (!adriver) throw new Error(`no archive window: ${startError?.message ?? "it did not start"}`);
    try {
      assert.equal(verified.ok, true, "the copy verifies with the CLI");
      const n = verified.entries;
      assert.ok(n > 0, `the copy has the seeded store's entries (${n})`);
      const banner = await find(adriver, { role: "region", name: "Audit archive" });
      const text = () => textOf(adriver, banner);
      assert.match(await text(), /contoso-archive\.db/, "the banner names the file");
      assert.match(await text(), /Read-only/);
      const count = n.toLocaleString("en-US").replace(/,/g, ",?");
      await waitUntil(adriver, `the banner says entries 1–${n} verified`, async () =>
        new RegExp(`Entries\\s*1–${count} verified`).test(await text()));
      const title = await adriver.executeScript(
        "return arguments[0].querySelector('[data-testid=archive-head]')?.getAttribute('title');", banner);
      // The newest entry's hash: the head of its tenant's chain, as the CLI verified it.
      assert.ok(verified.chains.some((c) => c.head_hash === title), `the full head hash (on hover) ${title} is one of the CLI's chain heads`);
      // The engine signed a checkpoint of the chain when the store was written.
      assert.match(await text(), /Signed checkpoint of \S+: entries 1–\d+ as of \S+ hold/);

      // The Audit page lists the archive's entries, newest (#N) first.
      const rows = await waitUntil(adriver, "the audit history lists entries", async () => {
        const table = await query(adriver, { role: "table", name: "Audit history" });
        if (!table) return null;
        const r = await adriver.executeScript("return Array.from(arguments[0].querySelectorAll('tbody tr')).map((tr) => tr.innerText);", table);
        return r.length > 0 ? r : null;
      });
      assert.equal(rows.length, Math.min(n, 50), "one page of entries");
      assert.match(rows[0], new RegExp(`^${n}\\b`), "the newest entry first");

      // Only Audit and Service requests; no settings, no decisions.
      const nav = await find(adriver, { role: "navigation", name: "Navigation" });
      const links = await adriver.executeScript(
        "return Array.from(arguments[0].querySelectorAll('a')).map((a) => a.innerText.trim());", nav);
      assert.deepEqual(links, ["Service requests", "Audit"]);
      assert.equal(await query(adriver, { role: "button", name: "Verify integrity" }), null);
      await screenshot(adriver, "08-archive");

      await clickOn(adriver, { role: "link", name: "Service requests", within: nav });
      await find(adriver, { role: "heading", name: "Service requests" });
      assert.ok(undecided.length > 0, "the copy has a pending or approved request");
      const req = undecided[0];
      await clickOn(adriver, { role: "button", name: `Open request ${shortId(req.id)} (${req.case})` });
      const drawer = await find(adriver, { role: "dialog", name: `Request ${shortId(req.id)} details` });
      await find(adriver, { text: /read-only: no decision can be made here/, within: drawer });
      for (const name of ["Approve", "Reject", "Revoke access"]) {
        assert.equal(await query(adriver, { role: "button", name }), null, `no ${name} button`);
      }
      await find(adriver, { role: "heading", name: "Details", within: drawer });
      await screenshot(adriver, "08b-archive-request");
      assert.equal(live.exitCode, null, "the live app runs on beside the archive");
    } catch (e) {
      const file = await failureScreenshot(adriver, "archive");
      if (file) e.message += `\n    screenshot: ${relative(ROOT, file)}`;
      throw e;
    }
  });
});

/** Polls a condition outside any window (bounded), like waitUntil. */
async function waitFor(what, fn, timeout = 20_000) {
  const end = Date.now() + timeout; // wall-clock: a bound on waiting, not an outcome
  for (;;) {
    try {
      if (fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`); // wall-clock: a wait's time limit, not an outcome
    await new Promise((r) => setTimeout(r, 100));
  }
}
