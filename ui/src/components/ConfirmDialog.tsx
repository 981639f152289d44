import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Text,
} from "@fluentui/react-components";
import { useState, type ReactNode } from "react";
import { useOnChange } from "../lib/hooks";
import { useSubmit } from "../lib/form";
import { ErrorBar } from "./ErrorBar";

export type ConfirmDialogProps<T> = {
  /** What to confirm the action on; the dialog is open while this is not null. */
  item: T | null;
  title: (item: T) => ReactNode;
  message: (item: T) => ReactNode;
  /** The confirm button's text (Cancel is the other button). */
  confirmLabel: string;
  /** Shown above the engine's message when the action fails; the dialog stays open. */
  errorTitle: string;
  onClose: () => void;
  /** Performs the action; a rejection is shown in the dialog. */
  onConfirm: (item: T) => Promise<void>;
};

/**
 * Asks "Do X to `item`?" with Cancel / confirm. Keeps showing the last item
 * while it closes, so the text doesn't blank out during the exit animation.
 */
export function ConfirmDialog<T>({
  item,
  title,
  message,
  confirmLabel,
  errorTitle,
  onClose,
  onConfirm,
}: ConfirmDialogProps<T>) {
  const { busy, error, run } = useSubmit(item);
  const [shown, setShown] = useState<T | null>(item);
  useOnChange(item, (now) => {
    if (now) setShown(now);
  });
  return (
    <Dialog open={item !== null} onOpenChange={(_, d) => !d.open && !busy && onClose()}>
      <DialogSurface aria-describedby={undefined}>
        <DialogBody>
          <DialogTitle>{shown ? title(shown) : null}</DialogTitle>
          <DialogContent>
            <Text>{shown ? message(shown) : null}</Text>
            <ErrorBar error={error} title={errorTitle} />
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose} disabled={busy}>
              Cancel
            </Button>
            <Button
              appearance="primary"
              disabled={busy}
              onClick={() => {
                if (!shown) return;
                void run(() => onConfirm(shown));
              }}
            >
              {confirmLabel}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
