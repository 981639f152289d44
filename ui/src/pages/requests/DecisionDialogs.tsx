import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  makeStyles,
  Select,
  Spinner,
  Text,
  Textarea,
  tokens,
} from "@fluentui/react-components";
import { useState, type ReactNode } from "react";
import type { RequestDto } from "../../bindings/RequestDto";
import { ErrorBar } from "../../components/ErrorBar";
import { HOUR, humanDuration, MINUTE } from "../../lib/duration";
import { useSubmit } from "../../lib/form";
import { useOnChange } from "../../lib/hooks";
import { shortId } from "../../lib/time";

const useStyles = makeStyles({
  content: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
});

/** Durations an approver may pick instead of the requested one. */
export const DURATION_CHOICES = [15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR];

/** Choices strictly shorter than the requested duration. */
export function shorterDurations(requestedS: number): number[] {
  return DURATION_CHOICES.filter((d) => d < requestedS);
}

type ShellProps = {
  open: boolean;
  title: string;
  intro: ReactNode;
  confirmLabel: string;
  busy: boolean;
  error: string | null;
  onCancel: () => void;
  onConfirm: () => void;
  children: ReactNode;
};

function DecisionShell(p: ShellProps) {
  const styles = useStyles();
  return (
    <Dialog
      open={p.open}
      modalType="modal"
      onOpenChange={(_, d) => {
        if (!d.open && !p.busy) p.onCancel();
      }}
    >
      <DialogSurface aria-describedby={undefined}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (!p.busy) p.onConfirm();
          }}
        >
          <DialogBody>
            <DialogTitle>{p.title}</DialogTitle>
            <DialogContent className={styles.content}>
              <Text>{p.intro}</Text>
              {p.children}
              <ErrorBar error={p.error} title="The request wasn't changed" />
            </DialogContent>
            <DialogActions>
              <Button type="button" appearance="secondary" onClick={p.onCancel} disabled={p.busy}>
                Cancel
              </Button>
              <Button
                type="submit"
                appearance="primary"
                disabled={p.busy}
                icon={p.busy ? <Spinner size="tiny" /> : undefined}
              >
                {p.confirmLabel}
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}

type DialogProps = {
  request: RequestDto;
  open: boolean;
  onClose: () => void;
  /** Performs the action; a rejection is shown in the dialog. */
  onConfirm: (comment: string | null, durationS: number | null) => Promise<void>;
};

function nullIfBlank(s: string): string | null {
  const t = s.trim();
  return t === "" ? null : t;
}

export function ApproveDialog({ request, open, onClose, onConfirm }: DialogProps) {
  const [comment, setComment] = useState("");
  const [duration, setDuration] = useState("requested");
  const { busy, error, run } = useSubmit(open);
  useOnChange(open, (now) => {
    if (now) {
      setComment("");
      setDuration("requested");
    }
  });
  const choices = shorterDurations(request.requested_duration_s);
  return (
    <DecisionShell
      open={open}
      title="Approve request"
      intro={
        <>
          Approving lets <b>{request.requester}</b> access <b>{request.resource}</b> ({request.workload}) for support case{" "}
          <b>{request.case}</b> (request {shortId(request.id)}).
        </>
      }
      confirmLabel="Approve"
      busy={busy}
      error={error}
      onCancel={onClose}
      onConfirm={() =>
        void run(() => onConfirm(nullIfBlank(comment), duration === "requested" ? null : Number(duration)))
      }
    >
      <Field label="Access duration" hint="You can grant less time than was requested.">
        <Select value={duration} onChange={(_, d) => setDuration(d.value)}>
          <option value="requested">As requested ({humanDuration(request.requested_duration_s)})</option>
          {choices.map((s) => (
            <option key={s} value={String(s)}>
              {humanDuration(s)}
            </option>
          ))}
        </Select>
      </Field>
      <Field label="Comment (optional)">
        <Textarea value={comment} onChange={(_, d) => setComment(d.value)} resize="vertical" />
      </Field>
    </DecisionShell>
  );
}

export function RejectDialog({ request, open, onClose, onConfirm }: DialogProps) {
  const [comment, setComment] = useState("");
  const { busy, error, run } = useSubmit(open);
  useOnChange(open, (now) => {
    if (now) setComment("");
  });
  return (
    <DecisionShell
      open={open}
      title="Reject request"
      intro={
        <>
          Rejecting denies <b>{request.requester}</b> access to <b>{request.resource}</b> for support case{" "}
          <b>{request.case}</b>. The request is closed and can't be approved later.
        </>
      }
      confirmLabel="Reject"
      busy={busy}
      error={error}
      onCancel={onClose}
      onConfirm={() => void run(() => onConfirm(nullIfBlank(comment), null))}
    >
      <Field label="Comment" hint="Tell the support engineer why (recommended).">
        <Textarea value={comment} onChange={(_, d) => setComment(d.value)} resize="vertical" />
      </Field>
    </DecisionShell>
  );
}

export function RevokeDialog({ request, open, onClose, onConfirm }: DialogProps) {
  const [comment, setComment] = useState("");
  const { busy, error, run } = useSubmit(open);
  useOnChange(open, (now) => {
    if (now) setComment("");
  });
  return (
    <DecisionShell
      open={open}
      title="Revoke access"
      intro={
        <>
          <b>{request.requester}</b> loses access to <b>{request.resource}</b> immediately. This can't be undone.
        </>
      }
      confirmLabel="Revoke access"
      busy={busy}
      error={error}
      onCancel={onClose}
      onConfirm={() => void run(() => onConfirm(nullIfBlank(comment), null))}
    >
      <Field label="Comment (optional)">
        <Textarea value={comment} onChange={(_, d) => setComment(d.value)} resize="vertical" />
      </Field>
    </DecisionShell>
  );
}
