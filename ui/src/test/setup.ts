import { configure } from "@testing-library/react";
import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach, beforeEach, vi } from "vitest";
import { setTransport } from "../api/client";
import { TEST_NOW } from "./clock";

process.env.TZ = "UTC";

// Time comes from the test clock, not the machine's: only `Date` is faked
// (timers stay real, so Testing Library's waiting and the app's own timers
// work as usual) and it stands still at TEST_NOW until a test moves it. It is
// installed before the test file imports the app, so module-level reads of
// the time (the shared ticker in lib/hooks.ts) see it too, and re-installed
// before every test, so no test inherits another's clock.
function startTestClock() {
  vi.useFakeTimers({ now: TEST_NOW, toFake: ["Date"] });
}
startTestClock();
beforeEach(startTestClock);

// jsdom lacks a few browser APIs that Fluent UI uses.
class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
const g = globalThis as unknown as Record<string, unknown>;
g.ResizeObserver ??= ResizeObserverStub;
if (!window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener: () => {},
      removeEventListener: () => {},
      addListener: () => {},
      removeListener: () => {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}
// Tabster (Fluent's focus manager) decides modality asynchronously from
// layout information jsdom doesn't have, and then leaves open dialogs and
// drawers marked aria-hidden at random (microsoft/fluentui#33897). Tests find
// elements by role, so switch Tabster to its built-in no-op mode: focus
// trapping is Fluent's own concern and isn't what these tests check.
// Tabster deletes the property when it disposes itself, so re-arm the hook
// before every test.
function neuterTabster() {
  const w = window as unknown as { __tabsterInstance?: { _noop?: boolean } };
  const desc = Object.getOwnPropertyDescriptor(w, "__tabsterInstance");
  if (desc?.set) return;
  let instance = w.__tabsterInstance;
  if (instance) instance._noop = true;
  Object.defineProperty(w, "__tabsterInstance", {
    configurable: true,
    get: () => instance,
    set: (v: { _noop?: boolean } | undefined) => {
      if (v) v._noop = true;
      instance = v;
    },
  });
}
neuterTabster();
beforeEach(neuterTabster);
if (!Element.prototype.scrollIntoView) Element.prototype.scrollIntoView = () => {};

afterEach(() => {
  cleanup();
  setTransport(null);
  window.location.hash = "";
  window.localStorage.clear();
});

// Pages are lazy-loaded chunks and this machine is small and shared: give
// findBy*/waitFor more than the default second before they give up.
configure({ asyncUtilTimeout: 5000 });
