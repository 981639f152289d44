import { configure } from "@testing-library/react";
import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach, beforeEach } from "vitest";
import { setTransport } from "../api/client";

process.env.TZ = "UTC";

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
