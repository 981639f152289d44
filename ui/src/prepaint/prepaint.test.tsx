// The static first paint shows what React then renders: the page rendered at
// build time (ssr.tsx), filled by prepaint.ts with the boot data, has the same
// header, rows (texts, labels, titles, classes) and footer as the React page.
import { screen } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { boot } from "../api/client";
import { firstRequestsQuery } from "../pages/requests/query";
import { TEST_NOW } from "../test/clock";
import { renderApp, setupMock } from "../test/utils";
import { avatarColorIndex, fill } from "./prepaint";
import { render as renderTemplate } from "./ssr";
import { AVATAR_COLORS } from "./shared";

function fragment(html: string): DocumentFragment {
  const t = document.createElement("template");
  t.innerHTML = html;
  return t.content;
}

/** What a person sees of a page (and what tests and assistive tech read). The
 * organization picker is a chunk of its own that React shows when it has loaded;
 * the first paint keeps its place empty, so only that place is compared. */
function look(root: ParentNode) {
  const header = root.querySelector("header");
  const withoutPicker = header?.cloneNode(true) as HTMLElement | undefined;
  withoutPicker?.querySelectorAll(":scope > div:not([aria-label])").forEach((e) => e.remove());
  const caption = Array.from(root.querySelectorAll("[aria-live='polite']")).find((e) =>
    e.textContent?.startsWith("Showing"),
  );
  const avatar = header?.querySelector(".fui-Avatar");
  const rows = Array.from(root.querySelectorAll("tbody tr")).map((tr) => ({
    id: tr.getAttribute("data-request-id"),
    className: tr.className,
    cells: Array.from(tr.querySelectorAll("td")).map((td) => ({
      text: td.textContent,
      labels: Array.from(td.querySelectorAll("[aria-label]")).map((e) => e.getAttribute("aria-label")),
      titles: Array.from(td.querySelectorAll("[title]")).map((e) => e.getAttribute("title")),
      classes: Array.from(td.querySelectorAll("span, div, button")).map((e) => e.className),
      testids: Array.from(td.querySelectorAll("[data-testid]")).map((e) => e.getAttribute("data-testid")),
    })),
  }));
  return {
    header: withoutPicker?.textContent,
    user: header?.querySelector("[aria-label^='Signed in as']")?.getAttribute("aria-label"),
    avatar: avatar?.className,
    initials: avatar?.textContent,
    // (React's server render leaves a <template> where the picker suspended: never shown.)
    headerChildren: Array.from(header?.children ?? []).filter((e) => e.tagName !== "TEMPLATE").length,
    rows,
    footer: caption?.parentElement?.textContent,
  };
}

describe("static first paint", () => {
  beforeEach(() => {
    // React's server render under jsdom warns about every layout effect.
    const error = console.error.bind(console);
    vi.spyOn(console, "error").mockImplementation((m: unknown, ...rest: unknown[]) => {
      if (typeof m === "string" && m.includes("useLayoutEffect does nothing on the server")) return;
      error(m, ...rest);
    });
  });

  it("fills the build-time page with the boot data as React renders it", async () => {
    window.location.hash = "#/requests";
    const page = await renderTemplate();
    setupMock();
    const b = await boot(null, firstRequestsQuery(undefined));
    expect(b.requests?.items.length).toBeGreaterThan(0);
    // The tests' clock stands at TEST_NOW (setup.ts), for React's render too.
    const painted = fill(fragment(page.html), fragment(page.avatars), b, TEST_NOW);
    expect(painted).not.toBeNull();
    if (!painted) return;

    const { container } = await renderApp("#/requests");
    await screen.findByRole("table", { name: "Service requests" });
    // Compare with the page as it settles: the picker's chunk loaded too.
    await screen.findByRole("combobox", { name: "Organization" });
    const react = look(container);
    expect(react.rows.length).toBe(b.requests?.items.length);
    expect(look(painted)).toEqual(react);
  });

  it("picks Fluent's colorful avatar colour", () => {
    // react-avatar hashes the name the same way; "admin" is the benchmark's user.
    expect(AVATAR_COLORS[avatarColorIndex("admin")]).toBeDefined();
    expect(avatarColorIndex("")).toBe(0);
  });

  it("paints nothing for an empty list or an archive", async () => {
    window.location.hash = "#/requests";
    const page = await renderTemplate();
    setupMock();
    const b = await boot(null, firstRequestsQuery(undefined));
    const empty = { ...b, requests: { items: [], next_cursor: null, total: 0 } };
    expect(fill(fragment(page.html), fragment(page.avatars), empty, TEST_NOW)).toBeNull();
    const archive = { ...b, session: { ...b.session, archive: {} as never } };
    expect(fill(fragment(page.html), fragment(page.avatars), archive, TEST_NOW)).toBeNull();
  });
});
