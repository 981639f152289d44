import { afterEach, describe, expect, it, vi } from "vitest";
import { TEST_NOW } from "../test/clock";
import { coalescer } from "./coalesce";

function setVisibility(state: "visible" | "hidden") {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  document.dispatchEvent(new Event("visibilitychange"));
}

afterEach(() => setVisibility("visible"));

describe("coalescer", () => {
  it("serves a burst of requests with one run, after the wait", () => {
    vi.useFakeTimers({ now: TEST_NOW, toFake: ["Date", "setTimeout", "clearTimeout"] });
    const run = vi.fn();
    const c = coalescer(run, 500);
    for (let i = 0; i < 10; i++) {
      c.request();
      vi.advanceTimersByTime(40);
    }
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    expect(run).toHaveBeenCalledTimes(1);
    // A later change is not lost: it gets its own run.
    c.request();
    vi.advanceTimersByTime(500);
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(10_000);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it("runs nothing while the window is hidden, then once, at once, when shown", () => {
    vi.useFakeTimers({ now: TEST_NOW, toFake: ["Date", "setTimeout", "clearTimeout"] });
    const run = vi.fn();
    const c = coalescer(run, 500);
    setVisibility("hidden");
    for (let i = 0; i < 100; i++) {
      c.request();
      vi.advanceTimersByTime(6_000);
    }
    expect(run).not.toHaveBeenCalled();
    setVisibility("visible");
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(run).toHaveBeenCalledTimes(1);
    // Shown again with nothing owed: nothing runs.
    setVisibility("hidden");
    setVisibility("visible");
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("holds a run whose wait ends while the window is hidden until it is shown", () => {
    vi.useFakeTimers({ now: TEST_NOW, toFake: ["Date", "setTimeout", "clearTimeout"] });
    const run = vi.fn();
    const c = coalescer(run, 500);
    c.request();
    setVisibility("hidden");
    vi.advanceTimersByTime(1_000);
    expect(run).not.toHaveBeenCalled();
    setVisibility("visible");
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("runs nothing after dispose", () => {
    vi.useFakeTimers({ now: TEST_NOW, toFake: ["Date", "setTimeout", "clearTimeout"] });
    const run = vi.fn();
    const c = coalescer(run, 500);
    c.request();
    c.dispose();
    setVisibility("hidden");
    c.request();
    c.dispose();
    setVisibility("visible");
    vi.advanceTimersByTime(1_000);
    expect(run).not.toHaveBeenCalled();
  });
});
