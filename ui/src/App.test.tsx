import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { shortId } from "./lib/time";
import { renderApp, setupMock } from "./test/utils";

const user = () => userEvent.setup({ delay: null });

describe("Layout", () => {
  it("shows the header, user and navigation", async () => {
    setupMock();
    await renderApp("#/home");
    expect(screen.getByRole("banner")).toHaveTextContent("Lockbox admin center");
    expect(screen.getByText("Alex Wilber")).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Navigation" });
    for (const name of ["Home", "Support", "Service requests", "Settings", "Org settings", "Audit"]) {
      expect(within(nav).getByText(name)).toBeInTheDocument();
    }
    expect(within(nav).getByRole("link", { name: "Home" })).toHaveAttribute("aria-current", "page");
  });

  it("navigates with the left nav", async () => {
    setupMock();
    const u = user();
    await renderApp("#/home");
    await u.click(screen.getByRole("link", { name: "Service requests" }));
    expect(await screen.findByRole("heading", { name: "Service requests" })).toBeInTheDocument();
    await u.click(screen.getByRole("link", { name: "Org settings" }));
    expect(await screen.findByRole("heading", { name: "Org settings" })).toBeInTheDocument();
    await u.click(screen.getByRole("link", { name: "Audit" }));
    expect(await screen.findByRole("heading", { name: "Audit" })).toBeInTheDocument();
  });

  it("offers a tenant switcher only with more than one tenant, and switching refetches", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/requests");
    await screen.findByRole("table", { name: "Service requests" });
    await u.click(await screen.findByRole("combobox", { name: "Organization" }));
    await u.click(await screen.findByRole("option", { name: "Fabrikam, Inc." }));
    await waitFor(() => expect(m.calls("list_requests").at(-1)?.tenant).toBe("fabrikam"));
    await waitFor(() =>
      expect(within(screen.getByRole("table", { name: "Service requests" })).getAllByRole("row")).toHaveLength(1 + 2),
    );
  });

  it("follows the shell's lockbox://navigate event (tray: Open requests)", async () => {
    const m = setupMock();
    await renderApp("#/home");
    await waitFor(() => expect(m.listen).toHaveBeenCalledWith("lockbox://navigate", expect.any(Function)));
    m.backend.emitNavigate("requests");
    expect(await screen.findByRole("heading", { name: "Service requests" })).toBeInTheDocument();
    expect(window.location.hash).toBe("#/requests");
  });

  it("a notification click opens its request's details, in the request's organization", async () => {
    const m = setupMock();
    await renderApp("#/home");
    await waitFor(() => expect(m.listen).toHaveBeenCalledWith("lockbox://navigate", expect.any(Function)));
    // A Fabrikam request while Contoso is shown: the link names its tenant.
    const r = (m.backend.requests.get("fabrikam") ?? []).find((x) => x.state === "expired" || x.state === "pending");
    if (!r) throw new Error("seed has no fabrikam request");
    const link = `requests?request=${encodeURIComponent(r.id)}&tenant=fabrikam`;
    m.backend.emitNavigate(link);
    const drawer = await screen.findByRole("dialog", { name: `Request ${shortId(r.id)} details` });
    await within(drawer).findByText(r.reason);
    expect(m.calls("get_request").at(-1)).toEqual({ tenant: "fabrikam", id: r.id });
    await waitFor(() => expect(m.calls("ui_shown")).toContainEqual({ route: `requests?request=${encodeURIComponent(r.id)}` }));
    expect(window.location.hash).toBe(`#/requests?request=${encodeURIComponent(r.id)}`);
    // The same link again, after the drawer was closed, opens it again.
    await user().keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog", { name: `Request ${shortId(r.id)} details` })).toBeNull());
    m.backend.emitNavigate(link);
    expect(await screen.findByRole("dialog", { name: `Request ${shortId(r.id)} details` })).toBeInTheDocument();
  });

  it("a burst's notification opens Service requests filtered to pending", async () => {
    const m = setupMock();
    await renderApp("#/audit");
    await waitFor(() => expect(m.listen).toHaveBeenCalledWith("lockbox://navigate", expect.any(Function)));
    m.backend.emitNavigate("requests?status=pending&tenant=contoso");
    expect(await screen.findByRole("heading", { name: "Service requests" })).toBeInTheDocument();
    await waitFor(() => expect(m.calls("ui_shown")).toContainEqual({ route: "requests?status=pending" }));
    expect((m.calls("list_requests").at(-1)?.query as { states: string[] }).states).toEqual(["pending"]);
  });

  it("hides the tenant switcher with a single tenant", async () => {
    setupMock({ singleTenant: true });
    await renderApp("#/home");
    expect(screen.queryByRole("combobox", { name: "Organization" })).not.toBeInTheDocument();
  });

  it("shows the session error when the engine can't start", async () => {
    setupMock({}, { session: { code: "store_unavailable", message: "Cannot open the Lockbox database." } });
    window.location.hash = "#/home";
    const { render } = await import("@testing-library/react");
    const { App } = await import("./App");
    render(<App />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Cannot open the Lockbox database.");
  });
});

describe("Home", () => {
  it("shows the four cards with the engine's numbers and a labelled chart", async () => {
    const m = setupMock();
    await renderApp("#/home");
    const overview = await screen.findByRole("region", { name: "Overview" });
    const stats = await m.mock.invoke("home_stats", { tenant: "contoso" }) as {
      pending: number; expiring_within_2h: number; active_grants: number; decisions_last_30d: number;
    };
    expect(within(overview).getByRole("group", { name: `Pending requests: ${stats.pending}` })).toBeInTheDocument();
    expect(within(overview).getByRole("group", { name: `Expiring within 2 h: ${stats.expiring_within_2h}` })).toBeInTheDocument();
    expect(within(overview).getByRole("group", { name: `Active access grants: ${stats.active_grants}` })).toBeInTheDocument();
    expect(
      within(overview).getByRole("group", { name: `Decisions in the last 30 days: ${stats.decisions_last_30d}` }),
    ).toBeInTheDocument();
    const chart = screen.getByRole("img", { name: /^Requests per day by outcome, last 30 days: \d+ approved, \d+ rejected, \d+ expired, \d+ canceled\.$/ });
    expect(chart.querySelectorAll("g[data-day]")).toHaveLength(30);
    const legend = screen.getByRole("list", { name: "Legend" });
    expect(within(legend).getAllByRole("listitem").map((li) => li.textContent?.replace(/ \(\d+\)$/, ""))).toEqual([
      "Approved",
      "Rejected",
      "Expired",
      "Canceled",
    ]);
  });

  it("a card link opens the filtered requests page", async () => {
    setupMock();
    const u = user();
    await renderApp("#/home");
    await u.click(await screen.findByRole("link", { name: "View active access" }));
    expect(await screen.findByRole("heading", { name: "Service requests" })).toBeInTheDocument();
    expect(screen.getByRole("combobox", { name: "Status" })).toHaveTextContent("Approved");
  });
});
