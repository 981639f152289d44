import { describe, expect, it } from "vitest";
import { countdownChangesAt, countdownSlack, formatCountdown, formatDuration, humanDuration, parseDuration } from "./duration";

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

describe("countdownChangesAt", () => {
  const text = (at: number, now: number) => (at - now <= 0 ? "passed" : formatCountdown(at - now));
  it("is the first instant the countdown reads differently, in every unit", () => {
    const now = 1_700_000_000_000;
    const lefts = [1, 999, 1000, 1001, 59_999, 60_000, 3_599_999, 3_600_000, 3_600_001, 3_660_500, 86_399_999, 86_400_000,
      86_400_001, 3 * 86_400_000 + 4 * 3_600_000 + 17];
    let seeded = 7;
    const rand = () => ((seeded = (seeded * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) lefts.push(1 + Math.floor(rand() * 40 * 86_400_000));
    for (const left of lefts) {
      const at = now + left;
      const next = countdownChangesAt(at, now);
      expect(next).toBeGreaterThan(now);
      expect(text(at, next - 1), `left=${left}`).toBe(text(at, now));
      expect(text(at, next), `left=${left}`).not.toBe(text(at, now));
    }
    expect(countdownChangesAt(now, now)).toBe(Infinity);
    expect(countdownChangesAt(now - 5, now)).toBe(Infinity);
  });

  it("ticks every second only in the last hour, and slack matches", () => {
    const now = 1_700_000_000_000;
    expect(countdownChangesAt(now + 2 * 3_600_000 + 5 * 60_000 + 9_000, now) - now).toBe(9_001);
    expect(countdownChangesAt(now + 3 * 86_400_000 + 4 * 3_600_000 + 120_000, now) - now).toBe(120_001);
    expect(countdownChangesAt(now + 65_500, now) - now).toBe(501);
    expect(countdownSlack(now + 65_500, now)).toBe(0);
    expect(countdownSlack(now + 2 * 3_600_000, now)).toBe(1_000);
  });
});
