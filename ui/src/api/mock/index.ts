// An in-memory stand-in for the Lockbox engine, used by `npm run dev` in a
// plain browser and by the component tests. It follows the engine's rules and
// messages — state transitions, validation, keyset paging, a hash-chained
// audit log, change events — and tests/scenarios/commands.json holds it to
// them: the same table runs against the real commands (src-tauri/tests/
// scenarios.rs) and against this mock (mock.scenarios.test.ts).
//
// backend.ts    state, events, deadlines, the seeding API (fileRequest, providerApprove)
// dispatch.ts   command name -> typed handler
// requests.ts   filing, decisions, the request list
// audit.ts      audit queries, verification, home stats
// directory.ts  settings and users
// provider.ts   provider connections, email, the provider API
// seed.ts       the demo data; a new store's start
// util.ts       time, errors, text checks, hashing

import { CHANGED_EVENT, CONNECTION_EVENT, NAVIGATE_EVENT, type Transport } from "../transport";
import { MockBackend } from "./backend";
import type { MockOptions } from "./types";

export { MockBackend } from "./backend";
export type { MockedCommand } from "./dispatch";
export { MOCK_USER, type MockApi, type MockNewRequest, type MockOptions, type MockSmtp, type MockToken } from "./types";
export { mockHash } from "./util";

export type MockTransport = Transport & { backend: MockBackend };

/** A transport backed by a fresh MockBackend. */
export function createMockTransport(opts: MockOptions = {}): MockTransport {
  const backend = new MockBackend(opts);
  return {
    backend,
    invoke: async (cmd, args = {}) => {
      // Behave like IPC: always asynchronous, results are copies.
      await Promise.resolve();
      return backend.handle(cmd, args);
    },
    listen: async (event, handler) => {
      if (event === CHANGED_EVENT) return backend.listen(handler);
      if (event === NAVIGATE_EVENT) return backend.listenNavigate(handler);
      if (event === CONNECTION_EVENT) return backend.listenConnection(handler);
      return () => {};
    },
    saveDialog: async (o) => {
      const name = o.defaultPath ?? "lockbox-audit.csv";
      const realBrowser = typeof navigator !== "undefined" && !/jsdom/i.test(navigator.userAgent);
      if (realBrowser && typeof window !== "undefined" && typeof window.prompt === "function") {
        return window.prompt("Save as (browser demo: nothing is written)", `~/Downloads/${name}`);
      }
      return `/tmp/${name}`;
    },
  };
}
