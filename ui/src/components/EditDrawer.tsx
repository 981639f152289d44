import {
  Button,
  DrawerBody,
  DrawerFooter,
  DrawerHeader,
  DrawerHeaderTitle,
  makeStyles,
  OverlayDrawer,
  Spinner,
  Text,
  tokens,
} from "@fluentui/react-components";
import { DismissRegular } from "@fluentui/react-icons";
import type { ReactNode } from "react";
import { ErrorBar } from "./ErrorBar";

const useStyles = makeStyles({
  body: {
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalL,
    paddingBottom: tokens.spacingVerticalL,
  },
  footer: { display: "flex", gap: tokens.spacingHorizontalS, flexWrap: "wrap" },
  muted: { color: tokens.colorNeutralForeground2 },
});

export type EditDrawerProps = {
  open: boolean;
  /** The heading at the top of the panel. */
  title: string;
  /** The panel's accessible name (its dialog role is named by this). */
  ariaLabel: string;
  /** The id of the panel's form; Save submits it. */
  formId: string;
  /** A muted paragraph above the fields. */
  description?: ReactNode;
  /** While true, Save and Cancel are disabled, Save shows a spinner and Escape / a click outside don't close. */
  saving: boolean;
  /** The engine's message when saving failed, shown under the fields with `errorTitle`. */
  error: string | null;
  errorTitle: string;
  onClose: () => void;
  /** Called on Save and on Enter in a field (the form's submit). */
  onSave: () => void;
  /** More footer buttons, after Save and Cancel. */
  footerExtra?: ReactNode;
  /** The fields. */
  children: ReactNode;
};

/** The settings edit panel: a header with Close, a form of fields, and Save / Cancel. */
export function EditDrawer(p: EditDrawerProps) {
  const styles = useStyles();
  return (
    <OverlayDrawer
      position="end"
      size="medium"
      open={p.open}
      onOpenChange={(_, d) => {
        if (!d.open && !p.saving) p.onClose();
      }}
      aria-label={p.ariaLabel}
    >
      <DrawerHeader>
        <DrawerHeaderTitle
          action={<Button appearance="subtle" aria-label="Close" icon={<DismissRegular />} onClick={p.onClose} />}
        >
          {p.title}
        </DrawerHeaderTitle>
      </DrawerHeader>
      <DrawerBody>
        <form
          id={p.formId}
          className={styles.body}
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            p.onSave();
          }}
        >
          {p.description ? <Text className={styles.muted}>{p.description}</Text> : null}
          {p.children}
          <ErrorBar error={p.error} title={p.errorTitle} />
        </form>
      </DrawerBody>
      <DrawerFooter className={styles.footer}>
        <Button
          appearance="primary"
          type="submit"
          form={p.formId}
          disabled={p.saving}
          icon={p.saving ? <Spinner size="tiny" /> : undefined}
        >
          Save
        </Button>
        <Button onClick={p.onClose} disabled={p.saving}>
          Cancel
        </Button>
        {p.footerExtra}
      </DrawerFooter>
    </OverlayDrawer>
  );
}
