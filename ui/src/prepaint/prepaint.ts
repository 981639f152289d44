// The window's first paint when it opens on Service requests: index.html holds
// the page as the real components rendered it at build time (ssr.tsx, with
// template rows), and this small script (no React, no Fluent runtime) asks the
// shell for the first page of requests (`boot`), fills the template with them
// and shows it. Then it loads the admin center (main.tsx), which renders the
// same page with React into the same place (#root) and removes what this put
// there. Any other page, a dark theme, an archive or an empty list: nothing is
// painted here and the admin center loads at once, as without this script.
import { getInitials } from "@fluentui/react-avatar";
import type { BootDto } from "../bindings/BootDto";
import type { RequestDto } from "../bindings/RequestDto";
import { formatCountdown } from "../lib/duration";
import { formatDateTime, relativeTime, shortId } from "../lib/time";
import { deadlineOf, firstRequestsQuery, URGENT_MS } from "../pages/requests/query";
import { parseHash, storedTenant } from "../route";
import { AVATAR_COLORS, PREPAINTED } from "./shared";

type Invoke = (cmd: string, args?: Record<string, unknown>) => Promise<unknown>;
type Prepaint = Window & { __TAURI_INTERNALS__?: { invoke: Invoke }; [PREPAINTED]?: boolean };

/** Fluent's `colorful` avatar colour of a name (react-avatar's useAvatar). */
export function avatarColorIndex(name: string): number {
  let hash = 0;
  for (let i = name.length - 1; i >= 0; i--) {
    const ch = name.charCodeAt(i);
    const shift = i % 8;
    hash ^= (ch << shift) + (ch >> (8 - shift));
  }
  return hash % AVATAR_COLORS.length;
}

/** The last cell of a row (RequestRow's Countdown), as React renders it. */
function countdown(r: RequestDto, now: number, urgentClass: string): HTMLSpanElement {
  const span = document.createElement("span");
  const d = deadlineOf(r);
  if (!d) {
    span.title = formatDateTime(r.closed_at);
    span.textContent = r.closed_at ? `Closed ${relativeTime(r.closed_at, now)}` : "—";
    return span;
  }
  span.dataset.testid = "countdown";
  const left = d.at - now;
  if (left <= 0) {
    span.textContent = d.after;
    return span;
  }
  if (left < URGENT_MS) span.className = urgentClass;
  span.title = formatDateTime(new Date(d.at).toISOString());
  span.textContent = `${d.label} ${formatCountdown(left)}`;
  return span;
}

/** The page filled with `b`'s data, or null when this script does not paint it. */
export function fill(page: DocumentFragment, avatars: DocumentFragment, b: BootDto, now: number): DocumentFragment | null {
  const items = b.requests?.items ?? [];
  if (b.session.archive || !b.requests || items.length === 0 || b.session.tenants.length === 0) return null;
  const header = page.querySelector("header");
  const user = header?.querySelector<HTMLElement>("[aria-label^='Signed in as']");
  const avatar = user?.querySelector(".fui-Avatar");
  const rows = Array.from(page.querySelectorAll<HTMLTableRowElement>("tbody tr"));
  const caption = page.querySelector("[aria-live='polite']");
  if (!header || !user || !avatar || rows.length === 0 || !caption) return null;

  // Header: the organization picker's place (more than one), the user.
  if (b.session.tenants.length < 2) header.querySelector(":scope > div:not([aria-label])")?.remove();
  const name = b.session.user;
  user.setAttribute("aria-label", `Signed in as ${name}`);
  const label = user.querySelector(":scope > .fui-Text");
  if (label) label.textContent = name;
  const picked = avatars.children[avatarColorIndex(name)]?.cloneNode(true) as HTMLElement | undefined;
  if (!picked) return null;
  picked.setAttribute("aria-label", name);
  const initials = picked.querySelector(".fui-Avatar__initials");
  if (initials) initials.textContent = getInitials(name, false);
  avatar.replaceWith(picked);

  // Rows: the template row of each state, its texts replaced.
  const byState = new Map<string, HTMLTableRowElement>();
  let urgentClass = "";
  for (const tr of rows) {
    const state = tr.querySelector("[data-state]")?.getAttribute("data-state") ?? "";
    if (!byState.has(state)) byState.set(state, tr);
    else urgentClass = tr.querySelector("[data-testid='countdown']")?.className ?? "";
  }
  const body = rows[0]?.parentElement;
  if (!body) return null;
  const out: HTMLTableRowElement[] = [];
  for (const r of items) {
    const tpl = byState.get(r.state);
    if (!tpl) return null;
    const tr = tpl.cloneNode(true) as HTMLTableRowElement;
    tr.dataset.requestId = r.id;
    const [idCell, caseCell, requester, workload, resource, , createdCell, deadline] = Array.from(tr.cells);
    const id = idCell?.querySelector("button");
    if (!id || !caseCell || !requester || !workload || !resource || !createdCell || !deadline) return null;
    id.setAttribute("aria-label", `Open request ${shortId(r.id)} (${r.case})`);
    id.textContent = shortId(r.id);
    caseCell.textContent = r.case;
    requester.textContent = r.requester;
    workload.textContent = r.workload;
    resource.textContent = r.resource;
    const created = document.createElement("span");
    created.title = formatDateTime(r.created_at);
    created.textContent = relativeTime(r.created_at, now);
    createdCell.replaceChildren(created);
    deadline.replaceChildren(countdown(r, now, urgentClass));
    out.push(tr);
  }
  body.replaceChildren(...out);

  // Footer: the count, and "Load more" when there is more.
  caption.textContent = `Showing ${items.length} of ${b.requests.total}`;
  if (!b.requests.next_cursor) caption.parentElement?.querySelector("button")?.remove();
  return page;
}

async function prepaint(w: Prepaint): Promise<boolean> {
  const invoke = w.__TAURI_INTERNALS__?.invoke;
  const page = document.getElementById("lockbox-prepaint");
  const avatars = document.getElementById("lockbox-avatars");
  const root = document.getElementById("root");
  if (!invoke || !(page instanceof HTMLTemplateElement) || !(avatars instanceof HTMLTemplateElement) || !root) return false;
  const route = parseHash(window.location.hash);
  // The template is the default view of Service requests, in the light theme.
  if (route.page !== "requests" || route.request || route.tenant || (route.status ?? "pending") !== "pending") return false;
  if (window.matchMedia?.("(prefers-color-scheme: dark)").matches) return false;
  const b = (await invoke("boot", { tenant: storedTenant(), requests: firstRequestsQuery(route.status) })) as BootDto;
  const filled = fill(page.content.cloneNode(true) as DocumentFragment, avatars.content, b, Date.now());
  if (!filled) return false;
  root.replaceChildren(filled);
  return true;
}

function start(): void {
  const w = window as Prepaint;
  const main = (document.currentScript as HTMLScriptElement | null)?.dataset.main;
  const loadMain = () => {
    if (!main) return;
    const s = document.createElement("script");
    s.type = "module";
    s.crossOrigin = "";
    s.src = main;
    document.head.appendChild(s);
  };
  prepaint(w).then(
    (painted) => {
      if (!painted) return loadMain();
      // The page with its data is on screen two frames from now: the first
      // paint the app logs (as reportFirstPaint does for a React page). The
      // admin center loads after it, so its parsing does not hold that frame.
      w[PREPAINTED] = true;
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          w.__TAURI_INTERNALS__?.invoke("ui_ready", { page: "requests" }).catch(() => undefined);
          loadMain();
        }),
      );
    },
    () => loadMain(),
  );
}

if (typeof document !== "undefined" && document.currentScript) start();
