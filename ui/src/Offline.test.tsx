import { screen, waitFor, within } from "@testing-library/react";
import userEvent, { PointerEventsCheckLevel } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { approveRequest, toErrorDto } from "./api/client";
import { formatDateTime } from "./lib/time";
import { renderApp, setupMock } from "./test/utils";

const user = () => userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
const SERVER = "https://lockbox.contoso.example";
const PULLED = "2025-03-09T08:15:00Z";

/** The mock connected to a team server (as after connect_server). */
function connected() {
  const m = setupMock();
  m.backend.connection = { state: "connected", server: SERVER, ca: null, person: "ana@contoso.example", replica_at: PULLED };
  return m;
}

const offlineBanner = () => screen.queryByRole("region", { name: "Server unreachable" });

describe("the team server unreachable", () => {
  it("says so in a banner, keeps Service requests and Audit readable, and disables decisions", async () => {
    const m = connected();
    const u = user();
    await renderApp("#/requests");
    expect(offlineBanner()).toBeNull();
    await screen.findByRole("table", { name: "Service requests" });

    m.backend.setOffline(true);
    const banner = await screen.findByRole("region", { name: "Server unreachable" });
    expect(within(banner).getByTestId("offline-text")).toHaveTextContent(
      `Can't reach ${SERVER}. Showing your copy of the audit log as of ${formatDateTime(PULLED)}; decisions are off until it's back.`,
    );
    // Not shown as an archive window: the admin center, its server, no archive banner.
    expect(screen.getByText("Lockbox admin center")).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Audit archive" })).toBeNull();
    expect(screen.getByLabelText(`Connected to ${SERVER}`)).toBeInTheDocument();
    // Service requests and Audit only.
    const nav = screen.getByRole("navigation", { name: "Navigation" });
    expect(
      within(nav)
        .getAllByRole("link")
        .map((l) => l.textContent),
    ).toEqual(["Service requests", "Audit"]);

    // The requests are readable; a pending one has no Approve or Reject.
    const table = await screen.findByRole("table", { name: "Service requests" });
    const all = m.backend.requests.get("contoso") ?? [];
    const pending = all.find((r) => r.state === "pending" && r.decisions.every((d) => d.level !== "customer"));
    if (!pending) throw new Error("the mock has a pending request");
    await waitFor(() => expect(within(table).getAllByRole("row").length).toBeGreaterThan(1));
    await u.click(screen.getByRole("button", { name: new RegExp(`\\(${pending.case}\\)`) }));
    const drawer = await screen.findByRole("dialog");
    await within(drawer).findByText(pending.reason);
    expect(within(drawer).getByText("The server can't be reached: decisions are off until it's back.")).toBeInTheDocument();
    expect(within(drawer).queryByRole("button", { name: "Approve" })).toBeNull();
    expect(within(drawer).queryByRole("button", { name: "Reject" })).toBeNull();
    // A decision sent anyway is refused, saying why; nothing changed.
    const refused = await approveRequest("contoso", pending.id, "x", 3600).catch(toErrorDto);
    expect(refused).toMatchObject({ code: "store_unavailable" });
    expect(m.backend.requests.get("contoso")?.find((r) => r.id === pending.id)?.state).toBe("pending");

    // Audit is readable, and says whose copy it shows (not an archive's words).
    window.location.hash = "#/audit";
    await screen.findByRole("table", { name: "Audit history" });
    expect(screen.getByText(/This device's copy of the server's audit log, read-only/)).toBeInTheDocument();
    expect(screen.queryByText(/The audit log of this archive/)).toBeNull();
  });

  it("goes when the server is back, and the pages load again", async () => {
    const m = connected();
    m.backend.setOffline(true);
    await renderApp("#/requests");
    await screen.findByRole("region", { name: "Server unreachable" });
    const sessions = m.calls("session").length;

    m.backend.setOffline(false);
    await waitFor(() => expect(offlineBanner()).toBeNull());
    await waitFor(() => expect(m.calls("session").length).toBeGreaterThan(sessions));
    const nav = screen.getByRole("navigation", { name: "Navigation" });
    await waitFor(() => expect(within(nav).getByText("Home")).toBeInTheDocument());
    await screen.findByRole("table", { name: "Service requests" });
    expect(within(nav).getByText("Org settings")).toBeInTheDocument();
  });

  it("says when it has no time for the copy", async () => {
    const m = connected();
    m.backend.connection = { ...m.backend.connection, replica_at: null };
    m.backend.setOffline(true);
    await renderApp("#/audit");
    const banner = await screen.findByRole("region", { name: "Server unreachable" });
    expect(within(banner).getByTestId("offline-text")).toHaveTextContent(
      `Can't reach ${SERVER}. Showing your copy of the audit log as last pulled; decisions are off until it's back.`,
    );
  });
});
