import { screen, waitFor, within } from "@testing-library/react";
import userEvent, { PointerEventsCheckLevel } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderApp, setupMock } from "../test/utils";

// Skipping the pointer-events check (a getComputedStyle walk per event) keeps this long page fast in jsdom.
const user = () => userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });

async function openEditor() {
  const u = user();
  await renderApp("#/settings");
  await screen.findByText("Customer Lockbox is");
  await u.click(screen.getByRole("button", { name: "Edit" }));
  const panel = await screen.findByRole("dialog", { name: "Customer Lockbox settings" });
  return { u, panel };
}

async function replace(u: ReturnType<typeof user>, el: HTMLElement, text: string) {
  await u.clear(el);
  if (text) await u.type(el, text);
}

describe("Org settings › Customer Lockbox", () => {
  it("shows the Security & privacy tab with the Lockbox card", async () => {
    setupMock();
    await renderApp("#/settings");
    expect(screen.getByRole("heading", { name: "Org settings" })).toBeInTheDocument();
    expect(screen.getByRole("tab", { name: "Security & privacy" })).toHaveAttribute("aria-selected", "true");
    await screen.findByText("Customer Lockbox is");
    const summary = screen.getByLabelText("Customer Lockbox settings summary");
    expect(within(summary).getByText("12 hours")).toBeInTheDocument();
    expect(within(summary).getByText("4 hours")).toBeInTheDocument();
    expect(screen.getByText(/Customer Lockbox is/)).toHaveTextContent("Customer Lockbox is On");
  });

  it("refuses a bad lifetime next to the field and does not save", async () => {
    const m = setupMock();
    const { u, panel } = await openEditor();
    const p = within(panel);
    const lifetime = p.getByRole("textbox", { name: "Request lifetime" });
    expect(lifetime).toHaveValue("12h");

    await replace(u, lifetime, "31d");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("Request lifetime must be between 1 second and 30 days.")).toBeInTheDocument();
    expect(lifetime).toHaveAttribute("aria-invalid", "true");

    await replace(u, lifetime, "12");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("Add a unit: s, m, h or d (for example 12h).")).toBeInTheDocument();

    await replace(u, lifetime, "0s");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("Request lifetime must be between 1 second and 30 days.")).toBeInTheDocument();

    expect(m.calls("update_settings")).toHaveLength(0);
    expect(m.calls("set_prefs")).toHaveLength(0);
    expect(screen.getByRole("dialog", { name: "Customer Lockbox settings" })).toBeInTheDocument();
  });

  it("validates max duration, approvals and provider approvals", async () => {
    const m = setupMock();
    const { u, panel } = await openEditor();
    const p = within(panel);
    await replace(u, p.getByRole("textbox", { name: "Maximum access duration" }), "0m");
    await replace(u, p.getByRole("spinbutton", { name: "Approvals required" }), "0");
    await replace(u, p.getByRole("spinbutton", { name: "Provider approvals required" }), "");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("Maximum access duration must be more than 0 and at most 30 days.")).toBeInTheDocument();
    expect(p.getByText("Approvals required must be at least 1.")).toBeInTheDocument();
    expect(p.getByText("Enter a whole number (0 or more).")).toBeInTheDocument();
    expect(m.calls("update_settings")).toHaveLength(0);
  });

  it("saves parsed settings and device preferences", async () => {
    const m = setupMock();
    const { u, panel } = await openEditor();
    const p = within(panel);
    await replace(u, p.getByRole("textbox", { name: "Request lifetime" }), "1d 6h");
    await replace(u, p.getByRole("textbox", { name: "Maximum access duration" }), "90m");
    await replace(u, p.getByRole("spinbutton", { name: "Approvals required" }), "2");
    await replace(u, p.getByRole("spinbutton", { name: "Provider approvals required" }), "0");
    await u.click(p.getByRole("switch", { name: "Remind approvers before a request expires" }));
    await u.click(p.getByRole("switch", { name: "Start at login" }));
    await u.click(p.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Customer Lockbox settings" })).not.toBeInTheDocument());
    expect(m.calls("update_settings")).toEqual([
      {
        tenant: "contoso",
        settings: {
          lockbox_enabled: true,
          request_lifetime_s: 30 * 3600,
          max_access_duration_s: 5400,
          approvals_required: 2,
          provider_approvals_required: 0,
          reminder_lead_s: null,
        },
      },
    ]);
    expect(m.calls("set_prefs")).toEqual([{ prefs: { notifications_enabled: true, start_at_login: true } }]);
    const summary = screen.getByLabelText("Customer Lockbox settings summary");
    expect(within(summary).getByText("1 day 6 hours")).toBeInTheDocument();
    expect(within(summary).getByText("1 hour 30 minutes")).toBeInTheDocument();
  });

  it("turning Lockbox off is sent as lockbox_enabled=false; Cancel sends nothing", async () => {
    const m = setupMock();
    const { u, panel } = await openEditor();
    await u.click(within(panel).getByRole("switch", { name: "Require approval for all data access requests" }));
    await u.click(within(panel).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Customer Lockbox settings" })).not.toBeInTheDocument());
    expect(m.calls("update_settings")).toHaveLength(0);

    await u.click(screen.getByRole("button", { name: "Edit" }));
    const again = await screen.findByRole("dialog", { name: "Customer Lockbox settings" });
    const sw = within(again).getByRole("switch", { name: "Require approval for all data access requests" });
    expect(sw).toBeChecked();
    await u.click(sw);
    await u.click(within(again).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(m.calls("update_settings")).toHaveLength(1));
    expect((m.calls("update_settings")[0]?.settings as { lockbox_enabled: boolean }).lockbox_enabled).toBe(false);
    await waitFor(() => expect(screen.getByText(/Customer Lockbox is/)).toHaveTextContent("Customer Lockbox is Off"));
  });

  it("shows the engine's message when saving is refused", async () => {
    setupMock({}, { update_settings: { code: "not_permitted", message: "Alex Wilber is not an admin of tenant contoso" } });
    const { u, panel } = await openEditor();
    await replace(u, within(panel).getByRole("textbox", { name: "Request lifetime" }), "6h");
    await u.click(within(panel).getByRole("button", { name: "Save" }));
    expect(await within(panel).findByRole("alert")).toHaveTextContent("Alex Wilber is not an admin of tenant contoso");
  });
});

describe("Org settings › Customer approvers", () => {
  it("lists, adds (with validation) and removes approvers", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    const table = await screen.findByRole("table", { name: "Customer approvers" });
    expect(within(table).getByText("Megan Bowen")).toBeInTheDocument();
    expect(within(table).getAllByRole("row")).toHaveLength(1 + 4);

    await u.click(screen.getByRole("button", { name: "Add approver" }));
    const dialog = await screen.findByRole("dialog", { name: "Add approver" });
    const d = within(dialog);
    await u.type(d.getByRole("textbox", { name: /Email/ }), "not-an-email");
    await u.click(d.getByRole("button", { name: "Add" }));
    expect(await d.findByText("Enter a name.")).toBeInTheDocument();
    expect(d.getByText("Enter a valid email address, like name@example.com.")).toBeInTheDocument();
    expect(m.calls("add_user")).toHaveLength(0);

    await u.type(d.getByRole("textbox", { name: /Name/ }), "Diego Siciliani");
    await u.clear(d.getByRole("textbox", { name: /Email/ }));
    await u.type(d.getByRole("textbox", { name: /Email/ }), "diego@contoso.com");
    await u.selectOptions(d.getByRole("combobox", { name: "Role" }), "admin");
    await u.click(d.getByRole("button", { name: "Add" }));
    await waitFor(() =>
      expect(m.calls("add_user")).toEqual([{ tenant: "contoso", name: "Diego Siciliani", role: "admin", email: "diego@contoso.com" }]),
    );
    await within(screen.getByRole("table", { name: "Customer approvers" })).findByText("Diego Siciliani");

    await u.click(screen.getByRole("button", { name: "Remove Nestor Wilke" }));
    const confirm = await screen.findByRole("dialog", { name: "Remove Nestor Wilke?" });
    await u.click(within(confirm).getByRole("button", { name: "Remove" }));
    await waitFor(() => expect(m.calls("remove_user")).toEqual([{ tenant: "contoso", name: "Nestor Wilke" }]));
    await waitFor(() => expect(screen.queryByText("Nestor Wilke")).not.toBeInTheDocument());
  });

  it("shows the engine's refusal when removing the last admin", async () => {
    const m = setupMock({ singleTenant: true });
    m.backend.users.set("contoso", [{ name: "Alex Wilber", role: "admin", email: null, created_at: "2025-01-01T00:00:00Z" }]);
    const u = user();
    await renderApp("#/settings");
    await screen.findByRole("table", { name: "Customer approvers" });
    await u.click(screen.getByRole("button", { name: "Remove Alex Wilber" }));
    const confirm = await screen.findByRole("dialog", { name: "Remove Alex Wilber?" });
    await u.click(within(confirm).getByRole("button", { name: "Remove" }));
    expect(await within(confirm).findByRole("alert")).toHaveTextContent("'Alex Wilber' is the last admin of tenant 'contoso': add another admin first");
  });
});
