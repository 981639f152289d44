import { describe, expect, it } from "vitest";
import { relativeTime } from "./time";

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
