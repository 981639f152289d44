import {
  Button,
  Caption1,
  DrawerBody,
  DrawerHeader,
  DrawerHeaderTitle,
  Link,
  makeStyles,
  MessageBar,
  MessageBarBody,
  OverlayDrawer,
  Spinner,
  Subtitle2,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  Toast,
  ToastTitle,
  tokens,
  useToastController,
} from "@fluentui/react-components";
import {
  CheckmarkRegular,
  DismissRegular,
  ShieldDismissRegular,
  DismissCircleRegular,
} from "@fluentui/react-icons";
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";
import {
  approveRequest,
  errorMessage,
  getRequest,
  rejectRequest,
  reportShown,
  requestAudit,
  revokeRequest,
} from "../../api/client";
import { useApp, useArchive, useOffline } from "../../AppContext";
import type { AuditEntryDto } from "../../bindings/AuditEntryDto";
import type { RequestDto } from "../../bindings/RequestDto";
import { ErrorBar } from "../../components/ErrorBar";
import { StatusBadge } from "../../components/StatusBadge";
import { humanDuration } from "../../lib/duration";
import { useLockboxEvents, useOnChange } from "../../lib/hooks";
import { auditDetailsText, operationLabel } from "../../lib/operations";
import { formatDateTime, shortId } from "../../lib/time";
import { TOASTER_ID } from "../../toaster";
import { ApproveDialog, RejectDialog, RevokeDialog } from "./DecisionDialogs";

const useStyles = makeStyles({
  body: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalL, paddingBottom: tokens.spacingVerticalXXL },
  actions: { display: "flex", gap: tokens.spacingHorizontalS, flexWrap: "wrap" },
  fields: {
    display: "grid",
    gridTemplateColumns: "minmax(140px, max-content) 1fr",
    columnGap: tokens.spacingHorizontalL,
    rowGap: tokens.spacingVerticalS,
    margin: 0,
  },
  term: { color: tokens.colorNeutralForeground3 },
  def: { margin: 0, overflowWrap: "anywhere" },
  reason: { whiteSpace: "pre-wrap", margin: 0 },
  timeline: {
    listStyleType: "none",
    margin: 0,
    paddingLeft: tokens.spacingHorizontalM,
    borderLeft: `2px solid ${tokens.colorNeutralStroke2}`,
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalS,
  },
  event: { display: "flex", flexDirection: "column" },
  table: { tableLayout: "auto" },
});

type Action = "approve" | "reject" | "revoke" | null;

type Props = {
  id: string | null;
  onClose: () => void;
  /** Called after the request changed, so the list can refresh. */
  onChanged: () => void;
};

export function RequestDetailsDrawer({ id, onClose, onChanged }: Props) {
  const styles = useStyles();
  const { tenant, session } = useApp();
  const archive = useArchive();
  const offline = useOffline();
  const { dispatchToast } = useToastController(TOASTER_ID);
  const [request, setRequest] = useState<RequestDto | null>(null);
  const [audit, setAudit] = useState<AuditEntryDto[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [action, setAction] = useState<Action>(null);
  // The request shown, for answers that arrive after it changed.
  const openId = useRef(id);
  useLayoutEffect(() => {
    openId.current = id;
  }, [id]);
  // Where focus goes back to when a decision dialog closes: the button that
  // opened it, or the panel's heading if that button is gone (the decision
  // changed the request's state) or disabled. Without this focus falls to the
  // page body, outside the panel, and Escape no longer closes it.
  const opener = useRef<HTMLElement | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const restoreFocus = useRef(false);

  const openDialog = (kind: Exclude<Action, null>, from: HTMLElement) => {
    opener.current = from;
    setAction(kind);
  };
  const closeDialog = () => {
    setAction(null);
    restoreFocus.current = true;
  };

  // Once the dialog is gone (focus can't move while it is open).
  useEffect(() => {
    if (!restoreFocus.current || action !== null) return;
    restoreFocus.current = false;
    if (openId.current === null) return;
    const el = opener.current;
    opener.current = null;
    const usable = el && el.isConnected && !(el instanceof HTMLButtonElement && el.disabled);
    (usable ? el : heading.current)?.focus();
  }, [action]);

  // The request last reported on screen (once per request, not per reload).
  const reported = useRef<string | null>(null);
  // State changes only when the engine answers (never synchronously in the effect).
  const load = useCallback(
    (which: string) =>
      Promise.all([getRequest(tenant.id, which), requestAudit(tenant.id, which)]).then(
        ([r, a]) => {
          if (openId.current !== which) return;
          setRequest(r);
          setAudit(a);
          setError(null);
          if (reported.current !== which) reportShown(`requests?request=${encodeURIComponent(which)}`);
          reported.current = which;
        },
        (e: unknown) => {
          if (openId.current === which) setError(errorMessage(e));
        },
      ),
    [tenant.id],
  );

  // Another request, or none (closing: keep showing the request while the
  // drawer slides out).
  useOnChange(id, (next) => {
    setAction(null);
    if (!next) return;
    setRequest(null);
    setAudit(null);
    setError(null);
  });
  useEffect(() => {
    restoreFocus.current = false;
    opener.current = null;
    if (id) void load(id);
  }, [id, load]);

  useLockboxEvents(tenant.id, ["requests_changed", "audit_appended"], () => {
    if (openId.current) void load(openId.current);
  });

  const toast = (title: string, intent: "success" | "info" = "success") =>
    dispatchToast(
      <Toast>
        <ToastTitle>{title}</ToastTitle>
      </Toast>,
      { intent },
    );

  const act = async (kind: Exclude<Action, null>, comment: string | null, durationS: number | null) => {
    if (!request) return;
    let updated: RequestDto;
    if (kind === "approve") updated = await approveRequest(tenant.id, request.id, comment, durationS);
    else if (kind === "reject") updated = await rejectRequest(tenant.id, request.id, comment);
    else updated = await revokeRequest(tenant.id, request.id, comment);
    setRequest(updated);
    closeDialog();
    if (kind === "approve") {
      if (updated.state === "approved") toast(`Approved. Access ends ${formatDateTime(updated.access_ends_at)}.`);
      else {
        const have = updated.decisions.filter((d) => d.level === "customer" && d.decision === "approve").length;
        const more = Math.max(updated.approvals_required - have, 0);
        toast(`Your approval was recorded. ${more} more approval${more === 1 ? "" : "s"} needed.`, "info");
      }
    } else if (kind === "reject") toast("Request rejected");
    else toast("Access revoked");
    onChanged();
    void load(updated.id);
  };

  const customerApprovals = request?.decisions.filter((d) => d.level === "customer" && d.decision === "approve") ?? [];
  const providerApprovals = request?.decisions.filter((d) => d.level === "provider" && d.decision === "approve") ?? [];
  const iApproved = customerApprovals.some((d) => d.actor === session.user);
  const canDecide = session.role !== null;

  return (
    <OverlayDrawer
      position="end"
      size="medium"
      open={id !== null}
      onOpenChange={(_, d) => {
        if (!d.open) onClose();
      }}
      aria-label={request ? `Request ${shortId(request.id)} details` : "Request details"}
    >
      <DrawerHeader>
        <DrawerHeaderTitle
          heading={{ ref: heading, tabIndex: -1 }}
          action={<Button appearance="subtle" aria-label="Close" icon={<DismissRegular />} onClick={onClose} />}
        >
          {request ? `${request.case} · ${shortId(request.id)}` : "Request details"}
        </DrawerHeaderTitle>
      </DrawerHeader>
      <DrawerBody>
        <div className={styles.body}>
          <ErrorBar error={error} />
          {!request && !error ? <Spinner label="Loading request…" /> : null}
          {request ? (
            <>
              {archive ? (
                <MessageBar intent="info">
                  <MessageBarBody>
                    {offline
                      ? "The server can't be reached: decisions are off until it's back."
                      : "An audit archive is read-only: no decision can be made here."}
                  </MessageBarBody>
                </MessageBar>
              ) : null}
              <div className={styles.actions}>
                {!archive && request.state === "pending" ? (
                  <>
                    <Button
                      appearance="primary"
                      icon={<CheckmarkRegular />}
                      disabled={!canDecide || iApproved}
                      onClick={(e) => openDialog("approve", e.currentTarget)}
                    >
                      Approve
                    </Button>
                    <Button icon={<DismissCircleRegular />} disabled={!canDecide} onClick={(e) => openDialog("reject", e.currentTarget)}>
                      Reject
                    </Button>
                  </>
                ) : null}
                {!archive && request.state === "approved" ? (
                  <Button icon={<ShieldDismissRegular />} disabled={!canDecide} onClick={(e) => openDialog("revoke", e.currentTarget)}>
                    Revoke access
                  </Button>
                ) : null}
              </div>
              {!archive && request.state === "pending" && iApproved ? (
                <MessageBar intent="info">
                  <MessageBarBody>
                    You approved this request. Waiting for {request.approvals_required - customerApprovals.length} more
                    approval(s).
                  </MessageBarBody>
                </MessageBar>
              ) : null}
              {!archive && request.state === "awaiting_provider" ? (
                <MessageBar intent="info">
                  <MessageBarBody>
                    Waiting for the provider's manager to approve. You can decide once it is pending.
                  </MessageBarBody>
                </MessageBar>
              ) : null}
              {!archive && !canDecide ? (
                <MessageBar intent="warning">
                  <MessageBarBody>You aren't an approver in this organization, so you can only view requests.</MessageBarBody>
                </MessageBar>
              ) : null}

              <section aria-labelledby="req-details-h">
                <Subtitle2 as="h3" id="req-details-h">
                  Details
                </Subtitle2>
                <dl className={styles.fields}>
                  <Row term="Status" styles={styles}>
                    <StatusBadge state={request.state} />
                  </Row>
                  <Row term="Request ID" styles={styles}>
                    {request.id}
                  </Row>
                  <Row term="Support case" styles={styles}>
                    {request.case}
                  </Row>
                  <Row term="Requested by" styles={styles}>
                    {request.requester}
                  </Row>
                  <Row term="Workload" styles={styles}>
                    {request.workload}
                  </Row>
                  <Row term="Resource" styles={styles}>
                    {request.resource}
                  </Row>
                  <Row term="Requested duration" styles={styles}>
                    {humanDuration(request.requested_duration_s)}
                  </Row>
                  <Row term="Granted duration" styles={styles}>
                    {request.granted_duration_s === null ? "—" : humanDuration(request.granted_duration_s)}
                  </Row>
                  <Row term="Requested" styles={styles}>
                    {formatDateTime(request.created_at)}
                  </Row>
                  <Row term="Expires" styles={styles}>
                    {formatDateTime(request.expires_at)}
                  </Row>
                  <Row term="Approved" styles={styles}>
                    {formatDateTime(request.approved_at)}
                  </Row>
                  <Row term="Access ends" styles={styles}>
                    {formatDateTime(request.access_ends_at)}
                  </Row>
                  <Row term="Closed" styles={styles}>
                    {formatDateTime(request.closed_at)}
                  </Row>
                  <Row term="Customer approvals" styles={styles}>
                    {customerApprovals.length} of {request.approvals_required}
                  </Row>
                  <Row term="Provider approvals" styles={styles}>
                    {providerApprovals.length} of {request.provider_approvals_required}
                  </Row>
                  <Row term="Lockbox approval required" styles={styles}>
                    {request.lockbox_required ? "Yes" : "No"}
                  </Row>
                </dl>
              </section>

              <section aria-labelledby="req-reason-h">
                <Subtitle2 as="h3" id="req-reason-h">
                  Reason
                </Subtitle2>
                <p className={styles.reason}>{request.reason}</p>
              </section>

              <section aria-labelledby="req-decisions-h">
                <Subtitle2 as="h3" id="req-decisions-h">
                  Decisions
                </Subtitle2>
                {request.decisions.length === 0 ? (
                  <Text>No decisions yet.</Text>
                ) : (
                  <Table size="small" aria-labelledby="req-decisions-h" className={styles.table}>
                    <TableHeader>
                      <TableRow>
                        <TableHeaderCell>Who</TableHeaderCell>
                        <TableHeaderCell>Decision</TableHeaderCell>
                        <TableHeaderCell>When</TableHeaderCell>
                        <TableHeaderCell>Comment</TableHeaderCell>
                      </TableRow>
                    </TableHeader>
                    <TableBody>
                      {request.decisions.map((d, i) => (
                        <TableRow key={i}>
                          <TableCell>
                            {d.actor}
                            <br />
                            <Caption1>{d.level === "provider" ? "Provider" : "Customer"}</Caption1>
                          </TableCell>
                          <TableCell>
                            {DECISION_LABEL[d.decision]}
                            {d.duration_s !== null ? ` (${humanDuration(d.duration_s)})` : ""}
                          </TableCell>
                          <TableCell>{formatDateTime(d.at)}</TableCell>
                          <TableCell>{d.comment ?? "—"}</TableCell>
                        </TableRow>
                      ))}
                    </TableBody>
                  </Table>
                )}
              </section>

              <section aria-labelledby="req-timeline-h">
                <Subtitle2 as="h3" id="req-timeline-h">
                  Activity
                </Subtitle2>
                {audit === null ? (
                  <Spinner size="tiny" label="Loading activity…" />
                ) : audit.length === 0 ? (
                  <Text>No audit entries.</Text>
                ) : (
                  <ol className={styles.timeline} aria-label="Audit timeline">
                    {audit.map((e) => (
                      <li key={e.seq} className={styles.event}>
                        <Text weight="semibold">{operationLabel(e.operation)}</Text>
                        <Caption1>
                          {formatDateTime(e.at, true)} · {e.actor} ({e.actor_kind}) · #{e.seq}
                        </Caption1>
                        {auditDetailsText(e) ? <Caption1>{auditDetailsText(e)}</Caption1> : null}
                      </li>
                    ))}
                  </ol>
                )}
                <Link
                  href={`#/audit?request=${encodeURIComponent(request.id)}`}
                  onClick={onClose}
                >
                  Open in Audit
                </Link>
              </section>

              <ApproveDialog
                request={request}
                open={action === "approve"}
                onClose={closeDialog}
                onConfirm={(c, d) => act("approve", c, d)}
              />
              <RejectDialog
                request={request}
                open={action === "reject"}
                onClose={closeDialog}
                onConfirm={(c) => act("reject", c, null)}
              />
              <RevokeDialog
                request={request}
                open={action === "revoke"}
                onClose={closeDialog}
                onConfirm={(c) => act("revoke", c, null)}
              />
            </>
          ) : null}
        </div>
      </DrawerBody>
    </OverlayDrawer>
  );
}

const DECISION_LABEL = { approve: "Approved", reject: "Rejected", revoke: "Revoked", cancel: "Canceled" } as const;

function Row({
  term,
  children,
  styles,
}: {
  term: string;
  children: ReactNode;
  styles: ReturnType<typeof useStyles>;
}) {
  return (
    <>
      <dt className={styles.term}>{term}</dt>
      <dd className={styles.def}>{children}</dd>
    </>
  );
}

