import { describe, expect, it } from "vitest";
import { formatCountdown, formatDuration, humanDuration, parseDuration } from "./duration";

describe("parseDuration", () => {
  it.each([
    ["12h", 43200],
    ["90m", 5400],
    ["1d 6h", 108000],
    ["1h30m", 5400],
    ["45s", 45],
    ["2.5h", 9000],
    [" 30 minutes ", 1800],
    ["2 days", 172800],
  ])("%s = %i s", (text, s) => {
    expect(parseDuration(text)).toEqual({ ok: true, seconds: s });
  });

  it.each(["", "12", "abc", "5 parsecs", "h", "1h abc"])("refuses %j", (text) => {
    expect(parseDuration(text).ok).toBe(false);
  });

  it("asks for a unit on bare numbers", () => {
    expect(parseDuration("12")).toEqual({ ok: false, error: "Add a unit: s, m, h or d (for example 12h)." });
  });
});

describe("formatting", () => {
  it("round-trips through formatDuration", () => {
    for (const s of [1, 59, 60, 5400, 43200, 108000, 30 * 86400]) {
      const p = parseDuration(formatDuration(s));
      expect(p).toEqual({ ok: true, seconds: s });
    }
  });
  it("reads durations in words", () => {
    expect(humanDuration(43200)).toBe("12 hours");
    expect(humanDuration(5400)).toBe("1 hour 30 minutes");
    expect(humanDuration(86400 + 60)).toBe("1 day 1 minute");
  });
  it("formats countdowns", () => {
    expect(formatCountdown(0)).toBe("0m 00s");
    expect(formatCountdown(65_000)).toBe("1m 05s");
    expect(formatCountdown(2 * 3600_000 + 5 * 60_000 + 9000)).toBe("2h 05m");
    expect(formatCountdown(59 * 60_000 + 9000)).toBe("59m 09s");
    expect(formatCountdown(3 * 86400_000 + 4 * 3600_000)).toBe("3d 4h");
  });
});
