// Small pieces the mock engine shares: time, errors, text checks ported from
// the engine (lockbox-core model.rs and text.rs), hashing and randomness.

import type { AuditEntryDto } from "../../bindings/AuditEntryDto";
import type { ErrorCode } from "../../bindings/ErrorCode";
import type { ErrorDto } from "../../bindings/ErrorDto";
import type { RequestState } from "../../bindings/RequestState";
import type { SettingsDto } from "../../bindings/SettingsDto";

export const MIN = 60;
export const HOUR = 3600;
export const DAY = 86400;
export const ZERO_HASH = "0".repeat(64);

/** The engine's field limits (model.rs `limits`). */
export const LIMITS = { NAME: 128, COMMENT: 2000 } as const;

export const DEFAULT_SETTINGS: SettingsDto = {
  lockbox_enabled: true,
  request_lifetime_s: 12 * HOUR,
  max_access_duration_s: 4 * HOUR,
  approvals_required: 1,
  provider_approvals_required: 1,
  reminder_lead_s: HOUR,
};

export const TERMINAL: readonly RequestState[] = ["completed", "rejected", "expired", "canceled", "revoked"];

/** RFC 3339 with second precision, `Z` (what the engine writes for whole seconds). */
export function iso(msSinceEpoch: number): string {
  return new Date(msSinceEpoch).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function ms(isoTime: string): number {
  return Date.parse(isoTime);
}

/** Like the engine's `parse_time`: RFC 3339, or a plain date (midnight UTC). */
export function parseTime(s: string): number {
  const t = s.trim();
  const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
  const date = /^\d{4}-\d{2}-\d{2}$/;
  const v = rfc3339.test(t) || date.test(t) ? Date.parse(date.test(t) ? `${t}T00:00:00Z` : t) : NaN;
  if (Number.isNaN(v)) {
    fail("invalid_input", `'${t}' is not a time: use RFC 3339 (2026-11-29T10:00:00Z) or a date (2026-11-29)`);
  }
  return v;
}

export function fail(code: ErrorCode, message: string): never {
  const e: ErrorDto = { code, message };
  throw e;
}

export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Like the engine's `format_duration`: 9000 -> "2h30m", 0 -> "0s". */
export function formatDuration(secs: number): string {
  if (secs <= 0) return "0s";
  let out = "";
  let rest = secs;
  for (const [unit, size] of [["d", DAY], ["h", HOUR], ["m", MIN], ["s", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

const FORMAT_CHAR = /\p{Cf}/u;

/** Like the engine's `refused_char`: the first character a field refuses, described. */
function refusedChar(value: string, multiline: boolean): string | null {
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
    if (control && !(multiline && (ch === "\n" || ch === "\t"))) {
      return ch === "\n" || ch === "\r"
        ? "a line break (this field is one line)"
        : `the control character U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
    }
    if (FORMAT_CHAR.test(ch)) {
      return `the invisible format character U+${c.toString(16).toUpperCase().padStart(4, "0")} (such as a bidi control)`;
    }
  }
  return null;
}

function checkText(field: string, value: unknown, max: number, multiline: boolean): string {
  const raw = typeof value === "string" ? value : "";
  const v = raw.trim();
  if (v === "") fail("invalid_input", `${field} must not be empty`);
  // The limit counts what was sent, not what is left after trimming.
  if ([...raw].length > max) fail("invalid_input", `${field} is longer than ${max} characters`);
  const bad = refusedChar(v, multiline);
  if (bad) fail("invalid_input", `${field} contains ${bad}`);
  return v;
}

/** Like the engine's `required()`: a trimmed one-line field. */
export function required(field: string, value: unknown, max: number = LIMITS.NAME): string {
  return checkText(field, value, max, false);
}

/** Like the engine's `optional()`: empty or missing becomes null. */
export function optional(field: string, value: unknown, max: number = LIMITS.NAME): string | null {
  const v = typeof value === "string" ? value.trim() : "";
  return v === "" ? null : checkText(field, v, max, false);
}

/** Like the engine's `optional_text()`: a multi-line field (a comment); empty becomes null. */
export function optionalText(field: string, value: unknown, max: number): string | null {
  const v = typeof value === "string" ? value.trim() : "";
  return v === "" ? null : checkText(field, v, max, true);
}

/** Like the engine's `identity_key`: names that are "the same person" share it. */
function identityKey(name: string): string {
  return name.replace(/\p{Cf}/gu, "").normalize("NFKC").toLowerCase().normalize("NFKC").trim();
}

export function samePerson(a: string, b: string): boolean {
  return a === b || identityKey(a) === identityKey(b);
}

/** Like the engine's `validate_email`. */
export function validateEmail(e: string): void {
  const at = e.indexOf("@");
  const local = at < 0 ? "" : e.slice(0, at);
  const domain = at < 0 ? "" : e.slice(at + 1);
  const ok = at >= 0 && local !== "" && domain.includes(".") && !domain.startsWith(".") && !domain.endsWith(".") && !/\s/.test(e);
  if (!ok) fail("invalid_input", `'${e}' is not an email address`);
}

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

export function uuid(r: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(r, ["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;
}

/** Not cryptographic: a stand-in for the engine's SHA-256 chain. */
export function mockHash(input: string): string {
  let out = "";
  for (let round = 0; round < 8; round++) {
    let h = (0x811c9dc5 ^ (round * 0x9e3779b1)) >>> 0;
    for (let i = 0; i < input.length; i++) {
      h ^= input.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, "0");
  }
  return out;
}

export function entryHash(e: Omit<AuditEntryDto, "hash">): string {
  return mockHash(
    JSON.stringify([e.prev_hash, e.seq, e.at, e.recorded_at, e.tenant, e.actor_kind, e.actor, e.operation, e.request_id, e.details]),
  );
}
