// The Service requests page's list query, shared with the boot path (main.tsx),
// which asks for the first page before the page's own code has loaded.
import type { RequestDto } from "../../bindings/RequestDto";
import type { RequestQuery } from "../../bindings/RequestQuery";
import type { RequestSort } from "../../bindings/RequestSort";
import type { RequestState } from "../../bindings/RequestState";

export const PAGE_SIZE = 20;

export type StatusFilter = RequestState | "all";

/** Every state a request can be in. */
export const REQUEST_STATES: ReadonlyArray<RequestState> = [
  "pending",
  "awaiting_provider",
  "approved",
  "completed",
  "rejected",
  "expired",
  "canceled",
  "revoked",
];

const STATUS_VALUES: ReadonlyArray<string> = [...REQUEST_STATES, "all"] satisfies ReadonlyArray<StatusFilter>;

export function isStatusFilter(s: string | undefined): s is StatusFilter {
  return s !== undefined && STATUS_VALUES.includes(s);
}

/** The status filter a page opens with (from the route), "pending" by default. */
export function initialStatus(s: string | undefined): StatusFilter {
  return isStatusFilter(s) ? s : "pending";
}

export function requestsQuery(status: StatusFilter, search: string, sort: RequestSort): RequestQuery {
  return {
    states: status === "all" ? null : [status],
    search: search === "" ? null : search,
    sort,
    cursor: null,
    limit: PAGE_SIZE,
  };
}

/** What the page shows when it opens: no search, newest first. */
export function firstRequestsQuery(status: string | undefined): RequestQuery {
  return requestsQuery(initialStatus(status), "", "newest");
}

/** The instant a live request changes by itself, and what it becomes. */
export function deadlineOf(r: RequestDto): { at: number; label: string; after: string } | null {
  if (r.state === "pending" || r.state === "awaiting_provider") {
    return { at: Date.parse(r.expires_at), label: "Expires in", after: "Expired" };
  }
  if (r.state === "approved" && r.access_ends_at) {
    return { at: Date.parse(r.access_ends_at), label: "Access ends in", after: "Completed" };
  }
  return null;
}

/** A countdown this close to its deadline is shown urgent. */
export const URGENT_MS = 15 * 60 * 1000;
