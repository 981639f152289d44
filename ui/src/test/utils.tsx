import { render, screen, waitFor } from "@testing-library/react";
import { expect, vi } from "vitest";
import { App } from "../App";
import { setTransport, type InvokeArgs } from "../api/client";
import { createMockTransport, type MockOptions } from "../api/mock";
import type { ErrorDto } from "../bindings/ErrorDto";

/**
 * Installs a fresh in-memory engine as the transport, with spies on invoke
 * and the save dialog. `failures` makes the named commands reject.
 * The engine's clock is the test clock (`Date`, faked in setup.ts), the same
 * one the app reads: never the machine's.
 */
export function setupMock(opts: MockOptions = {}, failures: Record<string, ErrorDto> = {}) {
  if (!vi.isFakeTimers()) throw new Error("setupMock: the test clock is not installed (see src/test/setup.ts)");
  const mock = createMockTransport({ now: () => Date.now(), ...opts });
  const invoke = vi.fn(async (cmd: string, args?: InvokeArgs) => {
    const f = failures[cmd];
    if (f) throw f;
    return mock.invoke(cmd, args);
  });
  const saveDialog = vi.fn(mock.saveDialog);
  const listen = vi.fn(mock.listen);
  setTransport({ invoke, listen, saveDialog });
  const calls = (cmd: string) =>
    invoke.mock.calls.filter((c) => c[0] === cmd).map((c) => (c[1] ?? {}) as Record<string, unknown>);
  return { mock, backend: mock.backend, invoke, saveDialog, listen, calls, failures };
}

export async function renderApp(hash: string) {
  window.location.hash = hash;
  const r = render(<App />);
  await waitFor(() => expect(screen.getByText("Lockbox admin center")).toBeInTheDocument());
  // Pages are lazy-loaded: wait until the page itself is there.
  await waitFor(() => expect(screen.queryByTestId("page-loading")).toBeNull(), { timeout: 15000 });
  return r;
}
