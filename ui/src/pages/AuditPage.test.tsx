import { screen, waitFor, within } from "@testing-library/react";
import userEvent, { PointerEventsCheckLevel } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderApp, setupMock } from "../test/utils";

const user = () => userEvent.setup({ delay: null });

const EMPTY = { since: null, until: null, request_id: null, actor: null, operation: null, text: null, before_seq: null };

async function openAudit() {
  await renderApp("#/audit");
  return screen.findByRole("table", { name: "Audit history" });
}

describe("Audit history", () => {
  it("loads the newest entries with an empty query", async () => {
    const m = setupMock();
    const table = await openAudit();
    expect(m.calls("query_audit")[0]).toEqual({ tenant: "contoso", query: { ...EMPTY, limit: 50 } });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(50);
    const newest = Math.max(...m.backend.audit.filter((e) => e.tenant === "contoso").map((e) => e.seq));
    expect(within(rows[0] as HTMLElement).getByRole("button", { name: `Show entry ${newest}` })).toBeInTheDocument();
  });

  it("sends every filter as query_audit args", async () => {
    const m = setupMock();
    const u = user();
    await openAudit();
    await u.type(screen.getByRole("combobox", { name: "From" }), "2025-03-01");
    await u.type(screen.getByRole("combobox", { name: "To" }), "2025-03-05");
    await u.click(screen.getByRole("combobox", { name: "Operation" }));
    await u.click(await screen.findByRole("option", { name: "Approved" }));
    await u.type(screen.getByRole("textbox", { name: "Actor" }), "megan");
    await u.type(screen.getByRole("textbox", { name: "Request ID" }), "849d73eb");
    await u.type(screen.getByRole("searchbox", { name: "Search audit details" }), "quarter");
    await waitFor(() =>
      expect(m.calls("query_audit").at(-1)).toEqual({
        tenant: "contoso",
        query: {
          since: "2025-03-01T00:00:00Z",
          until: "2025-03-06T00:00:00Z",
          request_id: "849d73eb",
          actor: "megan",
          operation: "approved",
          text: "quarter",
          before_seq: null,
          limit: 50,
        },
      }),
    );
  });

  it("narrows the table to an operation and pages with next_before_seq", async () => {
    const m = setupMock();
    const u = user();
    await openAudit();
    await u.click(screen.getByRole("combobox", { name: "Operation" }));
    await u.click(await screen.findByRole("option", { name: "Content accessed" }));
    await waitFor(() => expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ operation: "access_used" }));
    const expected = m.backend.audit.filter((e) => e.tenant === "contoso" && e.operation === "access_used");
    expect(expected.length).toBeGreaterThan(50);
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Audit history" })).getAllByRole("row")).toHaveLength(51));
    const shown = within(screen.getByRole("table", { name: "Audit history" })).getAllByRole("row").slice(1);
    const lastSeq = Number(within(shown.at(-1) as HTMLElement).getByRole("button").textContent);
    await u.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() =>
      expect(within(screen.getByRole("table", { name: "Audit history" })).getAllByRole("row")).toHaveLength(1 + expected.length),
    );
    expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ operation: "access_used", before_seq: lastSeq });
  });

  it("filters by typed days (YYYY-MM-DD, local days) and keeps them when leaving the field", async () => {
    const m = setupMock();
    const u = user();
    await openAudit();
    const from = screen.getByRole("combobox", { name: "From" });
    const to = screen.getByRole("combobox", { name: "To" });
    await u.type(from, "2025-03-02");
    await u.tab();
    await u.type(to, "2025-03-04");
    await u.tab();
    expect(from).toHaveValue("2025-03-02");
    expect(to).toHaveValue("2025-03-04");
    await waitFor(() =>
      expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ since: "2025-03-02T00:00:00Z", until: "2025-03-05T00:00:00Z" }),
    );
    const expected = m.backend.audit.filter(
      (e) => e.tenant === "contoso" && e.at >= "2025-03-02T00:00:00Z" && e.at < "2025-03-05T00:00:00Z",
    );
    expect(expected.length).toBeGreaterThan(0);
    await waitFor(() =>
      expect(screen.getByRole("table", { name: "Audit history" }).querySelectorAll("tbody tr")).toHaveLength(
        Math.min(expected.length, 50),
      ),
    );

    await u.click(screen.getByRole("button", { name: "Clear filters" }));
    await waitFor(() => expect(screen.getByRole("combobox", { name: "From" })).toHaveValue(""));
    expect(screen.getByRole("combobox", { name: "To" })).toHaveValue("");
    await waitFor(() => expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ since: null, until: null }));
  });

  it("filters by days picked from the calendar", async () => {
    const m = setupMock();
    // The calendar is a large grid: skip user-event's per-event pointer-events walk (as the settings tests do).
    const u = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
    await openAudit();
    const from = screen.getByRole("combobox", { name: "From" });
    const to = screen.getByRole("combobox", { name: "To" });
    // Label queries, not role queries: those walk the whole page (50 table rows
    // and a 6-week calendar) on every poll, which is slow in jsdom on a busy machine.
    const calendar = () => document.querySelector<HTMLElement>('[role="dialog"][aria-label="Calendar"]');
    const pick = async (field: HTMLElement, day: string) => {
      await u.click(field);
      await u.keyboard("{ArrowDown}");
      await waitFor(() => expect(calendar()).not.toBeNull());
      const c = within(calendar() as HTMLElement);
      // The calendar opens on the test clock's month (TEST_NOW is 2025-03-10).
      expect(c.getByLabelText(/^March 2025, Selected date .*, Today's date March 10, 2025$/)).toHaveAttribute("role", "grid");
      await u.click(c.getByLabelText(day));
      await waitFor(() => expect(calendar()).toBeNull());
    };
    await pick(from, "3, March, 2025");
    expect(from).toHaveValue("2025-03-03");
    await pick(to, "5, March, 2025");
    expect(to).toHaveValue("2025-03-05");
    // The same query as typing the days: local midnight to the midnight after the last day.
    await waitFor(() =>
      expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ since: "2025-03-03T00:00:00Z", until: "2025-03-06T00:00:00Z" }),
    );
  });

  it("puts back the previous day when typed text isn't a date, and says so", async () => {
    const m = setupMock();
    const u = user();
    await openAudit();
    const from = screen.getByRole("combobox", { name: "From" });
    await u.type(from, "2025-03-02");
    await u.tab();
    await waitFor(() => expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ since: "2025-03-02T00:00:00Z" }));
    await u.clear(from);
    await u.type(from, "2025-13-01");
    await u.tab();
    expect(await screen.findByText("“2025-13-01” isn't a date. Enter a date as YYYY-MM-DD.")).toBeInTheDocument();
    expect(from).toHaveValue("2025-03-02");
    await new Promise((r) => setTimeout(r, 400));
    expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ since: "2025-03-02T00:00:00Z" });
    await u.clear(from);
    await u.type(from, "2025-03-03");
    await waitFor(() => expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ since: "2025-03-03T00:00:00Z" }));
    expect(screen.queryByText(/isn't a date/)).not.toBeInTheDocument();
  });

  it("refuses bad dates and a reversed range without querying", async () => {
    const m = setupMock();
    const u = user();
    await openAudit();
    const n = m.calls("query_audit").length;
    await u.type(screen.getByRole("combobox", { name: "From" }), "2025-03-09");
    await waitFor(() => expect(m.calls("query_audit").length).toBe(n + 1));
    expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ since: "2025-03-09T00:00:00Z", until: null });
    await u.type(screen.getByRole("combobox", { name: "To" }), "2025-03-01");
    expect(await screen.findByText("The end date is before the start date.")).toBeInTheDocument();
    await u.clear(screen.getByRole("combobox", { name: "To" }));
    await u.type(screen.getByRole("combobox", { name: "To" }), "2025-02-30");
    expect(await screen.findByText("Enter a date as YYYY-MM-DD.")).toBeInTheDocument();
    await new Promise((r) => setTimeout(r, 400));
    expect(m.calls("query_audit").length).toBe(n + 1);
  });

  it("shows every entry's details as text, never JSON", async () => {
    const m = setupMock();
    const u = user();
    const table = await openAudit();
    // Plain DOM reads: role queries over 50 rows are slow in jsdom on a busy machine.
    const details = () =>
      [...screen.getByRole("table", { name: "Audit history" }).querySelectorAll("tbody tr")].map(
        (r) => (r as HTMLTableRowElement).cells[5]?.textContent ?? "",
      );
    expect(table.querySelectorAll("tbody tr")).toHaveLength(50);
    // (Quotes may be in the data itself, e.g. a resource named Team "Sales EMEA".)
    for (const d of details()) expect(d).not.toMatch(/[{}]|":/);
    // Expiry entries were shown as {"deadline":…,"unanswered_in":…}.
    await u.click(screen.getByRole("combobox", { name: "Operation" }));
    await u.click(await screen.findByRole("option", { name: "Expired" }));
    const expired = m.backend.audit.filter((e) => e.tenant === "contoso" && e.operation === "expired");
    await waitFor(() => expect(details()).toHaveLength(expired.length));
    for (const d of details()) expect(d).toMatch(/^Expired unanswered at .+ · waiting for customer approval$/);
  });

  it("shows an entry's fields when its row is clicked, and the raw entry on request", async () => {
    const m = setupMock();
    const u = user();
    const table = await openAudit();
    const row = within(table).getAllByRole("row")[1] as HTMLElement;
    await u.click(within(row).getAllByRole("cell")[3] as HTMLElement);
    const dialog = await screen.findByRole("dialog", { name: /^Audit entry #\d+/ });
    const seq = Number(/#(\d+)/.exec(dialog.textContent ?? "")?.[1]);
    const entry = m.backend.audit.find((e) => e.seq === seq);
    expect(entry).toBeDefined();
    const d = within(dialog);
    expect(d.getByText(entry?.hash ?? "-")).toBeInTheDocument();
    expect(d.getByText(entry?.actor ?? "-", { exact: false })).toBeInTheDocument();
    const detailsText = d.getByText("Details", { selector: "dt" }).nextElementSibling?.textContent ?? "";
    expect(detailsText).not.toBe("");
    expect(detailsText).not.toMatch(/[{}]|":/);
    expect(d.queryByLabelText("Entry JSON")).not.toBeInTheDocument();
    await u.click(within(dialog).getByRole("button", { name: "Show raw entry" }));
    const json = JSON.parse(within(dialog).getByLabelText("Entry JSON").textContent ?? "");
    expect(json).toEqual(entry);
  });
});

describe("Audit export", () => {
  it("asks for a file with the save dialog, then exports with the current filters", async () => {
    const m = setupMock();
    m.saveDialog.mockResolvedValueOnce("/home/alex/audit.csv");
    const u = user();
    await openAudit();
    await u.type(screen.getByRole("textbox", { name: "Actor" }), "Lidia Holloway");
    await waitFor(() => expect(m.calls("query_audit").at(-1)?.query).toMatchObject({ actor: "Lidia Holloway" }));

    await u.click(screen.getByRole("button", { name: "Export" }));
    await u.click(await screen.findByRole("menuitem", { name: "CSV" }));

    await waitFor(() => expect(m.calls("export_audit")).toHaveLength(1));
    expect(m.saveDialog).toHaveBeenCalledTimes(1);
    const opts = m.saveDialog.mock.calls[0]?.[0];
    // Named after today on the test clock (TEST_NOW is 2025-03-10).
    expect(opts?.defaultPath).toBe("lockbox-audit-contoso-2025-03-10.csv");
    expect(opts?.format).toBe("csv");
    expect(opts?.filters).toEqual([{ name: "CSV", extensions: ["csv"] }]);
    const exportIdx = m.invoke.mock.calls.findIndex((c) => c[0] === "export_audit");
    expect(m.saveDialog.mock.invocationCallOrder[0]).toBeLessThan(m.invoke.mock.invocationCallOrder[exportIdx] as number);
    expect(m.calls("export_audit")[0]).toEqual({
      tenant: "contoso",
      query: { ...EMPTY, actor: "Lidia Holloway", limit: null },
      format: "csv",
      path: "/home/alex/audit.csv",
    });
    const rows = m.backend.audit.filter((e) => e.tenant === "contoso" && e.actor === "Lidia Holloway").length;
    expect(rows).toBeGreaterThan(1);
    expect(await screen.findByText(`Exported ${rows.toLocaleString()} rows to /home/alex/audit.csv`)).toBeInTheDocument();
  });

  it("exports JSON Lines", async () => {
    const m = setupMock();
    m.saveDialog.mockResolvedValueOnce("/tmp/a.jsonl");
    const u = user();
    await openAudit();
    await u.click(screen.getByRole("button", { name: "Export" }));
    await u.click(await screen.findByRole("menuitem", { name: "JSON Lines" }));
    await waitFor(() => expect(m.calls("export_audit")).toHaveLength(1));
    expect(m.calls("export_audit")[0]).toMatchObject({ format: "jsonl", path: "/tmp/a.jsonl" });
    expect(m.saveDialog.mock.calls[0]?.[0]).toMatchObject({ format: "jsonl", filters: [{ name: "JSON Lines", extensions: ["jsonl"] }] });
  });

  it("does nothing when the save dialog is canceled", async () => {
    const m = setupMock();
    m.saveDialog.mockResolvedValueOnce(null);
    const u = user();
    await openAudit();
    await u.click(screen.getByRole("button", { name: "Export" }));
    await u.click(await screen.findByRole("menuitem", { name: "CSV" }));
    await waitFor(() => expect(m.saveDialog).toHaveBeenCalledTimes(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(m.calls("export_audit")).toHaveLength(0);
    expect(screen.queryByText(/Exported/)).not.toBeInTheDocument();
  });

  it("shows the engine's message when export fails", async () => {
    const m = setupMock({}, { export_audit: { code: "internal", message: "Permission denied: /root/audit.csv" } });
    m.saveDialog.mockResolvedValueOnce("/root/audit.csv");
    const u = user();
    await openAudit();
    await u.click(screen.getByRole("button", { name: "Export" }));
    await u.click(await screen.findByRole("menuitem", { name: "CSV" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Permission denied: /root/audit.csv");
  });
});

describe("Verify integrity", () => {
  it("reports an intact chain with entry count and head hash", async () => {
    const m = setupMock();
    const u = user();
    await openAudit();
    await u.click(screen.getByRole("button", { name: "Verify integrity" }));
    const banner = await screen.findByText("Audit log intact");
    // The head of the open tenant's own chain (one chain per tenant).
    const head = m.backend.audit.filter((e) => e.tenant === "contoso").at(-1)?.hash ?? "";
    expect(head).toMatch(/^[0-9a-f]{64}$/);
    const bar = banner.closest(".fui-MessageBar") as HTMLElement;
    expect(bar).toHaveTextContent(`${m.backend.audit.length} entries verified`);
    expect(bar).toHaveTextContent(head);
    expect(m.calls("verify_audit")).toEqual([{}]);
  });

  it("reports the first bad entry", async () => {
    const m = setupMock();
    m.backend.corrupt(42);
    const u = user();
    await openAudit();
    await u.click(screen.getByRole("button", { name: "Verify integrity" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Audit log integrity check failed");
    expect(alert).toHaveTextContent("First bad entry: #42.");
  });

  it("names a stored request that disagrees with its audit entries", async () => {
    const m = setupMock();
    m.backend.editState("r-1", "state", "approved", "pending");
    const u = user();
    await openAudit();
    await u.click(screen.getByRole("button", { name: "Verify integrity" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Audit log integrity check failed");
    expect(alert).toHaveTextContent(
      "Stored state edited: request r-1: state is approved in the store, but the audit log says pending.",
    );
    expect(alert).not.toHaveTextContent("First bad entry");
  });
});
