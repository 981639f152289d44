import { describe, expect, it } from "vitest";
import { MINUTE_GRID_OFFSET_MS, onMinuteGrid, relativeTime, relativeTimeChangesAt, relativeTimeDue } from "./time";

describe("relativeTime", () => {
  it("says now within a minute and counts minutes after that (no per-second text)", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    const ago = (s: number) => new Date(now - s * 1000).toISOString();
    expect(relativeTime(ago(0), now)).toBe("now");
    expect(relativeTime(ago(44), now)).toBe("now");
    expect(relativeTime(ago(59), now)).toBe("now");
    expect(relativeTime(ago(61), now)).toBe("1 minute ago");
    expect(relativeTime(ago(5 * 60), now)).toBe("5 minutes ago");
    expect(relativeTime(new Date(now + 3 * 3600 * 1000).toISOString(), now)).toBe("in 3 hours");
  });
});

describe("relativeTimeChangesAt", () => {
  // The text stays the same up to the instant before, and differs at it.
  function check(t: number, now: number) {
    const iso = new Date(t).toISOString();
    const at = relativeTimeChangesAt(iso, now);
    const text = relativeTime(iso, now);
    expect(at).toBeGreaterThan(now);
    if (at === Infinity) {
      expect(relativeTime(iso, now + 400 * 86_400_000)).toBe(text);
      return;
    }
    // Never late: nothing changes before `at`, and at `at` it has changed.
    expect(relativeTime(iso, at - 1), `t-now=${t - now}`).toBe(text);
    expect(relativeTime(iso, at), `t-now=${t - now}`).not.toBe(text);
  }

  it("finds the next change for past and future times in every band", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    const offsets = [0, 1, 59_999, 60_000, 89_999, 90_000, 150_000, 44 * 60_000, 45 * 60_000, 3 * 3_600_000 + 1_799_999,
      21 * 3_600_000, 22 * 3_600_000, 3 * 86_400_000 + 43_200_000, 25 * 86_400_000, 26 * 86_400_000, 27 * 86_400_000];
    for (const o of offsets) {
      for (const sign of [-1, 1]) check(now + sign * o, now);
    }
    // And a walk: following the changes from 30 days ahead to 30 days ago meets every text once.
    let seeded = 12_345;
    const rand = () => ((seeded = (seeded * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) check(now + Math.round((rand() * 2 - 1) * 30 * 86_400_000), now);
  });

  it("walks a row's texts: a minute-granular text changes about once a minute, not every second", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    const iso = new Date(now - 5_000).toISOString();
    const seen: number[] = [];
    let t = now;
    while (t < now + 10 * 60_000) {
      t = relativeTimeChangesAt(iso, t);
      seen.push(t - now);
    }
    // "now" until a minute old, then each minute at the half (1.5 min -> "2 minutes ago").
    expect(seen.slice(0, 4)).toEqual([55_000, 85_001, 145_001, 205_001]);
  });

  it("gives no change for a missing or unreadable time, and lateness by unit", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    expect(relativeTimeChangesAt(null, now)).toBe(Infinity);
    expect(relativeTimeChangesAt("soon", now)).toBe(Infinity);
    expect(relativeTimeDue(null, now)).toBe(Infinity);
    // "5 minutes ago" turns "6 minutes ago" 30 s from now: looked at on the next whole minute.
    const ago = new Date(now - 5 * 60_000).toISOString();
    expect(relativeTimeChangesAt(ago, now)).toBe(now + 30_000 + 1);
    expect(relativeTimeDue(ago, now)).toBe(now + 60_000 + MINUTE_GRID_OFFSET_MS);
    // Hours: a minute late.
    const later = new Date(now + 3 * 3_600_000).toISOString();
    expect(relativeTimeDue(later, now)).toBe(relativeTimeChangesAt(later, now) + 60_000);
  });

  it("puts an instant on the next whole minute plus the offset, or keeps it when it is one", () => {
    const m = Date.parse("2025-01-01T12:00:00Z");
    expect(onMinuteGrid(m)).toBe(m + MINUTE_GRID_OFFSET_MS);
    expect(onMinuteGrid(m + MINUTE_GRID_OFFSET_MS)).toBe(m + MINUTE_GRID_OFFSET_MS);
    expect(onMinuteGrid(m + MINUTE_GRID_OFFSET_MS + 1)).toBe(m + 60_000 + MINUTE_GRID_OFFSET_MS);
  });
});
