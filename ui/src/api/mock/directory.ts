// A tenant's settings and its users, with the engine's rules (model.rs
// `Settings::validate`, engine.rs `update_settings`, `add_user`, `remove_user`).

import type { Role } from "../../bindings/Role";
import type { SettingsDto } from "../../bindings/SettingsDto";
import type { UserDto } from "../../bindings/UserDto";
import type { MockBackend } from "./backend";
import { clone, DAY, fail, formatDuration, iso, LIMITS, optional, required, samePerson, validateEmail } from "./util";

const MAX_LIFETIME_S = 30 * DAY;

function validate(s: SettingsDto): void {
  const within = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!within(s.request_lifetime_s, 1, MAX_LIFETIME_S)) fail("invalid_input", "request-lifetime must be between 1s and 30d");
  if (!within(s.max_access_duration_s, 1, MAX_LIFETIME_S)) fail("invalid_input", "max-access-duration must be between 1s and 30d");
  if (!within(s.approvals_required, 1, 100)) fail("invalid_input", "approvals-required must be between 1 and 100");
  if (!within(s.provider_approvals_required, 0, 100)) fail("invalid_input", "provider-approvals-required must be between 0 and 100");
  if (s.reminder_lead_s !== null && !within(s.reminder_lead_s, 1, MAX_LIFETIME_S)) {
    fail("invalid_input", "reminder-lead must be off or between 1s and 30d");
  }
}

/** Settings as ordered (key, value) pairs in their CLI spelling (`Settings::entries`). */
function entries(s: SettingsDto): Array<[string, string]> {
  return [
    ["lockbox", s.lockbox_enabled ? "on" : "off"],
    ["request-lifetime", formatDuration(s.request_lifetime_s)],
    ["max-access-duration", formatDuration(s.max_access_duration_s)],
    ["approvals-required", String(s.approvals_required)],
    ["provider-approvals-required", String(s.provider_approvals_required)],
    ["reminder-lead", s.reminder_lead_s === null ? "off" : formatDuration(s.reminder_lead_s)],
  ];
}

export function updateSettings(b: MockBackend, tenant: string, s: SettingsDto): SettingsDto {
  validate(s);
  b.requireRole(true);
  const before = b.settingsOf(tenant);
  const next = entries(s);
  const changes = entries(before)
    .map(([key, old], i) => ({ key, old, new: next[i]?.[1] ?? old }))
    .filter((c) => c.old !== c.new);
  // Nothing changed: nothing is written or audited.
  if (changes.length === 0) return clone(before);
  b.settings.set(tenant, clone(s));
  b.log(tenant, "customer", b.user, "settings_changed", null, { changes });
  b.emit("settings_changed", tenant);
  b.emit("audit_appended", tenant);
  return clone(s);
}

/** The tenant's users, by name (as the store lists them). */
export function listUsers(b: MockBackend, tenant: string): UserDto[] {
  return clone([...(b.users.get(tenant) ?? [])].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)));
}

export function addUser(b: MockBackend, tenant: string, rawName: string, role: Role, rawEmail: string | null): UserDto {
  const name = required("user name", rawName);
  const email = optional("email", rawEmail, LIMITS.NAME);
  if (email !== null) validateEmail(email);
  if (role !== "admin" && role !== "approver") fail("invalid_input", "role must be admin or approver");
  b.requireRole(true);
  const users = b.users.get(tenant) ?? [];
  // Two users who are "the same person" could each cast a vote of a quorum.
  const same = users.find((u) => samePerson(u.name, name));
  if (same) {
    const differently = same.name === name ? "" : " (the same name, written differently)";
    fail("already_exists", `user '${same.name}' already exists in tenant '${tenant}'${differently}`);
  }
  const u: UserDto = { name, role, email, created_at: iso(b.now()) };
  users.push(u);
  b.users.set(tenant, users);
  b.log(tenant, "customer", b.user, "user_added", null, { user: u.name, role: u.role, email: u.email });
  b.emit("settings_changed", tenant);
  b.emit("audit_appended", tenant);
  return clone(u);
}

export function removeUser(b: MockBackend, tenant: string, name: string): null {
  b.requireRole(true);
  const users = b.users.get(tenant) ?? [];
  const u = users.find((x) => x.name === name);
  if (!u) fail("not_found", `no user '${name}' in tenant '${tenant}'`);
  if (u.role === "admin" && users.filter((x) => x.role === "admin").length <= 1) {
    fail("not_permitted", `'${name}' is the last admin of tenant '${tenant}': add another admin first`);
  }
  b.users.set(
    tenant,
    users.filter((x) => x !== u),
  );
  b.log(tenant, "customer", b.user, "user_removed", null, { user: u.name, role: u.role });
  b.emit("settings_changed", tenant);
  b.emit("audit_appended", tenant);
  return null;
}
