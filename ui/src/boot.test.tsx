import { render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { startBoot } from "./boot";
import { firstRequestsQuery } from "./pages/requests/query";
import { setupMock } from "./test/utils";

// The cold-start path of main.tsx: one `boot` call for the session and the first
// page of requests, then one render with both.
async function bootAndRender(hash: string, tenant: string | null = null) {
  window.location.hash = hash;
  const b = await startBoot(tenant, firstRequestsQuery(undefined));
  render(<App boot={b} />);
  return b;
}

describe("cold start (boot)", () => {
  it("renders Service requests from the boot data, with no session or list round trip", async () => {
    const m = setupMock();
    const b = await bootAndRender("#/requests");
    expect(m.calls("boot")).toEqual([
      { tenant: null, requests: { states: ["pending"], search: null, sort: "newest", cursor: null, limit: 20 } },
    ]);
    expect(b.tenant).toBe("contoso");
    const table = await screen.findByRole("table", { name: "Service requests" });
    expect(within(table).getAllByRole("row")).toHaveLength(1 + 5);
    expect(screen.getByText("Lockbox admin center")).toBeInTheDocument();
    // The page reports its first paint; it never asked again for what boot gave it.
    await waitFor(() => expect(m.calls("ui_ready")).toEqual([{ page: "requests" }]));
    expect(m.calls("session")).toEqual([]);
    expect(m.calls("list_requests")).toEqual([]);
  });

  it("fetches afresh when a change was notified after the boot read", async () => {
    const m = setupMock();
    window.location.hash = "#/requests";
    const b = await startBoot(null, firstRequestsQuery(undefined));
    m.backend.emit("requests_changed", "contoso");
    await new Promise((r) => setTimeout(r, 10));
    render(<App boot={b} />);
    await screen.findByRole("table", { name: "Service requests" });
    await waitFor(() => expect(m.calls("list_requests")).toHaveLength(1));
  });

  it("uses the remembered tenant when the user still belongs to it", async () => {
    const m = setupMock();
    const b = await bootAndRender("#/requests", "fabrikam");
    expect(b.tenant).toBe("fabrikam");
    await screen.findByRole("table", { name: "Service requests" });
    expect(screen.getByRole("combobox", { name: "Organization" })).toHaveTextContent(/Fabrikam/i);
    expect(m.calls("list_requests")).toEqual([]);
  });
});
