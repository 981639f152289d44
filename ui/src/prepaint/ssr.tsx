// Build time only (scripts/prepaint.mjs, under Node): renders the real admin
// center (the same components, styles and theme) opening on Service requests,
// with placeholder data, to HTML plus the CSS Griffel generated for it. The
// HTML becomes index.html's static first paint: template rows (one per state)
// that prepaint.ts fills with the engine's data before React and Fluent load.
import {
  Avatar,
  createDOMRenderer,
  RendererProvider,
  renderToStyleElements,
  SSRProvider,
} from "@fluentui/react-components";
import { renderToStaticMarkup, renderToString } from "react-dom/server";
import { App } from "../App";
import { setTransport } from "../api/client";
import type { BootDto } from "../bindings/BootDto";
import type { RequestDto } from "../bindings/RequestDto";
import type { RequestState } from "../bindings/RequestState";
import { startBoot } from "../boot";
import { ServiceRequestsPage } from "../pages";
import { firstRequestsQuery, REQUEST_STATES } from "../pages/requests/query";
import { AVATAR_COLORS } from "./shared";

function row(i: number, state: RequestState, now: number, urgent = false): RequestDto {
  const iso = (ms: number) => new Date(now + ms).toISOString();
  const live = state === "pending" || state === "awaiting_provider";
  return {
    id: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
    tenant: "t1",
    state,
    case: "CASE",
    workload: "WORKLOAD",
    resource: "RESOURCE",
    reason: "",
    requester: "REQUESTER",
    requested_duration_s: 3600,
    granted_duration_s: state === "approved" ? 3600 : null,
    created_at: iso(-3600_000),
    expires_at: iso(urgent ? 5 * 60_000 : 3 * 3600_000),
    approved_at: state === "approved" ? iso(-60_000) : null,
    access_ends_at: state === "approved" ? iso(3600_000) : null,
    closed_at: live || state === "approved" ? null : iso(-60_000),
    approvals_required: 1,
    provider_approvals_required: 0,
    lockbox_required: true,
    decisions: [],
  };
}

/** The page's HTML (the inside of #root) and the CSS it needs, light theme. */
export async function render(): Promise<{ html: string; css: string; avatars: string }> {
  // The shell reads its route from the address: under Node, a window without
  // a document (Fluent renders for the server when there is none).
  const g = globalThis as { window?: unknown };
  const noWindow = g.window === undefined;
  if (noWindow) g.window = { location: { hash: "#/requests" } };
  const now = Date.now();
  const items = [...REQUEST_STATES.map((s, i) => row(i, s, now)), row(REQUEST_STATES.length, "pending", now, true)];
  const boot: BootDto = {
    session: {
      user: "USER",
      role: "admin",
      // Two: the header then holds the organization picker's place.
      tenants: [
        { id: "t1", name: "T1", created_at: new Date(now).toISOString() },
        { id: "t2", name: "T2", created_at: new Date(now).toISOString() },
      ],
    },
    tenant: "t1",
    requests: { items, next_cursor: "NEXT", total: 12345 },
  };
  setTransport({
    invoke: async (cmd) => {
      if (cmd === "boot") return boot;
      throw new Error(`not at build time: ${cmd}`);
    },
    listen: async () => () => undefined,
    saveDialog: async () => null,
  });
  await startBoot("t1", firstRequestsQuery(undefined));
  await ServiceRequestsPage.preload();
  const renderer = createDOMRenderer();
  const html = renderToString(
    <RendererProvider renderer={renderer}>
      <SSRProvider>
        <App boot={boot} />
      </SSRProvider>
    </RendererProvider>,
  );
  // One avatar per colour: the header's is picked by the user's name at run time.
  const avatars = renderToString(
    <RendererProvider renderer={renderer}>
      <SSRProvider>
        {AVATAR_COLORS.map((c) => (
          <Avatar key={c} name="USER" size={28} color={c} aria-hidden />
        ))}
      </SSRProvider>
    </RendererProvider>,
  );
  if (noWindow) delete g.window;
  const css = renderToStaticMarkup(<>{renderToStyleElements(renderer)}</>);
  return { html, css, avatars };
}
