// Human durations: "12h", "90m", "1d 6h", "45s" <-> seconds.

export const MINUTE = 60;
export const HOUR = 3600;
export const DAY = 86400;

const UNITS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: MINUTE, min: MINUTE, mins: MINUTE, minute: MINUTE, minutes: MINUTE,
  h: HOUR, hr: HOUR, hrs: HOUR, hour: HOUR, hours: HOUR,
  d: DAY, day: DAY, days: DAY,
};

export type ParsedDuration = { ok: true; seconds: number } | { ok: false; error: string };

/**
 * Parses text such as "12h", "90m", "1d 6h", "1h30m" or "2.5h" into seconds.
 * A bare number is refused: the unit must be explicit.
 */
export function parseDuration(text: string): ParsedDuration {
  const t = text.trim().toLowerCase();
  if (t === "") return { ok: false, error: "Enter a duration, for example 12h, 90m or 1d." };
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)/g;
  let total = 0;
  let consumed = "";
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const unit = UNITS[m[2] ?? ""];
    if (unit === undefined) return { ok: false, error: `Unknown unit "${m[2] ?? ""}". Use s, m, h or d.` };
    total += Number(m[1]) * unit;
    consumed += m[0];
  }
  if (consumed.replace(/\s+/g, "") !== t.replace(/\s+/g, "")) {
    return /^\d+(\.\d+)?$/.test(t)
      ? { ok: false, error: "Add a unit: s, m, h or d (for example 12h)." }
      : { ok: false, error: "Enter a duration, for example 12h, 90m or 1d." };
  }
  const seconds = Math.round(total);
  return { ok: true, seconds };
}

/** Compact form for inputs: 43200 -> "12h", 5400 -> "1h 30m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "";
  let s = Math.max(0, Math.round(seconds));
  if (s === 0) return "0s";
  const parts: string[] = [];
  for (const [unit, size] of [["d", DAY], ["h", HOUR], ["m", MINUTE], ["s", 1]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join(" ");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Words for reading: 43200 -> "12 hours", 5400 -> "1 hour 30 minutes". */
export function humanDuration(seconds: number): string {
  let s = Math.max(0, Math.round(seconds));
  if (s === 0) return "0 seconds";
  const parts: string[] = [];
  for (const [word, size] of [["day", DAY], ["hour", HOUR], ["minute", MINUTE], ["second", 1]] as const) {
    if (s >= size) {
      parts.push(plural(Math.floor(s / size), word));
      s %= size;
    }
  }
  return parts.slice(0, 2).join(" ");
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Countdown text for a remaining time in ms: "2h 05m 09s", "3d 4h". */
export function formatCountdown(remainingMs: number): string {
  const s = Math.max(0, Math.floor(remainingMs / 1000));
  const d = Math.floor(s / DAY);
  const h = Math.floor((s % DAY) / HOUR);
  const m = Math.floor((s % HOUR) / MINUTE);
  const sec = s % MINUTE;
  // Seconds only in the last hour: further out, the text (and so the screen)
  // changes once a minute, which keeps an idle page with many rows cheap.
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(sec)}s`;
}

/**
 * The first instant after `now` at which the countdown to `at` (`formatCountdown(at - now)`,
 * or the text for "passed" once `now >= at`) reads differently; Infinity once it has passed.
 */
export function countdownChangesAt(at: number, now: number): number {
  const left = at - now;
  if (left <= 0) return Infinity;
  const s = Math.floor(left / 1000);
  // The text shows whole days and hours, then hours and minutes, then minutes and seconds.
  const step = s >= DAY ? HOUR : s >= HOUR ? MINUTE : 1;
  const floor = Math.floor(s / step) * step; // the text changes when s drops below this
  return Math.min(at - floor * 1000 + 1, at);
}

/** How late a countdown's text may change: none while it shows seconds, a second for minutes, a minute for hours. */
export function countdownSlack(at: number, now: number): number {
  const left = at - now;
  return left >= DAY * 1000 ? 60_000 : left >= HOUR * 1000 ? 1_000 : 0;
}
