const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function formatDateTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return (seconds ? dateTimeSeconds : dateTime).format(t);
}

/**
 * "5 minutes ago", "in 2 hours"; "now" within a minute. Minutes are the finest
 * unit, so a page showing these times changes once a minute, not every second.
 */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = (t - now) / 1000;
  const abs = Math.abs(diff);
  if (abs < 60) return relative.format(0, "second");
  if (abs < 45 * 60) return relative.format(Math.round(diff / 60), "minute");
  if (abs < 22 * 3600) return relative.format(Math.round(diff / 3600), "hour");
  if (abs < 26 * 86400) return relative.format(Math.round(diff / 86400), "day");
  return formatDateTime(iso);
}

const MIN_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
// relativeTime's bands: |t - now| below each bound uses its unit.
/** Below this, relativeTime counts minutes. */
const MINUTES_BELOW = 45 * MIN_MS;
const BANDS: Array<{ below: number; unit: number; slack: number }> = [
  { below: MINUTES_BELOW, unit: MIN_MS, slack: 0 }, // (on the minute grid instead: relativeTimeDue)
  { below: 22 * HOUR_MS, unit: HOUR_MS, slack: MIN_MS },
  { below: 26 * DAY_MS, unit: DAY_MS, slack: 10 * MIN_MS },
];

/**
 * The first instant after `now` at which `relativeTime(iso, now)` can read
 * differently (never later than that; Infinity if it never changes: a date
 * shown in full, a past one beyond 26 days).
 */
export function relativeTimeChangesAt(iso: string | null | undefined, now: number): number {
  if (!iso) return Infinity;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return Infinity;
  const s = t - now; // falls as time passes
  const abs = Math.abs(s);
  // The band's own edges: a future time's |s| falls below `lo`, a past one's grows to `hi`.
  const leave = (lo: number, hi: number) => (s > 0 ? Math.floor(t - lo) + 1 : Math.ceil(t + hi));
  if (abs < MIN_MS) return t + MIN_MS; // "now" until it is a minute past
  let lo = MIN_MS;
  for (const b of BANDS) {
    if (abs < b.below) {
      // Math.round(s / unit) = k until s / unit < k - 1/2.
      const k = Math.round(s / b.unit);
      return Math.min(Math.floor(t - (k - 0.5) * b.unit) + 1, leave(lo, b.below));
    }
    lo = b.below;
  }
  return s > 0 ? Math.floor(t - lo) + 1 : Infinity;
}

/**
 * Minute texts ("5 minutes ago", "now") are looked at again on the clock's
 * whole minutes, this long after: every such text on screen changes in one
 * repaint a minute, whatever instants its times fall on, and it is the frame
 * the desktop's held expiries arrive for (it tells them on the whole minute,
 * `lockbox_core::feed::ExpiryHold`; their refetch takes well under this).
 */
export const MINUTE_GRID_OFFSET_MS = 2_000;

/** The first instant at or after `at` that is a whole minute (since the epoch) plus MINUTE_GRID_OFFSET_MS. */
export function onMinuteGrid(at: number): number {
  return Math.ceil((at - MINUTE_GRID_OFFSET_MS) / MIN_MS) * MIN_MS + MINUTE_GRID_OFFSET_MS;
}

/**
 * By when a `relativeTime` text must be looked at again: its next change
 * ([`relativeTimeChangesAt`]) plus the lateness nobody notices. A minute text
 * waits for the next whole minute ([`onMinuteGrid`], under a minute late); an
 * "in 3 hours" a minute; days ten minutes. Texts that change at nearby
 * instants share one repaint.
 */
export function relativeTimeDue(iso: string | null | undefined, now: number): number {
  const at = relativeTimeChangesAt(iso, now);
  if (!iso || at === Infinity) return at;
  const abs = Math.abs(Date.parse(iso) - now);
  if (abs < MINUTES_BELOW) return onMinuteGrid(at);
  return at + (BANDS.find((b) => abs < b.below)?.slack ?? 10 * MIN_MS);
}

/** The UTC instant of local midnight starting the given YYYY-MM-DD day. */
export function startOfDayIso(day: string): string | null {
  const d = parseDay(day, 0);
  return d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : null;
}

/** A real calendar day (rejects 2025-02-30) at local midnight, plus `addDays`. */
function parseDay(day: string, addDays: number): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const [y, mo, da] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(y, mo - 1, da);
  if (check.getFullYear() !== y || check.getMonth() !== mo - 1 || check.getDate() !== da) return null;
  return new Date(y, mo - 1, da + addDays);
}

/** Local midnight starting the given YYYY-MM-DD day, or null if it isn't a real day. */
export function parseLocalDay(day: string): Date | null {
  return parseDay(day.trim(), 0);
}

/** The local calendar day of `d` as YYYY-MM-DD. */
export function formatLocalDay(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The UTC instant of local midnight ending the given YYYY-MM-DD day (exclusive bound). */
export function endOfDayIso(day: string): string | null {
  const d = parseDay(day, 1);
  return d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : null;
}

/**
 * A short, distinguishable form of a request id. Ids are UUIDv7: the first
 * characters are a timestamp shared by requests filed together, so show the
 * random tail instead.
 */
export function shortId(id: string): string {
  return id.replace(/-/g, "").slice(-8);
}
