import { shortId } from "../lib/time";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { RequestDto } from "../bindings/RequestDto";
import { TEST_NOW, testIso } from "../test/clock";
import { renderApp, setupMock } from "../test/utils";
import { EVENT_COALESCE_MS } from "../lib/hooks";
import { keepUnchanged } from "./ServiceRequestsPage";

function setVisibility(state: "visible" | "hidden") {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  document.dispatchEvent(new Event("visibilitychange"));
}

const user = () => userEvent.setup({ delay: null });

function lastQuery(calls: Array<Record<string, unknown>>) {
  return calls.at(-1)?.query as Record<string, unknown>;
}

async function openRequest(r: RequestDto) {
  const u = user();
  await u.click(await screen.findByRole("button", { name: `Open request ${shortId(r.id)} (${r.case})` }));
  const drawer = await screen.findByRole("dialog", { name: `Request ${shortId(r.id)} details` });
  await within(drawer).findByText(r.reason);
  return { u, drawer };
}

/** A pending request that one approval decides, asking for 4 hours. */
function pendingRequest(backend: ReturnType<typeof setupMock>["backend"]): RequestDto {
  const r = (backend.requests.get("contoso") ?? []).find((x) => x.state === "pending" && x.approvals_required === 1);
  if (!r) throw new Error("seed has no pending request");
  r.requested_duration_s = 4 * 3600;
  return r;
}

describe("Service requests grid", () => {
  it("loads pending requests first with the default query", async () => {
    const m = setupMock();
    await renderApp("#/requests");
    await screen.findByRole("table", { name: "Service requests" });
    expect(m.calls("list_requests")[0]).toEqual({
      tenant: "contoso",
      query: { states: ["pending"], search: null, sort: "newest", cursor: null, limit: 20 },
    });
    const rows = within(screen.getByRole("table", { name: "Service requests" })).getAllByRole("row");
    expect(rows).toHaveLength(1 + 5); // header + 5 pending
    expect(screen.getAllByText("Pending", { selector: "[data-state] , [data-state] *" }).length).toBeGreaterThan(0);
  });

  it("sends the status filter, sort and search as query args", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/requests");
    await screen.findByRole("table", { name: "Service requests" });

    await u.click(screen.getByRole("combobox", { name: "Status" }));
    await u.click(await screen.findByRole("option", { name: "Approved" }));
    await waitFor(() => expect(lastQuery(m.calls("list_requests")).states).toEqual(["approved"]));
    await waitFor(() =>
      expect(within(screen.getByRole("table", { name: "Service requests" })).getAllByRole("row")).toHaveLength(1 + 3),
    );

    await u.click(screen.getByRole("combobox", { name: "Sort by" }));
    await u.click(await screen.findByRole("option", { name: "Expires soonest" }));
    await waitFor(() =>
      expect(lastQuery(m.calls("list_requests"))).toMatchObject({ states: ["approved"], sort: "expires_soonest" }),
    );

    const target = (m.backend.requests.get("contoso") ?? []).find((r) => r.state === "approved") as RequestDto;
    await u.type(screen.getByRole("searchbox", { name: "Search requests" }), target.case);
    await waitFor(() =>
      expect(lastQuery(m.calls("list_requests"))).toEqual({
        states: ["approved"],
        search: target.case,
        sort: "expires_soonest",
        cursor: null,
        limit: 20,
      }),
    );
    await waitFor(() =>
      expect(within(screen.getByRole("table", { name: "Service requests" })).getAllByRole("row")).toHaveLength(2),
    );
    expect(screen.getByText(target.case)).toBeInTheDocument();
  });

  it("shows All requests and pages with next_cursor", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/requests?status=all");
    await screen.findByRole("table", { name: "Service requests" });
    expect(lastQuery(m.calls("list_requests")).states).toBeNull();
    expect(screen.getByText("Showing 20 of 25")).toBeInTheDocument();
    await u.click(screen.getByRole("button", { name: "Load more" }));
    await screen.findByText("Showing 25 of 25");
    const more = m.calls("list_requests").at(-1) as { query: { cursor: string } };
    const table = screen.getByRole("table", { name: "Service requests" });
    const ids = within(table)
      .getAllByRole("row")
      .slice(1)
      .map((r) => r.getAttribute("data-request-id"));
    // The cursor is the engine's "<sort key>:<id>" of the last row shown.
    expect(more.query.cursor).toMatch(new RegExp(`^\\d+:${ids[19]}$`));
    expect(new Set(ids).size).toBe(25);
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });

  it("shows the empty state when there are no requests", async () => {
    setupMock({ empty: true });
    await renderApp("#/requests");
    await waitFor(() =>
      expect(screen.getByRole("status")).toHaveTextContent("No lockbox requests yet. Try lockbox demo."),
    );
  });

  it("shows an error when the list can't be loaded", async () => {
    setupMock({}, { list_requests: { code: "store_unavailable", message: "Database is locked." } });
    await renderApp("#/requests");
    expect(await screen.findByText("Database is locked.")).toBeInTheDocument();
  });

  it("refetches on a change event for this tenant only", async () => {
    const m = setupMock();
    await renderApp("#/requests");
    await screen.findByRole("table", { name: "Service requests" });
    await waitFor(() => expect(m.listen).toHaveBeenCalled());
    const n = m.calls("list_requests").length;
    m.backend.emit("requests_changed", "fabrikam");
    await new Promise((r) => setTimeout(r, 50));
    expect(m.calls("list_requests")).toHaveLength(n);
    m.backend.emit("requests_changed", "contoso");
    await waitFor(() => expect(m.calls("list_requests").length).toBe(n + 1));
  });

  it("coalesces a burst of change events into one refetch", async () => {
    const m = setupMock();
    await renderApp("#/requests");
    await screen.findByRole("table", { name: "Service requests" });
    await waitFor(() => expect(m.listen).toHaveBeenCalled());
    const n = m.calls("list_requests").length;
    for (let i = 0; i < 10; i++) m.backend.emit("requests_changed", "contoso");
    await waitFor(() => expect(m.calls("list_requests").length).toBe(n + 1));
    await new Promise((r) => setTimeout(r, EVENT_COALESCE_MS + 300));
    expect(m.calls("list_requests")).toHaveLength(n + 1);
  });

  it("refetches nothing while the window is hidden, and once when it is shown", async () => {
    const m = setupMock();
    await renderApp("#/requests");
    await screen.findByRole("table", { name: "Service requests" });
    await waitFor(() => expect(m.listen).toHaveBeenCalled());
    const n = m.calls("list_requests").length;
    setVisibility("hidden");
    try {
      for (let i = 0; i < 5; i++) m.backend.emit("requests_changed", "contoso");
      await new Promise((r) => setTimeout(r, EVENT_COALESCE_MS + 300));
      expect(m.calls("list_requests")).toHaveLength(n);
    } finally {
      setVisibility("visible");
    }
    await waitFor(() => expect(m.calls("list_requests").length).toBe(n + 1));
    await new Promise((r) => setTimeout(r, EVENT_COALESCE_MS + 300));
    expect(m.calls("list_requests")).toHaveLength(n + 1);
  });

  it("keeps the objects of requests that did not change, so their rows do not render again", () => {
    const a = { id: "a", state: "pending" } as RequestDto;
    const b = { id: "b", state: "pending" } as RequestDto;
    const shown = [a, b];
    expect(keepUnchanged(shown, [{ ...a }, { ...b }])).toBe(shown);
    const changed = keepUnchanged(shown, [{ ...a }, { ...b, state: "expired" }]);
    expect(changed[0]).toBe(a);
    expect(changed[1]).not.toBe(b);
    expect(changed[1]?.state).toBe("expired");
    const fewer = keepUnchanged(shown, [{ ...b }]);
    expect(fewer).toEqual([b]);
    expect(fewer[0]).toBe(b);
  });

  it("counts down and refetches when a request expires", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    r.expires_at = testIso(1000);
    await renderApp("#/requests");
    const row = (await screen.findByRole("button", { name: new RegExp(`Open request ${shortId(r.id)}`) })).closest("tr") as HTMLElement;
    // The clock stands still at TEST_NOW, however long rendering took.
    expect(within(row).getByTestId("countdown")).toHaveTextContent(/^Expires in 0m 01s$/);
    const before = m.calls("list_requests").length;
    // Move the clock past the deadline. The page's timer for it fires (it waits
    // again while the clock has not reached the deadline) and refetches; the
    // engine, on the same clock, has expired the request, so the Pending list
    // no longer has it.
    vi.setSystemTime(TEST_NOW + 2000);
    await waitFor(() => expect(m.calls("list_requests").length).toBeGreaterThan(before), { timeout: 8000 });
    await waitFor(() => expect(screen.queryByRole("button", { name: new RegExp(`Open request ${shortId(r.id)}`) })).not.toBeInTheDocument());
  });
});

describe("Request details and decisions", () => {
  it("shows every field, decisions and the audit timeline", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { drawer } = await openRequest(r);
    const d = within(drawer);
    expect(d.getByText(r.id)).toBeInTheDocument();
    expect(d.getByText(r.resource)).toBeInTheDocument();
    expect(d.getByText("4 hours")).toBeInTheDocument();
    expect(m.calls("request_audit")).toContainEqual({ tenant: "contoso", id: r.id });
    const timeline = d.getByRole("list", { name: "Audit timeline" });
    expect(within(timeline).getByText("Request created")).toBeInTheDocument();
    expect(within(timeline).getByText(/^Case CASE-\d+ · .* · requested \d+ hours? · expires .* · Reason: /)).toBeInTheDocument();
    expect(timeline.textContent).not.toMatch(/[{}]|":/);
    expect(d.getByRole("button", { name: "Approve" })).toBeEnabled();
    expect(d.getByRole("button", { name: "Reject" })).toBeEnabled();
    expect(d.queryByRole("button", { name: "Revoke access" })).not.toBeInTheDocument();
  });

  it("Approve sends the comment and the shorter duration", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { u, drawer } = await openRequest(r);
    await u.click(within(drawer).getByRole("button", { name: "Approve" }));
    const dialog = await screen.findByRole("dialog", { name: "Approve request" });
    const select = within(dialog).getByRole("combobox", { name: /Access duration/ });
    // Only choices shorter than the 4 h requested are offered.
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "As requested (4 hours)",
      "15 minutes",
      "30 minutes",
      "1 hour",
      "2 hours",
    ]);
    await u.selectOptions(select, "3600");
    await u.type(within(dialog).getByRole("textbox", { name: /Comment/ }), "Looks fine");
    await u.click(within(dialog).getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Approve request" })).not.toBeInTheDocument());
    expect(m.calls("approve_request")).toEqual([{ tenant: "contoso", id: r.id, comment: "Looks fine", durationS: 3600 }]);
    await within(drawer).findByRole("button", { name: "Revoke access" });
    expect(await screen.findByText(/^Approved\. Access ends /)).toBeInTheDocument();
    expect(m.backend.requests.get("contoso")?.find((x) => x.id === r.id)?.granted_duration_s).toBe(3600);
  });

  it("Approve as requested sends a null duration and null comment", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { u, drawer } = await openRequest(r);
    await u.click(within(drawer).getByRole("button", { name: "Approve" }));
    const dialog = await screen.findByRole("dialog", { name: "Approve request" });
    await u.click(within(dialog).getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(m.calls("approve_request")).toEqual([{ tenant: "contoso", id: r.id, comment: null, durationS: null }]));
  });

  it("Cancel in the Approve dialog sends nothing", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { u, drawer } = await openRequest(r);
    await u.click(within(drawer).getByRole("button", { name: "Approve" }));
    const dialog = await screen.findByRole("dialog", { name: "Approve request" });
    await u.type(within(dialog).getByRole("textbox", { name: /Comment/ }), "never mind");
    await u.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Approve request" })).not.toBeInTheDocument());
    expect(m.calls("approve_request")).toHaveLength(0);
    expect(m.backend.requests.get("contoso")?.find((x) => x.id === r.id)?.state).toBe("pending");
  });

  it("returns focus into the panel after approving, so Escape still closes it", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { u, drawer } = await openRequest(r);
    await u.click(within(drawer).getByRole("button", { name: "Approve" }));
    const dialog = await screen.findByRole("dialog", { name: "Approve request" });
    await u.click(within(dialog).getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Approve request" })).not.toBeInTheDocument());
    // The Approve button is gone (the request is approved now): focus lands in the panel instead.
    await within(drawer).findByRole("button", { name: "Revoke access" });
    expect(within(drawer).getByRole("heading", { level: 2 })).toHaveFocus();
    await u.keyboard("{Escape}");
    await waitFor(() =>
      expect(screen.queryByRole("dialog", { name: `Request ${shortId(r.id)} details` })).not.toBeInTheDocument(),
    );
  });

  it("returns focus to the button that opened a canceled dialog", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { u, drawer } = await openRequest(r);
    const reject = within(drawer).getByRole("button", { name: "Reject" });
    await u.click(reject);
    const dialog = await screen.findByRole("dialog", { name: "Reject request" });
    await u.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Reject request" })).not.toBeInTheDocument());
    expect(reject).toHaveFocus();
    await u.keyboard("{Escape}");
    await waitFor(() =>
      expect(screen.queryByRole("dialog", { name: `Request ${shortId(r.id)} details` })).not.toBeInTheDocument(),
    );
  });

  it("returns focus into the panel after revoking, so Escape still closes it", async () => {
    const m = setupMock();
    const r = (m.backend.requests.get("contoso") ?? []).find((x) => x.state === "approved") as RequestDto;
    await renderApp("#/requests?status=approved");
    const { u, drawer } = await openRequest(r);
    await u.click(within(drawer).getByRole("button", { name: "Revoke access" }));
    const dialog = await screen.findByRole("dialog", { name: "Revoke access" });
    await u.click(within(dialog).getByRole("button", { name: "Revoke access" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Revoke access" })).not.toBeInTheDocument());
    await waitFor(() => expect(within(drawer).queryByRole("button", { name: "Revoke access" })).not.toBeInTheDocument());
    expect(within(drawer).getByRole("heading", { level: 2 })).toHaveFocus();
    await u.keyboard("{Escape}");
    await waitFor(() =>
      expect(screen.queryByRole("dialog", { name: `Request ${shortId(r.id)} details` })).not.toBeInTheDocument(),
    );
  });

  it("shows the engine's message when approval is refused, and keeps the dialog", async () => {
    const m = setupMock({}, {
      approve_request: { code: "invalid_transition", message: "Megan Bowen rejected this request a moment ago." },
    });
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { u, drawer } = await openRequest(r);
    await u.click(within(drawer).getByRole("button", { name: "Approve" }));
    const dialog = await screen.findByRole("dialog", { name: "Approve request" });
    await u.click(within(dialog).getByRole("button", { name: "Approve" }));
    const alert = await within(dialog).findByRole("alert");
    expect(alert).toHaveTextContent("Megan Bowen rejected this request a moment ago.");
    expect(m.calls("approve_request")).toHaveLength(1);
    expect(screen.getByRole("dialog", { name: "Approve request" })).toBeInTheDocument();
    expect(within(dialog).getByRole("button", { name: "Approve" })).toBeEnabled();
  });

  it("Reject sends the comment and closes the request", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { u, drawer } = await openRequest(r);
    await u.click(within(drawer).getByRole("button", { name: "Reject" }));
    const dialog = await screen.findByRole("dialog", { name: "Reject request" });
    await u.type(within(dialog).getByRole("textbox", { name: /Comment/ }), "Not during quarter close");
    await u.click(within(dialog).getByRole("button", { name: "Reject" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Reject request" })).not.toBeInTheDocument());
    expect(m.calls("reject_request")).toEqual([{ tenant: "contoso", id: r.id, comment: "Not during quarter close" }]);
    expect(await within(drawer).findByText("Not during quarter close")).toBeInTheDocument();
    expect(within(drawer).queryByRole("button", { name: "Approve" })).not.toBeInTheDocument();
  });

  it("Cancel in the Reject dialog sends nothing", async () => {
    const m = setupMock();
    const r = pendingRequest(m.backend);
    await renderApp("#/requests");
    const { u, drawer } = await openRequest(r);
    await u.click(within(drawer).getByRole("button", { name: "Reject" }));
    const dialog = await screen.findByRole("dialog", { name: "Reject request" });
    await u.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Reject request" })).not.toBeInTheDocument());
    expect(m.calls("reject_request")).toHaveLength(0);
  });

  it("Revoke access is offered only for approved requests and sends revoke_request", async () => {
    const m = setupMock();
    const r = (m.backend.requests.get("contoso") ?? []).find((x) => x.state === "approved") as RequestDto;
    await renderApp("#/requests?status=approved");
    const { u, drawer } = await openRequest(r);
    expect(within(drawer).queryByRole("button", { name: "Approve" })).not.toBeInTheDocument();
    await u.click(within(drawer).getByRole("button", { name: "Revoke access" }));
    const dialog = await screen.findByRole("dialog", { name: "Revoke access" });
    await u.click(within(dialog).getByRole("button", { name: "Revoke access" }));
    await waitFor(() => expect(m.calls("revoke_request")).toEqual([{ tenant: "contoso", id: r.id, comment: null }]));
    await waitFor(() => expect(within(drawer).queryByRole("button", { name: "Revoke access" })).not.toBeInTheDocument());
    expect(within(drawer).getByText("Revoked", { selector: "[data-state] , [data-state] *" })).toBeInTheDocument();
  });
});
