import { act, render } from "@testing-library/react";
import { useLayoutEffect } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TEST_NOW } from "../test/clock";
import { countdownChangesAt, countdownSlack, formatCountdown } from "./duration";
import { refreshTimeTexts, tickerState, useTickValue } from "./hooks";
import { MINUTE_GRID_OFFSET_MS, relativeTime, relativeTimeDue } from "./time";

// The ticker with every timer faked: time passes only when the test advances it.
function fakeTime() {
  vi.useFakeTimers({ now: TEST_NOW, toFake: ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
}

function setVisibility(state: "visible" | "hidden") {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  document.dispatchEvent(new Event("visibilitychange"));
}

afterEach(() => {
  setVisibility("visible");
  vi.restoreAllMocks();
});

const renders: string[] = [];
/** When each of `renders` happened, on the test's fake clock. */
const renderedAt: number[] = [];

function Ago({ at }: { at: number }) {
  const iso = new Date(at).toISOString();
  const text = useTickValue(
    (now) => relativeTime(iso, now),
    (now) => relativeTimeDue(iso, now),
  );
  renders.push(text);
  useLayoutEffect(() => {
    renderedAt.push(vi.getMockedSystemTime()?.getTime() ?? NaN);
  });
  return <span>{text}</span>;
}

function Left({ at }: { at: number }) {
  const text = useTickValue(
    (now) => (at - now <= 0 ? "Expired" : formatCountdown(at - now)),
    (now) => countdownChangesAt(at, now) + countdownSlack(at, now),
  );
  renders.push(text);
  return <span>{text}</span>;
}

describe("the shared ticker", () => {
  it("wakes once per change of a minute text, not every second, on the minute", async () => {
    fakeTime();
    renders.length = 0;
    const fired = vi.spyOn(globalThis, "setTimeout");
    const { container } = render(<Ago at={TEST_NOW - 5_000} />);
    await act(async () => {});
    expect(container.textContent).toBe("now");
    // "now" until a minute old (55 s from here), looked at on the next whole minute (+ 2 s).
    expect(tickerState().due).toBe(TEST_NOW + 60_000 + MINUTE_GRID_OFFSET_MS);
    fired.mockClear();
    renders.length = 0;
    renderedAt.length = 0;
    const seen: string[] = [];
    for (let i = 0; i < 602; i++) {
      await act(() => vi.advanceTimersByTimeAsync(1_000));
      seen.push(container.textContent ?? "");
    }
    expect(container.textContent).toBe("10 minutes ago");
    // One timer per change of the text (10 in 10 minutes), not 600 one-second ticks,
    // and one render per change, each on a whole minute plus the offset.
    expect(fired.mock.calls.length).toBeLessThanOrEqual(11);
    expect(renders).toEqual(["1 minute ago", ...[2, 3, 4, 5, 6, 7, 8, 9, 10].map((m) => `${m} minutes ago`)]);
    expect(renderedAt.map((t) => t % 60_000)).toEqual(renderedAt.map(() => MINUTE_GRID_OFFSET_MS));
    // Each text shows less than a minute after it became true.
    const truth = Array.from({ length: 602 }, (_, i) => relativeTime(new Date(TEST_NOW - 5_000).toISOString(), TEST_NOW + (i + 1) * 1_000));
    const late = seen.filter((t, i) => t !== truth[i]).length;
    expect(late).toBeLessThanOrEqual(10 * 60);
  });

  it("lets texts that change at different instants of a minute share one wake-up and render", async () => {
    fakeTime();
    renders.length = 0;
    const { container } = render(
      <>
        <Ago at={TEST_NOW - 20_000} />
        <Ago at={TEST_NOW - 5_000} />
      </>,
    );
    await act(async () => {});
    // The first becomes "1 minute ago" 40 s from now, the second 55 s: one timer on the next minute covers both.
    expect(tickerState().due).toBe(TEST_NOW + 60_000 + MINUTE_GRID_OFFSET_MS);
    renders.length = 0;
    await act(() => vi.advanceTimersByTimeAsync(60_000 + MINUTE_GRID_OFFSET_MS));
    expect(container.textContent).toBe("1 minute ago1 minute ago");
    expect(renders).toEqual(["1 minute ago", "1 minute ago"]);
  });

  it("brings texts up to date in a render that repaints anyway, and then has nothing left to render", async () => {
    fakeTime();
    renders.length = 0;
    const { container } = render(<Ago at={TEST_NOW - 20_000} />);
    await act(async () => {});
    await act(() => vi.advanceTimersByTimeAsync(45_000));
    // It became "1 minute ago" 5 s ago; its look is due on the minute.
    expect(container.textContent).toBe("now");
    renders.length = 0;
    act(() => refreshTimeTexts());
    expect(container.textContent).toBe("1 minute ago");
    expect(renders).toEqual(["1 minute ago"]);
    await act(() => vi.advanceTimersByTimeAsync(15_000 + MINUTE_GRID_OFFSET_MS));
    expect(tickerState().due).toBe(TEST_NOW + 120_000 + MINUTE_GRID_OFFSET_MS);
    expect(renders).toEqual(["1 minute ago"]);
    // Nothing changed since: a refresh renders nothing.
    act(() => refreshTimeTexts());
    expect(renders).toEqual(["1 minute ago"]);
  });

  it("takes a look due in a moment ahead, so its changes share the refresh's render", async () => {
    fakeTime();
    renders.length = 0;
    const { container } = render(
      <>
        <Ago at={TEST_NOW - 20_000} />
        <Ago at={TEST_NOW + 1_000} />
      </>,
    );
    await act(async () => {});
    // The first changes 40 s from now, the second 61 s: both are looked at 62 s from now.
    await act(() => vi.advanceTimersByTimeAsync(60_500));
    expect(container.textContent).toBe("nownow");
    renders.length = 0;
    act(() => refreshTimeTexts());
    // The look due 1.5 s from now is taken now, for its instant.
    expect(container.textContent).toBe("1 minute ago1 minute ago");
    expect(renders).toEqual(["1 minute ago", "1 minute ago"]);
    await act(() => vi.advanceTimersByTimeAsync(1_500));
    expect(renders).toEqual(["1 minute ago", "1 minute ago"]);
    // A look further off is not taken ahead (the next changes come 70 and 91 s from the start).
    await act(() => vi.advanceTimersByTimeAsync(3_000));
    act(() => refreshTimeTexts());
    expect(renders).toEqual(["1 minute ago", "1 minute ago"]);
    expect(tickerState().due).toBe(TEST_NOW + 120_000 + MINUTE_GRID_OFFSET_MS);
  });

  it("counts seconds exactly in the last minute and stops at the deadline", async () => {
    fakeTime();
    const { container } = render(<Left at={TEST_NOW + 3_500} />);
    await act(async () => {});
    expect(container.textContent).toBe("0m 03s");
    await act(() => vi.advanceTimersByTimeAsync(501));
    expect(container.textContent).toBe("0m 02s");
    await act(() => vi.advanceTimersByTimeAsync(3_000));
    expect(container.textContent).toBe("Expired");
    expect(tickerState()).toEqual({ subscribers: 1, due: null });
  });

  it("sets no timer while the window is hidden, and catches up at once when shown", async () => {
    fakeTime();
    renders.length = 0;
    const { container } = render(<Ago at={TEST_NOW - 5_000} />);
    await act(async () => {});
    expect(tickerState().due).not.toBeNull();
    act(() => setVisibility("hidden"));
    expect(tickerState()).toEqual({ subscribers: 1, due: null });
    const count = renders.length;
    await act(() => vi.advanceTimersByTimeAsync(30 * 60_000));
    expect(renders.length).toBe(count);
    expect(container.textContent).toBe("now");
    await act(async () => setVisibility("visible"));
    expect(container.textContent).toBe("30 minutes ago");
    expect(tickerState().due).toBe(relativeTimeDue(new Date(TEST_NOW - 5_000).toISOString(), TEST_NOW + 30 * 60_000));
  });

  it("backs off instead of spinning when the clock does not move", async () => {
    fakeTime();
    const { container } = render(<Left at={TEST_NOW + 1_000} />);
    await act(async () => {});
    expect(container.textContent).toBe("0m 01s");
    // The clock stands still (as in the other suites); the text's change is 1 ms away.
    vi.spyOn(Date, "now").mockReturnValue(TEST_NOW);
    const fired = vi.spyOn(globalThis, "setTimeout");
    await act(() => vi.advanceTimersByTimeAsync(5_000));
    expect(fired.mock.calls.length).toBeLessThan(20);
    expect(container.textContent).toBe("0m 01s");
  });

  it("stops its timer when the last text unmounts", async () => {
    fakeTime();
    const { unmount } = render(<Ago at={TEST_NOW - 5_000} />);
    await act(async () => {});
    expect(tickerState().subscribers).toBe(1);
    unmount();
    expect(tickerState()).toEqual({ subscribers: 0, due: null });
  });
});
