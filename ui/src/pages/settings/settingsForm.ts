import type { AppPrefsDto } from "../../bindings/AppPrefsDto";
import type { SettingsDto } from "../../bindings/SettingsDto";
import { DAY, formatDuration, parseDuration } from "../../lib/duration";

/** What the edit panel holds: text as typed, parsed on validation. */
export type SettingsForm = {
  lockbox_enabled: boolean;
  request_lifetime: string;
  max_access_duration: string;
  approvals_required: string;
  provider_approvals_required: string;
  reminder_enabled: boolean;
  reminder_lead: string;
  notifications_enabled: boolean;
  start_at_login: boolean;
};

export type SettingsErrors = Partial<Record<keyof SettingsForm, string>>;

export const MAX_SECONDS = 30 * DAY;

export function toForm(s: SettingsDto, p: AppPrefsDto): SettingsForm {
  return {
    lockbox_enabled: s.lockbox_enabled,
    request_lifetime: formatDuration(s.request_lifetime_s),
    max_access_duration: formatDuration(s.max_access_duration_s),
    approvals_required: String(s.approvals_required),
    provider_approvals_required: String(s.provider_approvals_required),
    reminder_enabled: s.reminder_lead_s !== null,
    reminder_lead: formatDuration(s.reminder_lead_s ?? 2 * 3600),
    notifications_enabled: p.notifications_enabled,
    start_at_login: p.start_at_login,
  };
}

function parseCount(text: string, min: number, what: string): number | string {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return `Enter a whole number (${min} or more).`;
  const n = Number(t);
  if (n < min) return `${what} must be at least ${min}.`;
  if (n > 100) return `${what} must be at most 100.`;
  return n;
}

export type Validated =
  | { ok: true; settings: SettingsDto; prefs: AppPrefsDto }
  | { ok: false; errors: SettingsErrors };

export function validateForm(f: SettingsForm): Validated {
  const errors: SettingsErrors = {};

  let lifetime = 0;
  const l = parseDuration(f.request_lifetime);
  if (!l.ok) errors.request_lifetime = l.error;
  else if (l.seconds < 1 || l.seconds > MAX_SECONDS) errors.request_lifetime = "Request lifetime must be between 1 second and 30 days.";
  else lifetime = l.seconds;

  let maxDuration = 0;
  const m = parseDuration(f.max_access_duration);
  if (!m.ok) errors.max_access_duration = m.error;
  else if (m.seconds <= 0 || m.seconds > MAX_SECONDS) errors.max_access_duration = "Maximum access duration must be more than 0 and at most 30 days.";
  else maxDuration = m.seconds;

  const approvals = parseCount(f.approvals_required, 1, "Approvals required");
  if (typeof approvals === "string") errors.approvals_required = approvals;
  const provider = parseCount(f.provider_approvals_required, 0, "Provider approvals required");
  if (typeof provider === "string") errors.provider_approvals_required = provider;

  let reminder: number | null = null;
  if (f.reminder_enabled) {
    const r = parseDuration(f.reminder_lead);
    if (!r.ok) errors.reminder_lead = r.error;
    else if (r.seconds <= 0 || r.seconds > MAX_SECONDS) errors.reminder_lead = "Reminder lead time must be more than 0 and at most 30 days.";
    else reminder = r.seconds;
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      lockbox_enabled: f.lockbox_enabled,
      request_lifetime_s: lifetime,
      max_access_duration_s: maxDuration,
      approvals_required: approvals as number,
      provider_approvals_required: provider as number,
      reminder_lead_s: reminder,
    },
    prefs: { notifications_enabled: f.notifications_enabled, start_at_login: f.start_at_login },
  };
}
