// The `$BROWSER` of a desktop app or `lockbox login --browser` in the tests
// and benchmarks (tests/e2e/connected.sh, crates/lockbox-bench/desktop.sh):
// `node browser.mjs LOGIN URL`. The app asks it to open the OpenID provider's
// authorization URL; it answers the provider's own login and consent pages
// as LOGIN would in a browser (a cookie jar, redirects followed while they
// stay at the provider; any password: tests/oidc/server.mjs's
// devInteractions), then follows the provider's redirect to the app's
// loopback address, which answers "Signed in.". The same steps as
// tests/oidc/sign_in.rs's `browse` + `answer_form`, in node (fetch).
// Exits 0 once the app said "Signed in."; else non-zero, saying why on stderr.
const [login, start] = process.argv.slice(2);
if (!login || !start) {
  console.error("usage: node browser.mjs LOGIN URL");
  process.exit(2);
}

const jar = new Map();
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
function keepCookies(res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(";");
    const i = pair.indexOf("=");
    const name = pair.slice(0, i).trim();
    const value = pair.slice(i + 1).trim();
    const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*19[67]0/i.test(a));
    if (gone || value === "") jar.delete(name);
    else jar.set(name, value);
  }
}

async function go(url, { method = "GET", form } = {}) {
  const headers = { cookie: cookieHeader() };
  let body;
  if (form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, { method, headers, body, redirect: "manual", signal: AbortSignal.timeout(30_000) });
  keepCookies(res);
  return res;
}

const provider = new URL(start).origin;
let res = await go(start);
let url = new URL(start);
for (let step = 0; step < 12; step++) {
  if (res.status >= 300 && res.status < 400) {
    const next = new URL(res.headers.get("location"), url);
    if (next.origin !== provider) {
      // Back to the app (its loopback redirect with the code).
      const back = await fetch(next, { signal: AbortSignal.timeout(30_000) });
      const text = await back.text();
      if (back.status !== 200 || !text.includes("Signed in.")) {
        console.error(`browser.mjs: the app answered ${back.status}: ${text}`);
        process.exit(1);
      }
      console.error(`browser.mjs: ${login} signed in`);
      process.exit(0);
    }
    url = next;
    res = await go(next);
    continue;
  }
  const html = await res.text();
  if (res.status !== 200) {
    console.error(`browser.mjs: the provider answered ${res.status} at ${url}: ${html}`);
    process.exit(1);
  }
  const action = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!action) {
    console.error(`browser.mjs: no form at ${url}: ${html}`);
    process.exit(1);
  }
  const target = new URL(action[1].replace(/&amp;/g, "&"), url);
  let form;
  if (html.includes('name="login"')) form = { prompt: "login", login, password: "any" };
  else if (html.includes('value="consent"')) form = { prompt: "consent" };
  else {
    console.error(`browser.mjs: neither the login nor the consent page at ${url}: ${html}`);
    process.exit(1);
  }
  url = target;
  res = await go(target, { method: "POST", form });
}
console.error("browser.mjs: the sign-in did not end with a redirect to the app");
process.exit(1);
