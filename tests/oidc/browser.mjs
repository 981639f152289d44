// The `$BROWSER` of a desktop app or `lockbox login --browser` in the tests
// and benchmarks (tests/e2e/connected.sh, crates/lockbox-bench/desktop.sh,
// crates/lockbox-cli/tests/login_device.rs): `node browser.mjs LOGIN URL`.
//
// The app asks it to open the OpenID provider's authorization URL. It opens
// it in a real browser driven by WebDriver: WebKitGTK's MiniBrowser under
// WebKitWebDriver (packages libwebkit2gtk-4.1-0 and webkit2gtk-driver, which
// the desktop app's E2E tests use too), on the X display in $DISPLAY. There
// it answers the provider's own login and consent pages as LOGIN would (any
// password: tests/oidc/server.mjs's devInteractions), and the provider's
// redirect takes the browser to the app's loopback address, which must
// answer "Signed in.".
//
// Exits 0 once the app's page said "Signed in."; else non-zero, saying why
// on stderr. Nothing is skipped: without a display, WebKitWebDriver or
// MiniBrowser it fails, saying which.
//
// LOCKBOX_BROWSER_SHOTS=PREFIX: a PNG of each page it answers (PREFIX1-login.png,
// PREFIX2-consent.png, PREFIX3-app.png), for the E2E's screenshots.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { Builder, By, until } from "selenium-webdriver";

const [login, start] = process.argv.slice(2);
if (!login || !start) {
  console.error("usage: node browser.mjs LOGIN URL");
  process.exit(2);
}
const fail = (why) => {
  console.error(`browser.mjs: ${why}`);
  process.exit(1);
};
if (!process.env.DISPLAY) fail("no X display ($DISPLAY): the browser needs one (Xvfb in the tests)");

const DRIVER = process.env.LOCKBOX_WEBKIT_DRIVER || "/usr/bin/WebKitWebDriver";
const BROWSER =
  process.env.LOCKBOX_MINIBROWSER ||
  ["x86_64-linux-gnu", "aarch64-linux-gnu"]
    .map((a) => `/usr/lib/${a}/webkit2gtk-4.1/MiniBrowser`)
    .find((p) => existsSync(p));
if (!existsSync(DRIVER)) fail(`no ${DRIVER} (Debian package webkit2gtk-driver)`);
if (!BROWSER) fail("no MiniBrowser (Debian package libwebkit2gtk-4.1-0)");

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const shots = process.env.LOCKBOX_BROWSER_SHOTS;
if (shots) mkdirSync(dirname(shots), { recursive: true });
async function shot(driver, name) {
  if (!shots) return;
  // Two frames: what was typed is painted before the picture is taken.
  await driver.executeAsyncScript(
    "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(done));",
  );
  writeFileSync(`${shots}${name}.png`, await driver.takeScreenshot(), "base64");
}

const port = await freePort();
const driverProc = spawn(DRIVER, [`--port=${port}`, "--host=127.0.0.1"], { stdio: ["ignore", "ignore", "pipe"] });
let driverLog = "";
driverProc.stderr.on("data", (d) => (driverLog += d));
const server = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    const res = await fetch(`${server}/status`, { signal: AbortSignal.timeout(1000) });
    if ((await res.json()).value?.ready) break;
  } catch {
    // not listening yet
  }
  if (i >= 100 || driverProc.exitCode !== null) {
    driverProc.kill();
    fail(`WebKitWebDriver did not start: ${driverLog}`);
  }
  await new Promise((r) => setTimeout(r, 100));
}

/** Types TEXT into FIELD and checks the field holds exactly that; again, at most 3 times. */
async function typeChecked(field, text) {
  let value = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    await field.clear();
    await field.sendKeys(text);
    value = await field.getProperty("value");
    if (value === text) return;
  }
  throw new Error(`typed ${JSON.stringify(text)} three times, the field holds ${JSON.stringify(value)}`);
}

let driver;
let code = 1;
try {
  driver = await new Builder()
    .usingServer(server)
    .withCapabilities({
      browserName: "MiniBrowser",
      "webkitgtk:browserOptions": { binary: BROWSER, args: ["--automation"] },
    })
    .build();
  await driver.manage().setTimeouts({ pageLoad: 30_000, implicit: 0 });
  const provider = new URL(start).origin;
  await driver.get(start);
  const seen = [];
  for (let step = 0; step < 6; step++) {
    const here = new URL(await driver.getCurrentUrl());
    if (here.origin !== provider) {
      // Back at the app: its loopback page.
      const text = await driver.findElement(By.css("body")).getText();
      await shot(driver, "3-app");
      if (!text.includes("Signed in.")) throw new Error(`the app's page at ${here.origin} says: ${text}`);
      console.error(`browser.mjs: ${login} signed in (pages: ${seen.join(", ")})`);
      code = 0;
      break;
    }
    const fields = await driver.findElements(By.css('input[name="login"]'));
    if (fields.length > 0) {
      // What is typed is read back: a key lost while the page settles
      // (seen once in the E2E suite, on a loaded machine) would sign in
      // someone else, e.g. "bob@contoso.exampl".
      await typeChecked(fields[0], login);
      await typeChecked(driver.findElement(By.css('input[name="password"]')), "any");
      await shot(driver, "1-login");
      seen.push("login");
    } else if ((await driver.findElements(By.css('input[name="prompt"][value="consent"]'))).length > 0) {
      await shot(driver, "2-consent");
      seen.push("consent");
    } else {
      const text = await driver.findElement(By.css("body")).getText();
      throw new Error(`neither the login nor the consent page at ${here}: ${text}`);
    }
    const submit = await driver.findElement(By.css('button[type="submit"]'));
    await submit.click();
    // The next page: the URL or the page itself changes.
    await driver.wait(until.stalenessOf(submit), 30_000, "the provider did not answer the form");
  }
  if (code !== 0) throw new Error(`the sign-in did not end at the app (${seen.join(", ")})`);
} catch (e) {
  console.error(`browser.mjs: ${e.message || e}`);
  if (driverLog) console.error(`WebKitWebDriver: ${driverLog}`);
} finally {
  if (driver) await driver.quit().catch(() => {});
  driverProc.kill();
}
process.exit(code);
