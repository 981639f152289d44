import {
  Body1,
  Button,
  Caption1,
  Dropdown,
  Field,
  Link,
  makeStyles,
  Option,
  SearchBox,
  Spinner,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  Title2,
  tokens,
} from "@fluentui/react-components";
import { ArrowClockwiseRegular, LockClosedRegular } from "@fluentui/react-icons";
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { errorMessage, listRequests, reportFirstPaint, reportShown } from "../api/client";
import { useApp, useArchive, useOffline } from "../AppContext";
import type { RequestDto } from "../bindings/RequestDto";
import type { RequestQuery } from "../bindings/RequestQuery";
import type { RequestSort } from "../bindings/RequestSort";
import { ErrorBar } from "../components/ErrorBar";
import { STATE_LABEL, StatusBadge } from "../components/StatusBadge";
import { countdownChangesAt, countdownSlack, formatCountdown } from "../lib/duration";
import { refreshTimeTexts, useDebounced, useLockboxEvents, useTickValue } from "../lib/hooks";
import { formatDateTime, relativeTime, relativeTimeDue, shortId } from "../lib/time";
import { takeBootRequests } from "../boot";
import { RequestDetailsDrawer } from "./requests/RequestDetailsDrawer";
import {
  deadlineOf,
  initialStatus as statusFrom,
  isStatusFilter,
  PAGE_SIZE,
  requestsQuery,
  URGENT_MS,
  type StatusFilter,
} from "./requests/query";

export { deadlineOf, PAGE_SIZE };

export const STATUS_FILTERS: Array<{ value: StatusFilter; label: string }> = [
  { value: "pending", label: "Pending" },
  { value: "awaiting_provider", label: STATE_LABEL.awaiting_provider },
  { value: "approved", label: STATE_LABEL.approved },
  { value: "completed", label: STATE_LABEL.completed },
  { value: "rejected", label: STATE_LABEL.rejected },
  { value: "expired", label: STATE_LABEL.expired },
  { value: "canceled", label: STATE_LABEL.canceled },
  { value: "revoked", label: STATE_LABEL.revoked },
  { value: "all", label: "All requests" },
];

export const SORTS: Array<{ value: RequestSort; label: string }> = [
  { value: "newest", label: "Newest first" },
  { value: "oldest", label: "Oldest first" },
  { value: "expires_soonest", label: "Expires soonest" },
];

const useStyles = makeStyles({
  page: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalL },
  intro: { color: tokens.colorNeutralForeground2, maxWidth: "80ch" },
  toolbar: { display: "flex", flexWrap: "wrap", alignItems: "end", gap: tokens.spacingHorizontalM },
  search: { minWidth: "260px" },
  table: { minWidth: "980px", tableLayout: "auto" },
  scroll: { overflowX: "auto" },
  row: { cursor: "pointer" },
  idButton: { fontFamily: tokens.fontFamilyMonospace },
  empty: {
    display: "flex",
    flexDirection: "column",
    alignItems: "center",
    gap: tokens.spacingVerticalM,
    padding: tokens.spacingVerticalXXXL,
    color: tokens.colorNeutralForeground2,
  },
  footer: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalM },
  code: { fontFamily: tokens.fontFamilyMonospace },
  countdownUrgent: { color: tokens.colorPaletteRedForeground1, fontWeight: tokens.fontWeightSemibold },
});

/** `initialRequest`: a request whose details open at once (a notification click, a tray item). */
export function ServiceRequestsPage({ initialStatus, initialRequest }: { initialStatus?: string; initialRequest?: string }) {
  const styles = useStyles();
  const rowStyles = useMemo<RowStyles>(
    () => ({ row: styles.row, idButton: styles.idButton, countdownUrgent: styles.countdownUrgent }),
    [styles.row, styles.idButton, styles.countdownUrgent],
  );
  const { tenant } = useApp();
  const archive = useArchive();
  const offline = useOffline();
  // An archive is reviewed as a whole: it opens on every request, not the pending ones.
  const [status, setStatus] = useState<StatusFilter>(() =>
    archive && !isStatusFilter(initialStatus) ? "all" : statusFrom(initialStatus),
  );
  const [sort, setSort] = useState<RequestSort>("newest");
  const [searchText, setSearchText] = useState("");
  const search = useDebounced(searchText.trim(), 300);

  const baseQuery = useMemo<RequestQuery>(() => requestsQuery(status, search, sort), [status, search, sort]);

  // On a cold start the first page was read with the session (boot.ts): show it at once.
  const [booted] = useState(() => takeBootRequests(tenant.id, baseQuery));
  const [items, setItems] = useState<RequestDto[]>(booted?.items ?? []);
  const [total, setTotal] = useState(booted?.total ?? 0);
  const [nextCursor, setNextCursor] = useState<string | null>(booted?.next_cursor ?? null);
  const [loading, setLoading] = useState(booted === null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(initialRequest ?? null);


  // Only the latest fetch may write to the list.
  const generation = useRef(0);
  const loadedCount = useRef(items.length);
  useLayoutEffect(() => {
    loadedCount.current = items.length;
  }, [items.length]);

  const refetch = useCallback(
    async (keepCount: boolean) => {
      const gen = ++generation.current;
      const limit = keepCount ? Math.max(PAGE_SIZE, loadedCount.current) : PAGE_SIZE;
      try {
        const page = await listRequests(tenant.id, { ...baseQuery, limit });
        if (gen !== generation.current) return;
        // Rows whose request did not change keep their object, so they do not
        // render again; a refetch that changed nothing renders nothing.
        setItems((shown) => keepUnchanged(shown, page.items));
        reportFirstPaint("requests");
        setTotal(page.total);
        setNextCursor(page.next_cursor);
        setError(null);
        // The same frame brings the rows' time texts up to date (held
        // expiries arrive on the whole minute, as those texts change).
        refreshTimeTexts();
      } catch (e) {
        if (gen === generation.current) setError(errorMessage(e));
      } finally {
        if (gen === generation.current) setLoading(false);
      }
    },
    [tenant.id, baseQuery],
  );

  const skipFetch = useRef(booted !== null);
  useEffect(() => {
    if (skipFetch.current) {
      skipFetch.current = false;
      reportFirstPaint("requests");
      return;
    }
    setLoading(true);
    void refetch(false);
  }, [refetch]);

  const loadMore = async () => {
    if (!nextCursor) return;
    const gen = generation.current;
    setLoadingMore(true);
    try {
      const page = await listRequests(tenant.id, { ...baseQuery, cursor: nextCursor });
      if (gen !== generation.current) return;
      setItems((xs) => [...xs, ...page.items.filter((p) => !xs.some((x) => x.id === p.id))]);
      setTotal(page.total);
      setNextCursor(page.next_cursor);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoadingMore(false);
    }
  };

  useLockboxEvents(tenant.id, ["requests_changed"], () => void refetch(true));

  // Which list the window shows, once it is on screen.
  const listShown = !loading && error === null;
  useEffect(() => {
    if (listShown) reportShown(`requests?status=${status}`);
  }, [listShown, status]);

  // When a countdown reaches zero the engine moves the request on: refetch once
  // per deadline, from one timer set for the soonest deadline on the page (the
  // page itself does not re-render every second; only the countdowns tick).
  const refetchedFor = useRef(new Set<string>());
  useEffect(() => {
    const pending = items
      .map((r) => ({ r, d: deadlineOf(r) }))
      .filter((x) => x.d !== null && !refetchedFor.current.has(`${x.r.id}@${x.d.at}`));
    if (pending.length === 0) return;
    const soonest = Math.min(...pending.map((x) => x.d?.at ?? Infinity));
    let id: ReturnType<typeof setTimeout> | undefined;
    // Timers cap at ~24.8 days.
    const plan = () => {
      id = setTimeout(fire, Math.min(Math.max(0, soonest - Date.now()) + 50, 2 ** 31 - 1));
    };
    const fire = () => {
      const now = Date.now();
      const due = pending.filter((x) => (x.d?.at ?? Infinity) <= now);
      for (const x of due) refetchedFor.current.add(`${x.r.id}@${x.d?.at ?? 0}`);
      if (due.length > 0) void refetch(true);
      // Nothing due yet: the deadline is past the timer cap, or the clock was
      // set back while waiting. Wait again rather than never refetching.
      else plan();
    };
    plan();
    return () => clearTimeout(id);
  }, [items, refetch]);

  const statusLabel = STATUS_FILTERS.find((f) => f.value === status)?.label ?? "";
  const sortLabel = SORTS.find((s) => s.value === sort)?.label ?? "";
  const filtered = status !== (archive ? "all" : "pending") || search !== "";

  return (
    <div className={styles.page}>
      <Title2 as="h2" block>Service requests</Title2>
      <Body1 className={styles.intro} block>
        <LockClosedRegular aria-hidden />{" "}
        {archive && offline
          ? "Your copy of the requests, read-only: decisions are off until the server is back."
          : archive
          ? "The requests in this archive as they were stored, read-only: no decision can be made here."
          : "Customer Lockbox requests: a support engineer needs your approval before accessing your organization's content. Approve or reject each request before it expires."}
      </Body1>

      <div className={styles.toolbar} role="search" aria-label="Filter requests">
        <Field label="Status">
          <Dropdown
            value={statusLabel}
            selectedOptions={[status]}
            onOptionSelect={(_, d) => {
              if (isStatusFilter(d.optionValue)) setStatus(d.optionValue);
            }}
          >
            {STATUS_FILTERS.map((f) => (
              <Option key={f.value} value={f.value}>
                {f.label}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Sort by">
          <Dropdown
            value={sortLabel}
            selectedOptions={[sort]}
            onOptionSelect={(_, d) => {
              const v = SORTS.find((s) => s.value === d.optionValue);
              if (v) setSort(v.value);
            }}
          >
            {SORTS.map((s) => (
              <Option key={s.value} value={s.value}>
                {s.label}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Search">
          <SearchBox
            className={styles.search}
            placeholder="Case, requester or request ID"
            aria-label="Search requests"
            value={searchText}
            onChange={(_, d) => setSearchText(d.value)}
          />
        </Field>
        <Button icon={<ArrowClockwiseRegular />} onClick={() => void refetch(true)}>
          Refresh
        </Button>
      </div>

      <ErrorBar error={error} title="Couldn't load requests" />

      {loading ? (
        <Spinner label="Loading requests…" />
      ) : items.length === 0 ? (
        <div className={styles.empty} role="status">
          {filtered ? (
            <Text>No requests match these filters.</Text>
          ) : (
            <>
              <LockClosedRegular fontSize={40} aria-hidden />
              <Text size={400}>
                No lockbox requests yet. Try <code className={styles.code}>lockbox demo</code>.
              </Text>
            </>
          )}
        </div>
      ) : (
        <div className={styles.scroll}>
          <Table className={styles.table} aria-label="Service requests" size="medium">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Request ID</TableHeaderCell>
                <TableHeaderCell>Support case</TableHeaderCell>
                <TableHeaderCell>Requested by</TableHeaderCell>
                <TableHeaderCell>Workload</TableHeaderCell>
                <TableHeaderCell>Resource</TableHeaderCell>
                <TableHeaderCell>Status</TableHeaderCell>
                <TableHeaderCell>Requested</TableHeaderCell>
                <TableHeaderCell>Expires / Access ends</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {items.map((r) => (
                <RequestRow key={r.id} request={r} selected={selected === r.id} onSelect={setSelected} styles={rowStyles} />
              ))}
            </TableBody>
          </Table>
        </div>
      )}

      {!loading && items.length > 0 ? (
        <div className={styles.footer}>
          <Caption1 aria-live="polite">
            Showing {items.length} of {total}
          </Caption1>
          {nextCursor ? (
            <Button onClick={() => void loadMore()} disabled={loadingMore}>
              {loadingMore ? "Loading…" : "Load more"}
            </Button>
          ) : null}
        </div>
      ) : null}

      <RequestDetailsDrawer id={selected} onClose={() => setSelected(null)} onChanged={() => void refetch(true)} />
    </div>
  );
}

/** `fresh`, with each request equal to one in `shown` replaced by that object (and `shown` itself if all are). */
export function keepUnchanged(shown: RequestDto[], fresh: RequestDto[]): RequestDto[] {
  const byId = new Map(shown.map((r) => [r.id, r]));
  let same = shown.length === fresh.length;
  const out = fresh.map((r, i) => {
    const old = byId.get(r.id);
    const keep = old !== undefined && JSON.stringify(old) === JSON.stringify(r) ? old : r;
    if (keep !== shown[i]) same = false;
    return keep;
  });
  return same ? shown : out;
}

type RowStyles = Record<"row" | "idButton" | "countdownUrgent", string>;

/** One row of the grid; renders again only when its request, or whether it is selected, changes. */
const RequestRow = memo(function RequestRow({
  request: r,
  selected,
  onSelect,
  styles,
}: {
  request: RequestDto;
  selected: boolean;
  onSelect: (id: string) => void;
  styles: RowStyles;
}) {
  return (
    <TableRow
      className={styles.row}
      appearance={selected ? "brand" : "none"}
      onClick={() => onSelect(r.id)}
      data-request-id={r.id}
    >
      <TableCell>
        <Link
          as="button"
          className={styles.idButton}
          aria-label={`Open request ${shortId(r.id)} (${r.case})`}
          onClick={(e) => {
            e.stopPropagation();
            onSelect(r.id);
          }}
        >
          {shortId(r.id)}
        </Link>
      </TableCell>
      <TableCell>{r.case}</TableCell>
      <TableCell>{r.requester}</TableCell>
      <TableCell>{r.workload}</TableCell>
      <TableCell>{r.resource}</TableCell>
      <TableCell>
        <StatusBadge state={r.state} />
      </TableCell>
      <TableCell>
        <RelativeTime iso={r.created_at} />
      </TableCell>
      <TableCell>
        <Countdown request={r} urgentClass={styles.countdownUrgent} />
      </TableCell>
    </TableRow>
  );
});

/** By when a relative time must be looked at again: its next change, plus the lateness its unit allows. */
function relativeDue(iso: string | null | undefined) {
  return (now: number) => relativeTimeDue(iso, now);
}

function RelativeTime({ iso }: { iso: string }) {
  const text = useTickValue((now) => relativeTime(iso, now), relativeDue(iso));
  return <span title={formatDateTime(iso)}>{text}</span>;
}

function Countdown({ request, urgentClass }: { request: RequestDto; urgentClass: string }) {
  const d = deadlineOf(request);
  const text = useTickValue(
    (now) => {
      if (!d) return request.closed_at ? `Closed ${relativeTime(request.closed_at, now)}` : "—";
      const left = d.at - now;
      return left <= 0 ? d.after : `${d.label} ${formatCountdown(left)}`;
    },
    d ? (now) => countdownChangesAt(d.at, now) + countdownSlack(d.at, now) : relativeDue(request.closed_at),
  );
  const urgent = useTickValue(
    (now) => d !== null && d.at - now > 0 && d.at - now < URGENT_MS,
    // It turns on as the last quarter hour starts and off at the deadline.
    (now) => (d === null || d.at <= now ? Infinity : d.at - now >= URGENT_MS ? d.at - URGENT_MS + 1 : d.at),
  );
  if (!d) return <span title={formatDateTime(request.closed_at)}>{text}</span>;
  if (text === d.after) return <span data-testid="countdown">{text}</span>;
  return (
    <span data-testid="countdown" className={urgent ? urgentClass : undefined} title={formatDateTime(new Date(d.at).toISOString())}>
      {text}
    </span>
  );
}
