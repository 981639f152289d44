// After `vite build`: gives dist/index.html a static first paint of Service
// requests (see src/prepaint/). Renders the real page at build time
// (src/prepaint/ssr.tsx under Node, through Vite's SSR build) into templates
// plus the CSS Griffel generated for them, bundles src/prepaint/prepaint.ts
// into dist/assets/prepaint-HASH.js, and makes that script load the admin
// center (the entry chunk, still preloaded) after the first paint.
// Usage: node scripts/prepaint.mjs [DIST]   (default: dist)
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build as esbuild } from "esbuild";
import { build as viteBuild } from "vite";

const UI = join(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = process.argv[2] ?? join(UI, "dist");
const ATTR = "data-prepaint";

const out = mkdtempSync(join(tmpdir(), "lockbox-prepaint-"));
let page;
try {
  await viteBuild({
    root: UI,
    configFile: false,
    logLevel: "error",
    build: { ssr: join(UI, "src/prepaint/ssr.tsx"), outDir: out, emptyOutDir: true, target: "node20" },
    ssr: { noExternal: true },
    define: { "import.meta.env.DEV": "false" },
  });
  page = await (await import(pathToFileURL(join(out, "ssr.js")).href)).render();
} finally {
  rmSync(out, { recursive: true, force: true });
}

const script = (
  await esbuild({
    entryPoints: [join(UI, "src/prepaint/prepaint.ts")],
    bundle: true,
    minify: true,
    format: "iife",
    target: "es2021",
    write: false,
  })
).outputFiles[0].text;
const name = `prepaint-${createHash("sha256").update(script).digest("hex").slice(0, 8)}.js`;
writeFileSync(join(DIST, "assets", name), script);

// No <style> in index.html: Tauri would give each a nonce, and a nonce in
// style-src turns off 'unsafe-inline', which Fluent's own style elements need.
// One stylesheet instead: Griffel's buckets in their order (media buckets
// wrapped in their @media), and the theme's variables from the page.
const STYLE = /<style([^>]*)>([\s\S]*?)<\/style>/g;
const media = (attrs) => /\bmedia="([^"]*)"/.exec(attrs)?.[1];
const rules = [];
for (const [, attrs, text] of page.html.matchAll(STYLE)) rules.push(text);
for (const [, attrs, text] of page.css.matchAll(STYLE)) {
  const m = media(attrs);
  rules.push(m ? `@media ${m}{${text}}` : text);
}
const html5 = page.html.replace(STYLE, "");
// Only the rules for classes the page uses (Griffel emits every slot of every
// makeStyles the render touched: about half is for states not on screen).
const used = new Set([...`${html5} ${page.avatars}`.matchAll(/class="([^"]*)"/g)].flatMap((m) => m[1].split(/\s+/)));
// An open category's chevron points up: Fluent turns it with a motion that
// runs in the browser only, so the server render draws it pointing down.
const motions = `[aria-expanded="true"]>.fui-NavCategoryItem__expandIcon{transform:rotate(180deg)}`;
const sheet = `${prune(rules.join("\n"), used)}\n${motions}`;
if (/<style/.test(html5)) throw new Error("prepaint: a style element is left in the page");
/** CSS without the rules whose selectors name no class in `used` (keyframes and other at-rules kept). */
function prune(css, used) {
  const out = [];
  let i = 0;
  while (i < css.length) {
    const open = css.indexOf("{", i);
    if (open < 0) break;
    let depth = 1;
    let j = open + 1;
    for (; j < css.length && depth > 0; j++) depth += css[j] === "{" ? 1 : css[j] === "}" ? -1 : 0;
    const prelude = css.slice(i, open).trim();
    const body = css.slice(open + 1, j - 1);
    if (/^@(media|supports|container|layer)/.test(prelude)) {
      const inner = prune(body, used);
      if (inner) out.push(`${prelude}{${inner}}`);
    } else if (prelude.startsWith("@")) {
      out.push(`${prelude}{${body}}`);
    } else {
      const classes = [...prelude.matchAll(/\.([\w-]+)/g)].map((m) => m[1]);
      if (classes.length === 0 || classes.some((c) => used.has(c))) out.push(`${prelude}{${body}}`);
    }
    i = j;
  }
  return out.join("");
}
const hash = (text) => createHash("sha256").update(text).digest("hex").slice(0, 8);
const cssName = `prepaint-${hash(sheet)}.css`;
writeFileSync(join(DIST, "assets", cssName), sheet);

const indexPath = join(DIST, "index.html");
let html = readFileSync(indexPath, "utf8");
const entry = /<script type="module" crossorigin src="([^"]+)"><\/script>\n?/.exec(html);
if (!entry) throw new Error(`prepaint: no entry script in ${indexPath}`);
if (html.includes(ATTR)) throw new Error(`prepaint: ${indexPath} already has a first paint`);
html = html
  .replace(
    entry[0],
    `<link rel="modulepreload" crossorigin href="${entry[1]}">\n    <link ${ATTR} rel="stylesheet" href="./assets/${cssName}">\n`,
  )
  .replace(
    '<div id="root"></div>',
    `<div id="root"></div>\n    <template ${ATTR} id="lockbox-prepaint">${html5}</template>` +
      `\n    <template ${ATTR} id="lockbox-avatars">${page.avatars}</template>` +
      `\n    <script ${ATTR} src="./assets/${name}" data-main="${entry[1]}"></script>`,
  );
writeFileSync(indexPath, html);
console.log(
  `prepaint: ${indexPath} paints Service requests first (${name}, ${cssName} ${(sheet.length / 1024).toFixed(1)} kB, index.html ${(html.length / 1024).toFixed(1)} kB)`,
);
