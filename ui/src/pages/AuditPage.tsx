import {
  Body1,
  Button,
  Caption1,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Dropdown,
  Field,
  Input,
  makeStyles,
  Menu,
  MenuButton,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
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
import {
  ArchiveRegular,
  ArrowDownloadRegular,
  DismissRegular,
  ShieldCheckmarkRegular,
  ShieldErrorRegular,
} from "@fluentui/react-icons";
import { Fragment, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import {
  errorMessage,
  exportAudit,
  openArchive,
  queryAudit,
  reportFirstPaint,
  saveDialog,
  verifyAudit,
  type ExportFormat,
} from "../api/client";
import { useApp, useArchive, useOffline } from "../AppContext";
import type { AuditEntryDto } from "../bindings/AuditEntryDto";
import type { AuditQuery } from "../bindings/AuditQuery";
import type { VerifyReport } from "../bindings/VerifyReport";
import { ErrorBar } from "../components/ErrorBar";
import { dateError, DayPicker } from "./audit/DayPicker";
import { useDebounced, useLockboxEvents, useOnChange } from "../lib/hooks";
import { auditDetails, auditDetailsText, KNOWN_OPERATIONS, operationLabel } from "../lib/operations";
import { endOfDayIso, formatDateTime, shortId, startOfDayIso } from "../lib/time";

export const AUDIT_PAGE_SIZE = 50;
const ALL_OPS = "__all__";

const useStyles = makeStyles({
  page: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalL },
  intro: { color: tokens.colorNeutralForeground2, maxWidth: "80ch" },
  actions: { display: "flex", gap: tokens.spacingHorizontalS, flexWrap: "wrap" },
  filters: { display: "flex", flexWrap: "wrap", gap: tokens.spacingHorizontalM, alignItems: "start" },
  date: { width: "170px" },
  clear: { alignSelf: "end" },
  scroll: { overflowX: "auto" },
  table: { minWidth: "900px", tableLayout: "auto" },
  row: { cursor: "pointer" },
  mono: { fontFamily: tokens.fontFamilyMonospace },
  json: {
    fontFamily: tokens.fontFamilyMonospace,
    fontSize: tokens.fontSizeBase200,
    backgroundColor: tokens.colorNeutralBackground3,
    padding: tokens.spacingHorizontalM,
    borderRadius: tokens.borderRadiusMedium,
    maxHeight: "50vh",
    overflow: "auto",
    whiteSpace: "pre-wrap",
    overflowWrap: "anywhere",
  },
  footer: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalM },
  details: { maxWidth: "40ch", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" },
  entry: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  fields: {
    display: "grid",
    gridTemplateColumns: "minmax(120px, max-content) 1fr",
    columnGap: tokens.spacingHorizontalL,
    rowGap: tokens.spacingVerticalS,
    margin: 0,
  },
  term: { color: tokens.colorNeutralForeground3 },
  def: { margin: 0, overflowWrap: "anywhere" },
  lines: { margin: 0, paddingLeft: 0, listStyleType: "none" },
});

/** One audit entry, every field as text (details through auditDetails). */
function EntryFields({ entry: e, styles }: { entry: AuditEntryDto; styles: ReturnType<typeof useStyles> }) {
  const lines = auditDetails(e);
  const rows: Array<[string, ReactNode]> = [
    ["Date", formatDateTime(e.at, true)],
    ["Recorded", formatDateTime(e.recorded_at, true)],
    ["Actor", `${e.actor} (${e.actor_kind})`],
    ["Operation", operationLabel(e.operation)],
    ["Request ID", e.request_id ?? "—"],
    [
      "Details",
      lines.length === 0 ? (
        "—"
      ) : (
        <ul className={styles.lines} aria-label="Details">
          {lines.map((l, i) => (
            <li key={i}>{l}</li>
          ))}
        </ul>
      ),
    ],
    ["Hash", <span className={styles.mono}>{e.hash}</span>],
    ["Previous hash", <span className={styles.mono}>{e.prev_hash}</span>],
  ];
  return (
    <dl className={styles.fields} aria-label="Entry">
      {rows.map(([term, def]) => (
        <Fragment key={term}>
          <dt className={styles.term}>{term}</dt>
          <dd className={styles.def}>{def}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

type Filters = { from: string; to: string; operation: string; actor: string; requestId: string; text: string };

const EXPORTS: Record<ExportFormat, { label: string; ext: string; filter: string }> = {
  csv: { label: "CSV", ext: "csv", filter: "CSV" },
  jsonl: { label: "JSON Lines", ext: "jsonl", filter: "JSON Lines" },
};

function nullIfBlank(s: string): string | null {
  const t = s.trim();
  return t === "" ? null : t;
}

export function AuditPage({ initialRequestId }: { initialRequestId?: string }) {
  const styles = useStyles();
  const { tenant } = useApp();
  const archive = useArchive();
  const offline = useOffline();
  const [filters, setFilters] = useState<Filters>({
    from: "",
    to: "",
    operation: "",
    actor: "",
    requestId: initialRequestId ?? "",
    text: "",
  });
  const typed = {
    actor: useDebounced(filters.actor, 300),
    requestId: useDebounced(filters.requestId, 300),
    text: useDebounced(filters.text, 300),
  };
  const [items, setItems] = useState<AuditEntryDto[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelectedEntry] = useState<AuditEntryDto | null>(null);
  // The raw (JSON) entry is shown only on request: the fields above it read it.
  const [showJson, setShowJson] = useState(false);
  const setSelected = (e: AuditEntryDto | null) => {
    setSelectedEntry(e);
    setShowJson(false);
  };
  const [verify, setVerify] = useState<VerifyReport | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [verifyError, setVerifyError] = useState<string | null>(null);
  const [exportNote, setExportNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [exporting, setExporting] = useState(false);
  const [archiveNote, setArchiveNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [seenOps, setSeenOps] = useState<string[]>([]);

  const from = useDebounced(filters.from.trim(), 300);
  const to = useDebounced(filters.to.trim(), 300);
  const fromError = dateError(from);
  const toError = dateError(to);
  const rangeError =
    !fromError && !toError && from && to && from > to ? "The end date is before the start date." : undefined;
  const filterError = fromError ?? toError ?? rangeError;
  // Typed text the date picker refused when leaving the field (it then shows the previous day again).
  const [refused, setRefused] = useState<{ from: string | null; to: string | null }>({ from: null, to: null });
  const refusedMessage = (t: string | null) => (t === null ? undefined : `“${t}” isn't a date. Enter a date as YYYY-MM-DD.`);
  const fromMessage = fromError ?? refusedMessage(refused.from) ?? rangeError;
  const toMessage = toError ?? refusedMessage(refused.to);

  const query = useMemo<AuditQuery>(
    () => ({
      since: from && !fromError ? startOfDayIso(from) : null,
      until: to && !toError ? endOfDayIso(to) : null,
      request_id: nullIfBlank(typed.requestId),
      actor: nullIfBlank(typed.actor),
      operation: filters.operation === "" ? null : filters.operation,
      text: nullIfBlank(typed.text),
      before_seq: null,
      limit: AUDIT_PAGE_SIZE,
    }),
    [from, to, fromError, toError, filters.operation, typed.requestId, typed.actor, typed.text],
  );

  const generation = useRef(0);
  // State changes only when the engine answers (never synchronously in the effect).
  const refetch = useCallback(() => {
    if (filterError) return;
    const gen = ++generation.current;
    queryAudit(tenant.id, query).then(
      (page) => {
        if (gen !== generation.current) return;
        setItems(page.items);
        reportFirstPaint("audit");
        setNextBefore(page.next_before_seq);
        setError(null);
        setSeenOps((ops) => {
          const add = page.items.map((e) => e.operation).filter((o) => !ops.includes(o));
          return add.length ? [...ops, ...new Set(add)] : ops;
        });
        setLoading(false);
      },
      (e: unknown) => {
        if (gen !== generation.current) return;
        setError(errorMessage(e));
        setLoading(false);
      },
    );
  }, [tenant.id, query, filterError]);

  // A new query (or tenant): loading until its first page arrives.
  useOnChange(refetch, () => setLoading(true));
  useEffect(() => {
    refetch();
  }, [refetch]);

  // New entries only matter on the first page (newest first).
  useLockboxEvents(tenant.id, ["audit_appended"], () => {
    if (items.length <= AUDIT_PAGE_SIZE) refetch();
  });

  const loadMore = async () => {
    if (nextBefore === null) return;
    const gen = generation.current;
    setLoadingMore(true);
    try {
      const page = await queryAudit(tenant.id, { ...query, before_seq: nextBefore });
      if (gen !== generation.current) return;
      setItems((xs) => [...xs, ...page.items]);
      setNextBefore(page.next_before_seq);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoadingMore(false);
    }
  };

  const runExport = async (format: ExportFormat) => {
    setExportNote(null);
    const spec = EXPORTS[format];
    const day = new Date().toISOString().slice(0, 10);
    try {
      const path = await saveDialog({
        format,
        title: "Export audit history",
        defaultPath: `lockbox-audit-${tenant.id}-${day}.${spec.ext}`,
        filters: [{ name: spec.filter, extensions: [spec.ext] }],
      });
      if (!path) return;
      setExporting(true);
      const rows = await exportAudit(tenant.id, { ...query, before_seq: null, limit: null }, format, path);
      setExportNote({ ok: true, text: `Exported ${rows.toLocaleString()} ${rows === 1 ? "row" : "rows"} to ${path}` });
    } catch (e) {
      setExportNote({ ok: false, text: errorMessage(e) });
    } finally {
      setExporting(false);
    }
  };

  const runOpenArchive = async () => {
    setArchiveNote(null);
    try {
      const path = await openArchive();
      if (path) setArchiveNote({ ok: true, text: `${path} opens read-only in a window of its own.` });
    } catch (e) {
      setArchiveNote({ ok: false, text: errorMessage(e) });
    }
  };

  const runVerify = async () => {
    setVerifying(true);
    setVerify(null);
    setVerifyError(null);
    try {
      setVerify(await verifyAudit());
    } catch (e) {
      setVerifyError(errorMessage(e));
    } finally {
      setVerifying(false);
    }
  };

  const set = (k: keyof Filters, v: string) => {
    setFilters((f) => ({ ...f, [k]: v }));
    if (k === "from" || k === "to") setRefused((r) => (r[k] === null ? r : { ...r, [k]: null }));
  };
  const operations = [...new Set([...Object.keys(KNOWN_OPERATIONS), ...seenOps])].sort((a, b) =>
    operationLabel(a).localeCompare(operationLabel(b)),
  );
  const anyFilter = Object.values(filters).some((v) => v !== "");

  return (
    <div className={styles.page}>
      <Title2 as="h2" block>Audit</Title2>
      <Body1 className={styles.intro} block>
        {offline
          ? "This device's copy of the server's audit log, read-only: each entry was checked against the server's signed checkpoints when it arrived."
          : archive
          ? "The audit log of this archive, read-only. Its verification is shown above."
          : "Every request, decision, access and settings change is recorded in a tamper-evident, hash-chained log."}
      </Body1>

      <div className={styles.actions}>
        <Menu>
          <MenuTrigger disableButtonEnhancement>
            <MenuButton icon={<ArrowDownloadRegular />} disabled={exporting}>
              Export
            </MenuButton>
          </MenuTrigger>
          <MenuPopover>
            <MenuList>
              <MenuItem onClick={() => void runExport("csv")}>CSV</MenuItem>
              <MenuItem onClick={() => void runExport("jsonl")}>JSON Lines</MenuItem>
            </MenuList>
          </MenuPopover>
        </Menu>
        {archive ? null : (
          <Button icon={<ShieldCheckmarkRegular />} onClick={() => void runVerify()} disabled={verifying}>
            {verifying ? "Verifying…" : "Verify integrity"}
          </Button>
        )}
        <Button icon={<ArchiveRegular />} onClick={() => void runOpenArchive()}>
          Open audit archive…
        </Button>
      </div>
      {archiveNote ? (
        <MessageBar intent={archiveNote.ok ? "info" : "error"} role={archiveNote.ok ? "status" : "alert"}>
          <MessageBarBody>
            <MessageBarTitle>{archiveNote.ok ? "Audit archive opened" : "Couldn't open the archive"}</MessageBarTitle>
            {archiveNote.text}
          </MessageBarBody>
          <MessageBarActions
            containerAction={
              <Button appearance="transparent" aria-label="Dismiss" icon={<DismissRegular />} onClick={() => setArchiveNote(null)} />
            }
          />
        </MessageBar>
      ) : null}

      {exporting ? <Spinner size="tiny" label="Exporting…" /> : null}
      {exportNote ? (
        <MessageBar intent={exportNote.ok ? "success" : "error"} role={exportNote.ok ? "status" : "alert"}>
          <MessageBarBody>
            <MessageBarTitle>{exportNote.ok ? "Export complete" : "Export failed"}</MessageBarTitle>
            {exportNote.text}
          </MessageBarBody>
          <MessageBarActions
            containerAction={
              <Button appearance="transparent" aria-label="Dismiss" icon={<DismissRegular />} onClick={() => setExportNote(null)} />
            }
          />
        </MessageBar>
      ) : null}
      <ErrorBar error={verifyError} title="Couldn't verify the audit log" />
      {verify ? (
        verify.ok ? (
          <MessageBar intent="success" role="status" icon={<ShieldCheckmarkRegular />}>
            <MessageBarBody>
              <MessageBarTitle>Audit log intact</MessageBarTitle>
              {verify.entries.toLocaleString()} entries verified; {verify.requests.toLocaleString()} requests agree with
              them. This tenant's chain:{" "}
              {(() => {
                const chain = verify.chains.find((c) => c.tenant === tenant.id);
                return chain ? (
                  <>
                    {chain.entries.toLocaleString()} entries, head <span className={styles.mono}>{chain.head_hash}</span>
                  </>
                ) : (
                  "no entries"
                );
              })()}
            </MessageBarBody>
            <MessageBarActions
              containerAction={
                <Button appearance="transparent" aria-label="Dismiss" icon={<DismissRegular />} onClick={() => setVerify(null)} />
              }
            />
          </MessageBar>
        ) : (
          <MessageBar intent="error" role="alert" icon={<ShieldErrorRegular />}>
            <MessageBarBody>
              <MessageBarTitle>Audit log integrity check failed</MessageBarTitle>
              {verify.first_bad_seq !== null
                ? `First bad entry: #${verify.first_bad_seq}. ${verify.problem ?? "The hash chain is broken."} `
                : ""}
              {verify.first_disagreement ? `Stored state edited: ${verify.first_disagreement.message}. ` : ""}(
              {verify.entries.toLocaleString()} entries checked)
            </MessageBarBody>
            <MessageBarActions
              containerAction={
                <Button appearance="transparent" aria-label="Dismiss" icon={<DismissRegular />} onClick={() => setVerify(null)} />
              }
            />
          </MessageBar>
        )
      ) : null}

      <Text as="h3" weight="semibold" size={400} id="audit-history-h">
        Audit history
      </Text>
      <div className={styles.filters} role="search" aria-label="Filter audit history">
        <Field
          label="From"
          hint={fromMessage ? undefined : "YYYY-MM-DD"}
          validationMessage={fromMessage}
          validationState={fromMessage ? "error" : "none"}
        >
          <DayPicker
            className={styles.date}
            placeholder="YYYY-MM-DD"
            text={filters.from}
            onText={(t) => set("from", t)}
            onRefused={(t) => setRefused((r) => ({ ...r, from: t }))}
          />
        </Field>
        <Field
          label="To"
          hint={toMessage ? undefined : "YYYY-MM-DD, inclusive"}
          validationMessage={toMessage}
          validationState={toMessage ? "error" : "none"}
        >
          <DayPicker
            className={styles.date}
            placeholder="YYYY-MM-DD"
            text={filters.to}
            onText={(t) => set("to", t)}
            onRefused={(t) => setRefused((r) => ({ ...r, to: t }))}
          />
        </Field>
        <Field label="Operation">
          <Dropdown
            value={filters.operation === "" ? "All operations" : operationLabel(filters.operation)}
            selectedOptions={[filters.operation === "" ? ALL_OPS : filters.operation]}
            onOptionSelect={(_, d) => set("operation", !d.optionValue || d.optionValue === ALL_OPS ? "" : d.optionValue)}
          >
            <Option value={ALL_OPS}>All operations</Option>
            {operations.map((op) => (
              <Option key={op} value={op}>
                {operationLabel(op)}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Actor">
          <Input value={filters.actor} onChange={(_, d) => set("actor", d.value)} placeholder="Exact name" />
        </Field>
        <Field label="Request ID">
          <Input value={filters.requestId} onChange={(_, d) => set("requestId", d.value)} placeholder="Full request ID" />
        </Field>
        <Field label="Search details">
          <SearchBox
            value={filters.text}
            onChange={(_, d) => set("text", d.value)}
            aria-label="Search audit details"
            placeholder="Free text"
          />
        </Field>
        {anyFilter ? (
          <Button
            className={styles.clear}
            appearance="subtle"
            onClick={() => {
              setFilters({ from: "", to: "", operation: "", actor: "", requestId: "", text: "" });
              setRefused({ from: null, to: null });
            }}
          >
            Clear filters
          </Button>
        ) : null}
      </div>

      <ErrorBar error={error} title="Couldn't load the audit log" />
      {loading ? (
        <Spinner label="Loading audit history…" />
      ) : items.length === 0 ? (
        <Text role="status">{anyFilter ? "No audit entries match these filters." : "The audit log is empty."}</Text>
      ) : (
        <div className={styles.scroll}>
          <Table className={styles.table} aria-labelledby="audit-history-h" size="small">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>#</TableHeaderCell>
                <TableHeaderCell>Date</TableHeaderCell>
                <TableHeaderCell>Actor</TableHeaderCell>
                <TableHeaderCell>Operation</TableHeaderCell>
                <TableHeaderCell>Request ID</TableHeaderCell>
                <TableHeaderCell>Details</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {items.map((e) => (
                <TableRow key={e.seq} className={styles.row} onClick={() => setSelected(e)}>
                  <TableCell>
                    <Button
                      appearance="transparent"
                      size="small"
                      aria-label={`Show entry ${e.seq}`}
                      onClick={(ev) => {
                        ev.stopPropagation();
                        setSelected(e);
                      }}
                    >
                      {e.seq}
                    </Button>
                  </TableCell>
                  <TableCell>{formatDateTime(e.at, true)}</TableCell>
                  <TableCell>
                    {e.actor}
                    <br />
                    <Caption1>{e.actor_kind}</Caption1>
                  </TableCell>
                  <TableCell>{operationLabel(e.operation)}</TableCell>
                  <TableCell className={styles.mono}>{e.request_id ? shortId(e.request_id) : "—"}</TableCell>
                  <TableCell>
                    <div className={styles.details} title={auditDetailsText(e)}>
                      {auditDetailsText(e)}
                    </div>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </div>
      )}
      {!loading && items.length > 0 ? (
        <div className={styles.footer}>
          <Caption1 aria-live="polite">Showing {items.length} {items.length === 1 ? "entry" : "entries"}</Caption1>
          {nextBefore !== null ? (
            <Button onClick={() => void loadMore()} disabled={loadingMore}>
              {loadingMore ? "Loading…" : "Load more"}
            </Button>
          ) : null}
        </div>
      ) : null}

      <Dialog open={selected !== null} onOpenChange={(_, d) => !d.open && setSelected(null)}>
        <DialogSurface aria-describedby={undefined}>
          <DialogBody>
            <DialogTitle>
              Audit entry #{selected?.seq} · {selected ? operationLabel(selected.operation) : ""}
            </DialogTitle>
            <DialogContent className={styles.entry}>
              {selected ? <EntryFields entry={selected} styles={styles} /> : null}
              <div>
                <Button appearance="subtle" aria-expanded={showJson} onClick={() => setShowJson((v) => !v)}>
                  {showJson ? "Hide raw entry" : "Show raw entry"}
                </Button>
              </div>
              {selected && showJson ? (
                // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex -- a scrolling box must take focus to be scrolled from the keyboard (WCAG 2.1.1)
                <pre className={styles.json} aria-label="Entry JSON" tabIndex={0}>
                  {JSON.stringify(selected, null, 2)}
                </pre>
              ) : null}
            </DialogContent>
            <DialogActions>
              <Button appearance="primary" onClick={() => setSelected(null)}>
                Close
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </div>
  );
}
