// Cold start: the window's first page gets its data in one round trip (`boot`),
// asked for while the page's code is still loading, and renders once with it.
import { boot, changeCountNow, countChanges } from "./api/client";
import type { BootDto } from "./bindings/BootDto";
import type { RequestPage } from "./bindings/RequestPage";
import type { RequestQuery } from "./bindings/RequestQuery";

type FirstRequests = { tenant: string; query: string; page: RequestPage; changes: number };
let firstRequests: FirstRequests | null = null;

/**
 * Reads the session (and, with `requests`, the first page of requests) from the
 * engine. Change notifications are counted from before the read, so the page can
 * tell whether what it was handed is still current when it mounts.
 */
export async function startBoot(tenant: string | null, requests: RequestQuery | null): Promise<BootDto> {
  await countChanges();
  const changes = changeCountNow();
  const b = await boot(tenant, requests);
  firstRequests =
    b.requests && b.tenant && requests ? { tenant: b.tenant, query: JSON.stringify(requests), page: b.requests, changes } : null;
  return b;
}

/**
 * The first page of requests read at boot, handed out once: only for the same
 * tenant and query, and only if no change was notified since it was read
 * (otherwise the page fetches afresh).
 */
export function takeBootRequests(tenant: string, query: RequestQuery): RequestPage | null {
  const f = firstRequests;
  firstRequests = null;
  if (!f || f.tenant !== tenant || f.query !== JSON.stringify(query) || changeCountNow() !== f.changes) return null;
  return f.page;
}
