// The mock engine's options and stored shapes.

import type { ApiSettingsDto } from "../../bindings/ApiSettingsDto";
import type { ArchiveDto } from "../../bindings/ArchiveDto";
import type { AuditEntryDto } from "../../bindings/AuditEntryDto";
import type { Role } from "../../bindings/Role";
import type { SmtpInput } from "../../bindings/SmtpInput";

export const MOCK_USER = "Alex Wilber";

export type MockOptions = {
  /** Clock in epoch milliseconds; defaults to Date.now. */
  now?: () => number;
  /** Seed for the generated data; the same seed gives the same data. */
  seed?: number;
  /** Start without any requests (shows the empty state). */
  empty?: boolean;
  /** Only one tenant (hides the tenant switcher). */
  singleTenant?: boolean;
  /** Role of the signed-in user in every tenant. */
  role?: Role | null;
  /**
   * Archive mode: the window shows this store copy read-only (the session
   * carries it; every write is refused with read_only; nothing expires).
   * `true` uses a default file name.
   */
  archive?: boolean | Partial<Pick<ArchiveDto, "path" | "file_name" | "checkpoint">>;
  /**
   * Start as a new store starts (Engine::open): one tenant, named "Default
   * tenant", whose only user is `user` (an admin), the audit entries its
   * creation writes, and nothing else. Requests are then filed with
   * `backend.fileRequest` (the scenario table does this). No demo data.
   */
  fresh?: { tenant: string; user: string };
};

/** What an engineer asks for (the engine's NewRequest). */
export type MockNewRequest = {
  engineer: string;
  case: string;
  workload: string;
  resource: string;
  reason: string;
  /** null asks for the tenant's maximum. */
  duration_s: number | null;
};

/** An audit entry before the log gives it its place in the chain. */
export type PendingAudit = Omit<AuditEntryDto, "seq" | "tenant_seq" | "prev_hash" | "hash" | "recorded_at">;

/** A provider connection as stored: the secret itself is never kept. */
export type MockToken = {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  secret_hash: string;
};

/** SMTP settings as stored (with the password, which is never sent back). */
export type MockSmtp = Omit<SmtpInput, "password"> & { password: string | null };

/** The app-wide provider API settings as stored. */
export type MockApi = Pick<ApiSettingsDto, "enabled" | "bind" | "tls_cert" | "tls_key">;
