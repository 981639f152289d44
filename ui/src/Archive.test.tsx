import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent, { PointerEventsCheckLevel } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { approveRequest, setPrefs, toErrorDto } from "./api/client";
import { startBoot } from "./boot";
import { shortHash } from "./components/ArchiveBanner";
import { renderApp, setupMock } from "./test/utils";

const user = () => userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });

/** An archive window as main.tsx starts it: one boot call, then the Audit page. */
async function openArchiveWindow(hash = "#/audit") {
  window.location.hash = hash;
  const b = await startBoot(null, null);
  render(<App boot={b} />);
  await screen.findByRole("heading", { name: "Lockbox audit archive" });
  return b;
}

const banner = () => screen.getByRole("region", { name: "Audit archive" });

describe("archive window", () => {
  it("shows the Audit page before the verification is done, then fills the banner in", async () => {
    const m = setupMock({ archive: { path: "/media/usb/contoso-2025-03.db" } });
    const release = m.backend.holdArchiveVerify();
    const b = await openArchiveWindow();
    expect(b.session.archive?.file_name).toBe("contoso-2025-03.db");
    expect(b.session.role).toBeNull();

    // The first page of entries renders while archive_verify is still out.
    const table = await screen.findByRole("table", { name: "Audit history" });
    expect(within(table).getAllByRole("row").length).toBeGreaterThan(1);
    await waitFor(() => expect(m.calls("ui_ready")).toEqual([{ page: "audit" }]));
    expect(m.calls("archive_verify").length).toBeGreaterThan(0);

    const n = m.backend.audit.length;
    const head = m.backend.audit[n - 1];
    const bar = banner();
    expect(within(bar).getByTestId("archive-file")).toHaveTextContent("contoso-2025-03.db");
    expect(within(bar).getByText("Read-only")).toBeInTheDocument();
    expect(within(bar).getByTestId("archive-entries")).toHaveTextContent(`1–${n}, verifying…`);
    expect(within(bar).getByText("Verifying…")).toBeInTheDocument();
    expect(within(bar).getByTestId("archive-checkpoint")).toHaveTextContent("No checkpoint in this archive");
    // Newest entry: the head's recorded time, with seconds.
    expect(within(bar).getByText("Newest entry").nextElementSibling).toHaveTextContent(/\d{1,2}:\d{2}:\d{2}/);

    release();
    await waitFor(() => expect(within(bar).getByTestId("archive-entries")).toHaveTextContent(`1–${n} verified`));
    expect(within(bar).getByText("Verified")).toBeInTheDocument();
    const hash = within(bar).getByTestId("archive-head");
    expect(hash).toHaveTextContent(shortHash(head?.hash ?? ""));
    expect(hash).toHaveAttribute("title", head?.hash);
    expect(within(bar).queryByRole("alert")).toBeNull();
  });

  it("offers only Service requests and Audit, and no action that changes anything", async () => {
    const m = setupMock({ archive: true });
    await openArchiveWindow();
    const nav = screen.getByRole("navigation", { name: "Navigation" });
    const links = within(nav)
      .getAllByRole("link")
      .map((l) => l.textContent);
    expect(links).toEqual(["Service requests", "Audit"]);
    expect(within(nav).queryByText("Org settings")).toBeNull();
    expect(within(nav).queryByText("Home")).toBeNull();
    // No user acting in the header; the audit page has no "Verify integrity" (the banner verifies).
    expect(screen.queryByLabelText(/Signed in as/)).toBeNull();
    await screen.findByRole("table", { name: "Audit history" });
    expect(screen.queryByRole("button", { name: "Verify integrity" })).toBeNull();
    expect(screen.getByRole("button", { name: "Export" })).toBeInTheDocument();
    expect(m.calls("get_settings")).toEqual([]);
    expect(m.calls("home_stats")).toEqual([]);
  });

  it("shows Audit for a settings or home address", async () => {
    setupMock({ archive: true });
    await openArchiveWindow("#/settings");
    expect(await screen.findByRole("heading", { name: "Audit", level: 2 })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Org settings" })).toBeNull();
    window.location.hash = "#/home";
    await screen.findByRole("table", { name: "Audit history" });
    expect(screen.queryByRole("heading", { name: "Home" })).toBeNull();
  });

  it("lists every request, and a pending one has no Approve or Reject", async () => {
    const m = setupMock({ archive: true });
    const u = user();
    await openArchiveWindow("#/requests");
    const table = await screen.findByRole("table", { name: "Service requests" });
    expect(m.calls("list_requests")[0]?.query).toMatchObject({ states: null });
    const all = m.backend.requests.get("contoso") ?? [];
    await waitFor(() => expect(within(table).getAllByRole("row")).toHaveLength(1 + Math.min(all.length, 20)));
    const pending = all.find((r) => r.state === "pending" && r.decisions.every((d) => d.level !== "customer"));
    if (!pending) throw new Error("the mock has a pending request");
    await u.click(screen.getByRole("button", { name: new RegExp(`\\(${pending.case}\\)`) }));
    const drawer = await screen.findByRole("dialog");
    await within(drawer).findByText(pending.reason);
    expect(within(drawer).getByText(/read-only: no decision can be made here/)).toBeInTheDocument();
    expect(within(drawer).queryByRole("button", { name: "Approve" })).toBeNull();
    expect(within(drawer).queryByRole("button", { name: "Reject" })).toBeNull();
    expect(within(drawer).queryByRole("button", { name: "Revoke access" })).toBeNull();
  });

  it("says prominently where verification failed", async () => {
    const m = setupMock({ archive: true });
    m.backend.corrupt(7);
    await openArchiveWindow();
    const alert = await within(banner()).findByRole("alert");
    expect(alert).toHaveTextContent("This archive failed verification");
    expect(alert).toHaveTextContent("The hash chain breaks at entry #7: its content does not match its hash (the entry was edited).");
    expect(within(banner()).getByText("Verification failed")).toBeInTheDocument();
    expect(within(banner()).getByTestId("archive-entries")).toHaveTextContent("1–6 intact; #7 is bad");
  });

  it("names a request whose stored state disagrees with its entries", async () => {
    const m = setupMock({ archive: true });
    m.backend.editState("0b7f5c1e-aaaa", "state", "approved", "rejected");
    await openArchiveWindow();
    const alert = await within(banner()).findByRole("alert");
    expect(alert).toHaveTextContent("Stored state edited: request 0b7f5c1e-aaaa: state is approved in the store");
  });

  it("shows the checkpoint line it is given, and copies the full head hash", async () => {
    const m = setupMock({ archive: { checkpoint: "Checkpoint #1200 signed 2025-03-09 by key 4f2a…: matches" } });
    const u = user(); // (user-event puts a clipboard of its own on navigator)
    await openArchiveWindow();
    expect(within(banner()).getByTestId("archive-checkpoint")).toHaveTextContent("Checkpoint #1200 signed 2025-03-09");
    await u.click(within(banner()).getByRole("button", { name: "Copy head hash" }));
    expect(await within(banner()).findByRole("status")).toHaveTextContent("Copied");
    expect(await navigator.clipboard.readText()).toBe(m.backend.audit[m.backend.audit.length - 1]?.hash);
  });

  it("refuses every write with read_only (as the shell does)", async () => {
    const m = setupMock({ archive: true });
    const pending = (m.backend.requests.get("contoso") ?? []).find((r) => r.state === "pending");
    await expect(approveRequest("contoso", pending?.id ?? "", null, null)).rejects.toMatchObject({ code: "read_only" });
    await expect(setPrefs({ notifications_enabled: false, start_at_login: true })).rejects.toSatisfy(
      (e: unknown) => toErrorDto(e).code === "read_only",
    );
  });
});

describe("Open audit archive…", () => {
  it("asks the shell to open the chosen file in a window of its own", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/audit");
    await screen.findByRole("table", { name: "Audit history" });
    expect(screen.queryByRole("region", { name: "Audit archive" })).toBeNull();
    await u.click(screen.getByRole("button", { name: "Open audit archive…" }));
    expect(await screen.findByText("Audit archive opened")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("/home/alex/Documents/lockbox-backup.db opens read-only in a window of its own.");
    expect(m.calls("open_archive")).toEqual([{}]);
    expect(m.backend.openedArchives).toEqual(["/home/alex/Documents/lockbox-backup.db"]);
  });

  it("does nothing when the dialog is canceled, and shows why it could not open", async () => {
    const m = setupMock({}, {});
    const u = user();
    m.backend.archiveToOpen = null;
    await renderApp("#/audit");
    await screen.findByRole("table", { name: "Audit history" });
    await u.click(screen.getByRole("button", { name: "Open audit archive…" }));
    await waitFor(() => expect(m.calls("open_archive")).toHaveLength(1));
    expect(screen.queryByText("Audit archive opened")).toBeNull();
    m.failures.open_archive = { code: "store_unavailable", message: "/tmp/x.db is not a Lockbox store" };
    await u.click(screen.getByRole("button", { name: "Open audit archive…" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Couldn't open the archive");
    expect(alert).toHaveTextContent("/tmp/x.db is not a Lockbox store");
  });
});
