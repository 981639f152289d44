import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import type { ReactNode } from "react";
import { ErrorBar } from "./ErrorBar";

const useStyles = makeStyles({
  form: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
});

export type FormDialogProps = {
  open: boolean;
  title: string;
  /** The submit button's text (Cancel is the other button). */
  submitLabel: string;
  /** While true, both buttons are disabled and Escape / a click outside don't close. */
  busy: boolean;
  /** The engine's message when submitting failed, shown under the fields with `errorTitle`. */
  error: string | null;
  errorTitle: string;
  onClose: () => void;
  /** Called on the submit button and on Enter in a field. */
  onSubmit: () => void;
  /** The fields. */
  children: ReactNode;
};

/** A small dialog with a form of fields and Cancel / submit, like "Add approver". */
export function FormDialog(p: FormDialogProps) {
  const styles = useStyles();
  return (
    <Dialog open={p.open} onOpenChange={(_, d) => !d.open && !p.busy && p.onClose()}>
      <DialogSurface aria-describedby={undefined}>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            p.onSubmit();
          }}
        >
          <DialogBody>
            <DialogTitle>{p.title}</DialogTitle>
            <DialogContent className={styles.form}>
              {p.children}
              <ErrorBar error={p.error} title={p.errorTitle} />
            </DialogContent>
            <DialogActions>
              <Button type="button" onClick={p.onClose} disabled={p.busy}>
                Cancel
              </Button>
              <Button type="submit" appearance="primary" disabled={p.busy}>
                {p.submitLabel}
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}
