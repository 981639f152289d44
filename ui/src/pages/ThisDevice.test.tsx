import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent, { PointerEventsCheckLevel } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { renderApp, setupMock } from "../test/utils";

const user = () => userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });

/** Pasted, not typed: one input event per field keeps these tests fast under load. */
async function fill(u: ReturnType<typeof user>, el: HTMLElement, text: string) {
  await u.click(el);
  await u.paste(text);
}

async function deviceCard() {
  const heading = await screen.findByRole("heading", { name: "This device" });
  return within(heading.closest("[aria-labelledby='this-device-h']") as HTMLElement);
}

describe("Settings › This device", () => {
  it("signs in to a server, shows it in the header and reloads the data from there", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    const card = await deviceCard();
    expect(card.getByText("This app uses this machine's own store.")).toBeInTheDocument();
    expect(screen.queryByLabelText(/^Connected to/)).toBeNull();
    const sessions = m.calls("session").length;

    await fill(u, card.getByRole("textbox", { name: /Server address/ }), "https://lockbox.contoso.example:8787");
    await fill(u, card.getByRole("textbox", { name: /CA certificate file/ }), "/etc/ssl/contoso-ca.pem");
    await u.click(card.getByRole("button", { name: "Sign in" }));

    expect(m.calls("connect_server")).toEqual([
      { url: "https://lockbox.contoso.example:8787", ca: "/etc/ssl/contoso-ca.pem" },
    ]);
    const header = screen.getByRole("banner");
    await waitFor(() =>
      expect(within(header).getByLabelText("Connected to https://lockbox.contoso.example:8787")).toBeInTheDocument(),
    );
    // The session is asked again: it now comes from the server.
    await waitFor(() => expect(m.calls("session").length).toBeGreaterThan(sessions));
    const again = await deviceCard();
    expect(again.getByText(/Connected to/)).toHaveTextContent(
      "Connected to https://lockbox.contoso.example:8787 as ana@contoso.example.",
    );
    expect(again.queryByRole("button", { name: "Sign in" })).toBeNull();

    await u.click(again.getByRole("button", { name: "Sign out" }));
    expect(m.calls("disconnect_server")).toHaveLength(1);
    await waitFor(() => expect(within(screen.getByRole("banner")).queryByLabelText(/^Connected to/)).toBeNull());
    expect((await deviceCard()).getByText("This app uses this machine's own store.")).toBeInTheDocument();
    // Two full renders of the settings page: 7 s idle, 15 s on a loaded 2-core machine.
  }, 40_000);

  it("shows why a sign-in failed and stays on this machine's store", async () => {
    const m = setupMock();
    const u = user();
    await renderApp("#/settings");
    const card = await deviceCard();

    // Nothing typed: said, nothing asked.
    await u.click(card.getByRole("button", { name: "Sign in" }));
    expect(await card.findByRole("alert")).toHaveTextContent("Enter the server's address");
    expect(m.calls("connect_server")).toHaveLength(0);

    await fill(u, card.getByRole("textbox", { name: /Server address/ }), "ftp://lockbox.example");
    await u.click(card.getByRole("button", { name: "Sign in" }));
    const alert = await card.findByRole("alert");
    expect(alert).toHaveTextContent("Couldn't sign in");
    expect(alert).toHaveTextContent("must be an https URL");
    expect(m.backend.connection.state).toBe("local");
    expect(screen.queryByLabelText(/^Connected to/)).toBeNull();
  });

  it("shows the provider's refusal as text, never as markup", async () => {
    const hostile = '<img src=x onerror="alert(1)">denied';
    setupMock({}, { connect_server: { code: "unauthorized", message: `the sign-in was denied: ${hostile}` } });
    const u = user();
    await renderApp("#/settings");
    const card = await deviceCard();
    await fill(u, card.getByRole("textbox", { name: /Server address/ }), "https://lockbox.example");
    await u.click(card.getByRole("button", { name: "Sign in" }));
    const alert = await card.findByRole("alert");
    expect(alert).toHaveTextContent(hostile);
    expect(alert.querySelector("img")).toBeNull();
  });

  it("offers to sign in again or out when the server's sign-in has ended", async () => {
    const m = setupMock();
    m.backend.connection = { state: "signed_out", server: "https://lockbox.example", ca: null, person: null, replica_at: null };
    await renderApp("#/settings");
    const card = await deviceCard();
    expect(card.getByText(/The sign-in to https:\/\/lockbox.example has ended/)).toBeInTheDocument();
    expect(card.getByRole("textbox", { name: /Server address/ })).toHaveValue("https://lockbox.example");
    expect(card.getByRole("button", { name: "Sign out" })).toBeInTheDocument();
    expect(within(screen.getByRole("banner")).getByLabelText("Connected to https://lockbox.example")).toBeInTheDocument();
  });

  it("when the server refuses the session, still offers to sign out of it", async () => {
    const m = setupMock({}, {
      session: { code: "unauthorized", message: "the server refused the sign-in: token expired" },
    });
    m.backend.connection = { state: "connected", server: "https://lockbox.example", ca: null, person: "ana@contoso.example", replica_at: null };
    window.location.hash = "#/requests";
    render(<App />);
    expect(await screen.findByText("Couldn't start the admin center")).toBeInTheDocument();
    expect(screen.getByText(/token expired/)).toBeInTheDocument();
    const card = await deviceCard();
    await user().click(card.getByRole("button", { name: "Sign out" }));
    expect(m.calls("disconnect_server")).toHaveLength(1);
  });
});
