import { screen, waitFor, within } from "@testing-library/react";
import userEvent, { PointerEventsCheckLevel } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { IssuedTokenDto } from "../bindings/IssuedTokenDto";
import { formatDateTime } from "../lib/time";
import { TEST_NOW, testIso } from "../test/clock";
import { renderApp, setupMock } from "../test/utils";

// Skipping the pointer-events check (a getComputedStyle walk per event) keeps these long forms fast in jsdom.
const user = () => userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
const SEEDED = "Provider support (production)";

async function replace(u: ReturnType<typeof user>, el: HTMLElement, text: string) {
  await u.clear(el);
  if (text) await u.type(el, text);
}

/** The value a mocked command resolved to (its n-th call). */
async function resultOf<T>(m: ReturnType<typeof setupMock>, cmd: string, n = 0): Promise<T> {
  const idx = m.invoke.mock.calls.map((c, i) => (c[0] === cmd ? i : -1)).filter((i) => i >= 0)[n];
  if (idx === undefined) throw new Error(`no call to ${cmd}`);
  return (await m.invoke.mock.results[idx]?.value) as T;
}

describe("Org settings › Provider connections", () => {
  it("lists connections with their status as text", async () => {
    setupMock();
    await renderApp("#/settings");
    const table = await screen.findByRole("table", { name: "Provider connections" });
    const row = within(table).getByRole("row", { name: new RegExp(SEEDED.replace(/[()]/g, "\\$&")) });
    expect(within(row).getByText("Active")).toBeInTheDocument();
    expect(within(row).getByRole("button", { name: `Revoke ${SEEDED}` })).toBeInTheDocument();
  });

  it("issues a token with the chosen expiry and shows its secret once", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    await screen.findByRole("table", { name: "Provider connections" });

    await u.click(screen.getByRole("button", { name: "Add connection" }));
    const dialog = await screen.findByRole("dialog", { name: "Add provider connection" });
    const d = within(dialog);
    await u.click(d.getByRole("button", { name: "Add" }));
    expect(await d.findByText("Enter a name for this connection.")).toBeInTheDocument();
    expect(m.calls("issue_token")).toHaveLength(0);

    await u.type(d.getByRole("textbox", { name: /Name/ }), "  Ticketing (staging) ");
    expect(d.getByRole("combobox", { name: "Expires after" })).toHaveValue("90");
    await u.selectOptions(d.getByRole("combobox", { name: "Expires after" }), "30");
    await u.click(d.getByRole("button", { name: "Add" }));
    await waitFor(() =>
      expect(m.calls("issue_token")).toEqual([{ tenant: "contoso", name: "Ticketing (staging)", expiresS: 30 * 86400 }]),
    );
    const issued = await resultOf<IssuedTokenDto>(m, "issue_token");
    expect(issued.secret).toMatch(/^lbx_[0-9a-f]{64}$/);

    const secretDialog = await screen.findByRole("alertdialog", { name: "Copy the token for Ticketing (staging)" });
    const s = within(secretDialog);
    expect(s.getByText("This token is shown only once")).toBeInTheDocument();
    expect(s.getByRole("textbox", { name: "Token" })).toHaveValue(issued.secret);
    expect(screen.queryByRole("dialog", { name: "Add provider connection" })).not.toBeInTheDocument();

    await u.click(s.getByRole("button", { name: "Copy" }));
    expect(await s.findByText("Copied to the clipboard.")).toBeInTheDocument();
    await expect(navigator.clipboard.readText()).resolves.toBe(issued.secret);

    await u.click(s.getByRole("button", { name: "Done" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    expect(screen.queryByDisplayValue(issued.secret)).not.toBeInTheDocument();
    expect(document.body.textContent).not.toContain(issued.secret);
    const table = screen.getByRole("table", { name: "Provider connections" });
    const row = await within(table).findByRole("row", { name: /Ticketing \(staging\)/ });
    expect(within(row).getByText("Active")).toBeInTheDocument();
  });

  it("sends a null expiry for Never and says when copying isn't possible", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    await screen.findByRole("table", { name: "Provider connections" });
    Object.defineProperty(navigator, "clipboard", { configurable: true, value: undefined });
    await u.click(screen.getByRole("button", { name: "Add connection" }));
    const d = within(await screen.findByRole("dialog", { name: "Add provider connection" }));
    await u.type(d.getByRole("textbox", { name: /Name/ }), "Forever");
    await u.selectOptions(d.getByRole("combobox", { name: "Expires after" }), "never");
    await u.click(d.getByRole("button", { name: "Add" }));
    await waitFor(() => expect(m.calls("issue_token")).toEqual([{ tenant: "contoso", name: "Forever", expiresS: null }]));
    const s = within(await screen.findByRole("alertdialog", { name: "Copy the token for Forever" }));
    await u.click(s.getByRole("button", { name: "Copy" }));
    expect(await s.findByText(/Couldn't copy automatically/)).toBeInTheDocument();
    await u.click(s.getByRole("button", { name: "Done" }));
    const row = await within(screen.getByRole("table", { name: "Provider connections" })).findByRole("row", { name: /Forever/ });
    expect(within(row).getByText("Never")).toBeInTheDocument();
  });

  it("shows the engine's refusal of a duplicate name and keeps the dialog", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    await screen.findByRole("table", { name: "Provider connections" });
    await u.click(screen.getByRole("button", { name: "Add connection" }));
    const dialog = await screen.findByRole("dialog", { name: "Add provider connection" });
    await u.type(within(dialog).getByRole("textbox", { name: /Name/ }), SEEDED);
    await u.click(within(dialog).getByRole("button", { name: "Add" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent(
      `a provider connection named '${SEEDED}' exists already`,
    );
    expect(m.calls("issue_token")).toHaveLength(1);
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
  });

  it("revokes only after confirmation; Cancel sends nothing", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    await screen.findByRole("table", { name: "Provider connections" });

    await u.click(screen.getByRole("button", { name: `Revoke ${SEEDED}` }));
    let confirm = await screen.findByRole("dialog", { name: `Revoke ${SEEDED}?` });
    await u.click(within(confirm).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: `Revoke ${SEEDED}?` })).not.toBeInTheDocument());
    expect(m.calls("revoke_token")).toHaveLength(0);

    await u.click(screen.getByRole("button", { name: `Revoke ${SEEDED}` }));
    confirm = await screen.findByRole("dialog", { name: `Revoke ${SEEDED}?` });
    await u.click(within(confirm).getByRole("button", { name: "Revoke" }));
    await waitFor(() => expect(m.calls("revoke_token")).toEqual([{ tenant: "contoso", name: SEEDED }]));
    const table = screen.getByRole("table", { name: "Provider connections" });
    await waitFor(() => expect(within(table).getByText("Revoked")).toBeInTheDocument());
    expect(screen.queryByRole("button", { name: `Revoke ${SEEDED}` })).not.toBeInTheDocument();
  });

  it("shows the engine's message when the connection was revoked meanwhile", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    await screen.findByRole("table", { name: "Provider connections" });
    await u.click(screen.getByRole("button", { name: `Revoke ${SEEDED}` }));
    const confirm = await screen.findByRole("dialog", { name: `Revoke ${SEEDED}?` });
    const t = m.backend.tokens.get("contoso")?.[0];
    if (t) t.revoked_at = testIso();
    await u.click(within(confirm).getByRole("button", { name: "Revoke" }));
    expect(await within(confirm).findByRole("alert")).toHaveTextContent(`the token of '${SEEDED}' is already revoked`);
  });
});

describe("Org settings › Email notifications", () => {
  const smtpSet = (m: ReturnType<typeof setupMock>) =>
    m.backend.smtp.set("contoso", {
      host: "smtp.contoso.com",
      port: 587,
      security: "starttls",
      username: "lockbox@contoso.com",
      password: "s3cret",
      from_address: "lockbox@contoso.com",
    });

  it("shows email as off and blocks saving invalid settings with field errors", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    expect(await screen.findByText("Off — approvers get no email")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Send test email" })).toBeDisabled();

    await u.click(screen.getByRole("button", { name: "Edit email notifications" }));
    const panel = await screen.findByRole("dialog", { name: "Email notification settings" });
    const p = within(panel);
    expect(p.queryByRole("button", { name: "Turn off email" })).not.toBeInTheDocument();
    await replace(u, p.getByRole("spinbutton", { name: /Port/ }), "70000");
    await u.type(p.getByRole("textbox", { name: /From address/ }), "not-an-address");
    await u.type(p.getByRole("textbox", { name: /Username/ }), "someone");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("Enter the SMTP server, like smtp.contoso.com.")).toBeInTheDocument();
    expect(p.getByText("Enter a port between 1 and 65535.")).toBeInTheDocument();
    expect(p.getByText("Enter a valid email address, like lockbox@contoso.com.")).toBeInTheDocument();
    expect(p.getByText("Enter the password for this username.")).toBeInTheDocument();
    expect(p.getByRole("textbox", { name: /SMTP server/ })).toHaveAttribute("aria-invalid", "true");
    expect(m.calls("set_smtp")).toHaveLength(0);

    await replace(u, p.getByRole("spinbutton", { name: /Port/ }), "0");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("Enter a port between 1 and 65535.")).toBeInTheDocument();
    expect(m.calls("set_smtp")).toHaveLength(0);
  });

  it("saves new settings, with security and password, and shows the server", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    await screen.findByText("Off — approvers get no email");
    await u.click(screen.getByRole("button", { name: "Edit email notifications" }));
    const p = within(await screen.findByRole("dialog", { name: "Email notification settings" }));
    await u.type(p.getByRole("textbox", { name: /SMTP server/ }), "smtp.contoso.com");
    await u.selectOptions(p.getByRole("combobox", { name: "Security" }), "tls");
    expect(p.getByRole("spinbutton", { name: /Port/ })).toHaveValue(465);
    await u.type(p.getByRole("textbox", { name: /Username/ }), "mailer");
    await u.type(p.getByLabelText("Password"), "pa55");
    await u.type(p.getByRole("textbox", { name: /From address/ }), "lockbox@contoso.com");
    await u.click(p.getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(m.calls("set_smtp")).toEqual([
        {
          tenant: "contoso",
          smtp: { host: "smtp.contoso.com", port: 465, security: "tls", username: "mailer", password: "pa55", from_address: "lockbox@contoso.com" },
        },
      ]),
    );
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Email notification settings" })).not.toBeInTheDocument());
    const summary = screen.getByLabelText("Email settings summary");
    expect(within(summary).getByText("smtp.contoso.com:465")).toBeInTheDocument();
    expect(within(summary).getByText("mailer (password saved)")).toBeInTheDocument();
    expect(screen.queryByText("Off — approvers get no email")).not.toBeInTheDocument();
  });

  it("an empty password keeps the stored one (sent as null)", async () => {
    const m = setupMock();
    smtpSet(m);
    const u = user();
    await renderApp("#/settings");
    await screen.findByLabelText("Email settings summary");
    await u.click(screen.getByRole("button", { name: "Edit email notifications" }));
    const p = within(await screen.findByRole("dialog", { name: "Email notification settings" }));
    expect(p.getByText("A password is saved. Leave empty to keep the current password.")).toBeInTheDocument();
    expect(p.getByLabelText("Password")).toHaveValue("");
    await replace(u, p.getByRole("textbox", { name: /SMTP server/ }), "mail.contoso.com");
    await u.click(p.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(m.calls("set_smtp")).toHaveLength(1));
    expect(m.calls("set_smtp")[0]).toEqual({
      tenant: "contoso",
      smtp: { host: "mail.contoso.com", port: 587, security: "starttls", username: "lockbox@contoso.com", password: null, from_address: "lockbox@contoso.com" },
    });
    expect(m.backend.smtp.get("contoso")?.password).toBe("s3cret");
  });

  it("Turn off email sends smtp: null", async () => {
    const m = setupMock();
    smtpSet(m);
    const u = user();
    await renderApp("#/settings");
    await screen.findByLabelText("Email settings summary");
    await u.click(screen.getByRole("button", { name: "Edit email notifications" }));
    const p = within(await screen.findByRole("dialog", { name: "Email notification settings" }));
    await u.click(p.getByRole("button", { name: "Turn off email" }));
    await waitFor(() => expect(m.calls("set_smtp")).toEqual([{ tenant: "contoso", smtp: null }]));
    expect(await screen.findByText("Off — approvers get no email")).toBeInTheDocument();
  });

  it("shows the engine's refusal when saving", async () => {
    setupMock({}, { set_smtp: { code: "not_permitted", message: "Alex Wilber is not an admin of tenant contoso" } });
    const u = user();
    await renderApp("#/settings");
    await screen.findByText("Off — approvers get no email");
    await u.click(screen.getByRole("button", { name: "Edit email notifications" }));
    const panel = await screen.findByRole("dialog", { name: "Email notification settings" });
    const p = within(panel);
    await u.type(p.getByRole("textbox", { name: /SMTP server/ }), "smtp.contoso.com");
    await u.type(p.getByRole("textbox", { name: /From address/ }), "lockbox@contoso.com");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByRole("alert")).toHaveTextContent("Alex Wilber is not an admin of tenant contoso");
    expect(screen.getByRole("dialog", { name: "Email notification settings" })).toBeInTheDocument();
  });

  it("sends a test email and shows success or the engine's error", async () => {
    const m = setupMock();
    smtpSet(m);
    const u = user();
    await renderApp("#/settings");
    await screen.findByLabelText("Email settings summary");
    const to = screen.getByRole("textbox", { name: /Send a test email to/ });
    const form = screen.getByRole("form", { name: "Send test email" });
    await u.type(to, "nope");
    await u.click(screen.getByRole("button", { name: "Send test email" }));
    expect(await screen.findByText("Enter a valid email address, like name@example.com.")).toBeInTheDocument();
    expect(m.calls("test_smtp")).toHaveLength(0);

    await replace(u, to, "megan.bowen@contoso.com");
    await u.keyboard("{Enter}");
    await waitFor(() => expect(m.calls("test_smtp")).toEqual([{ tenant: "contoso", to: "megan.bowen@contoso.com" }]));
    expect(await within(form).findByText("Test email sent to megan.bowen@contoso.com.")).toBeInTheDocument();

    m.backend.smtpTestFailure = "SMTP: Connection refused (os error 111)";
    await u.click(screen.getByRole("button", { name: "Send test email" }));
    const alert = await within(form).findByRole("alert");
    expect(alert).toHaveTextContent("The test email wasn't sent");
    expect(alert).toHaveTextContent("test message not sent: SMTP: Connection refused (os error 111)");
    expect(within(form).queryByText(/Test email sent/)).not.toBeInTheDocument();
  });

  it("lists deliveries with outcome, attempts, error and next retry, and refreshes on events", async () => {
    const m = setupMock();
    await renderApp("#/settings");
    const table = await screen.findByRole("table", { name: "Delivery status" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(3);
    const first = rows[0] as HTMLElement;
    expect(within(first).getByText("Failed")).toBeInTheDocument();
    expect(within(first).getByText("3")).toBeInTheDocument();
    expect(within(first).getByText("SMTP: Connection refused (os error 111)")).toBeInTheDocument();
    const retry = m.backend.deliveries.get("contoso")?.[0]?.next_attempt_at ?? "";
    expect(Date.parse(retry)).toBeGreaterThan(TEST_NOW);
    expect(within(first).getAllByRole("cell")[5]).toHaveTextContent(formatDateTime(retry));
    expect(within(rows[1] as HTMLElement).getByText("Sent")).toBeInTheDocument();

    m.backend.addDelivery("contoso", {
      request_id: "0190a6f2-0000-7000-8000-000000000001",
      kind: "reminder",
      outcome: "failed",
      attempts: 1,
      detail: "SMTP: timed out",
      next_attempt_at: testIso(30_000),
      at: testIso(),
    });
    expect(await within(table).findByText("SMTP: timed out")).toBeInTheDocument();
    expect(within(table).getAllByRole("row")).toHaveLength(1 + 4);
  });
});

describe("Org settings › Provider API", () => {
  async function openApi() {
    const u = user();
    await renderApp("#/settings");
    await screen.findByLabelText("Provider API summary");
    await u.click(screen.getByRole("button", { name: "Edit provider API" }));
    const panel = await screen.findByRole("dialog", { name: "Provider API settings" });
    return { u, panel, p: within(panel) };
  }

  it("shows whether it is on and where it listens, and that decisions are not available", async () => {
    setupMock();
    await renderApp("#/settings");
    const summary = await screen.findByLabelText("Provider API summary");
    expect(screen.getByText(/Provider API is/)).toHaveTextContent("Provider API is On");
    expect(within(summary).getByText("127.0.0.1:8787 (HTTP)")).toBeInTheDocument();
    expect(screen.getAllByText(/Customer decisions .* are never available over the API/).length).toBeGreaterThan(0);
  });

  it("shows why it isn't running", async () => {
    const m = setupMock();
    m.backend.apiStartError = "cannot listen on 127.0.0.1:8787: address in use";
    await renderApp("#/settings");
    const summary = await screen.findByLabelText("Provider API summary");
    expect(within(summary).getByText("Not running")).toBeInTheDocument();
    const alert = screen.getAllByRole("alert").find((a) => /isn't running/.test(a.textContent ?? ""));
    expect(alert).toHaveTextContent("cannot listen on 127.0.0.1:8787: address in use");
  });

  it("refuses a non-loopback address without TLS next to the fields, without calling the engine", async () => {
    const m = setupMock();
    const { u, p } = await openApi();
    const addr = p.getByRole("textbox", { name: /Address/ });
    expect(addr).toHaveValue("127.0.0.1:8787");
    await replace(u, addr, "0.0.0.0:8787");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("A TLS certificate is required: the address is reachable from other computers.")).toBeInTheDocument();
    expect(p.getByText("A TLS key is required: the address is reachable from other computers.")).toBeInTheDocument();
    expect(p.getByRole("textbox", { name: "TLS certificate path" })).toHaveAttribute("aria-invalid", "true");
    expect(m.calls("set_api_settings")).toHaveLength(0);

    await u.type(p.getByRole("textbox", { name: "TLS certificate path" }), "/etc/lockbox/cert.pem");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("Enter the TLS key path too: the certificate and key go together.")).toBeInTheDocument();
    expect(m.calls("set_api_settings")).toHaveLength(0);

    await replace(u, addr, "localhost");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await p.findByText("Enter an IP address and port, like 127.0.0.1:8787 or [::1]:8787.")).toBeInTheDocument();
    expect(m.calls("set_api_settings")).toHaveLength(0);
  });

  it("saves the switch, address and TLS paths", async () => {
    const m = setupMock();
    const { u, p } = await openApi();
    await u.click(p.getByRole("switch", { name: "Allow providers to file requests over the local API" }));
    await replace(u, p.getByRole("textbox", { name: /Address/ }), "192.168.1.20:8443");
    await u.type(p.getByRole("textbox", { name: "TLS certificate path" }), "/etc/lockbox/cert.pem");
    await u.type(p.getByRole("textbox", { name: "TLS key path" }), "/etc/lockbox/key.pem");
    await u.click(p.getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(m.calls("set_api_settings")).toEqual([
        {
          tenant: "contoso",
          settings: {
            enabled: false,
            bind: "192.168.1.20:8443",
            tls_cert: "/etc/lockbox/cert.pem",
            tls_key: "/etc/lockbox/key.pem",
            listening_on: null,
            error: null,
          },
        },
      ]),
    );
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Provider API settings" })).not.toBeInTheDocument());
    expect(screen.getByText(/Provider API is/)).toHaveTextContent("Provider API is Off");
    expect(within(screen.getByLabelText("Provider API summary")).getByText("192.168.1.20:8443")).toBeInTheDocument();
  });

  it("takes localhost as 127.0.0.1 (loopback, no TLS needed)", async () => {
    const m = setupMock();
    const { u, p } = await openApi();
    await replace(u, p.getByRole("textbox", { name: /Address/ }), "localhost:9000");
    await u.click(p.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(m.calls("set_api_settings")).toHaveLength(1));
    expect(m.calls("set_api_settings")[0]?.settings).toMatchObject({ bind: "127.0.0.1:9000", tls_cert: null, tls_key: null });
  });

  it("shows the engine's error when it refuses the settings", async () => {
    const m = setupMock({}, {
      set_api_settings: { code: "invalid_input", message: "[::2]:8787 is not a loopback address: serving it requires TLS (certificate and key)" },
    });
    const { u, panel, p } = await openApi();
    // "[[" is a literal "[" for user-event.
    await replace(u, p.getByRole("textbox", { name: /Address/ }), "[[::1]:8787");
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(await within(panel).findByRole("alert")).toHaveTextContent(
      "[::2]:8787 is not a loopback address: serving it requires TLS (certificate and key)",
    );
    expect(m.calls("set_api_settings")).toHaveLength(1);
    expect(screen.getByRole("dialog", { name: "Provider API settings" })).toBeInTheDocument();
  });
});
