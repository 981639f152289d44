import {
  Badge,
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  makeStyles,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Select,
  Spinner,
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
  AddRegular,
  CheckmarkCircleRegular,
  ClockRegular,
  CopyRegular,
  KeyMultipleRegular,
  ProhibitedRegular,
} from "@fluentui/react-icons";
import { useCallback, useEffect, useState } from "react";
import { errorMessage, issueToken, listTokens, revokeToken } from "../../api/client";
import { useApp } from "../../AppContext";
import type { IssuedTokenDto } from "../../bindings/IssuedTokenDto";
import type { TokenDto } from "../../bindings/TokenDto";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorBar } from "../../components/ErrorBar";
import { SettingsCard } from "../../components/SettingsCard";
import { FormDialog } from "../../components/FormDialog";
import { fieldValidation, useSubmit } from "../../lib/form";
import { useLockboxEvents, useOnChange } from "../../lib/hooks";
import { formatDateTime } from "../../lib/time";
import { TOASTER_ID } from "../../toaster";
import { EXPIRY_OPTIONS, validateConnectionName } from "./providerForms";

const useStyles = makeStyles({
  form: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  table: { tableLayout: "auto" },
  secretRow: { display: "flex", gap: tokens.spacingHorizontalS, alignItems: "flex-end" },
  secret: { flexGrow: 1, fontFamily: tokens.fontFamilyMonospace },
});

export type TokenStatus = "active" | "revoked" | "expired";

export function tokenStatus(t: TokenDto): TokenStatus {
  if (t.revoked_at !== null) return "revoked";
  return t.active ? "active" : "expired";
}

/** Status as text with an icon: never colour alone. */
function StatusBadge({ status }: { status: TokenStatus }) {
  switch (status) {
    case "active":
      return (
        <Badge appearance="tint" color="success" icon={<CheckmarkCircleRegular />}>
          Active
        </Badge>
      );
    case "revoked":
      return (
        <Badge appearance="tint" color="danger" icon={<ProhibitedRegular />}>
          Revoked
        </Badge>
      );
    case "expired":
      return (
        <Badge appearance="tint" color="subtle" icon={<ClockRegular />}>
          Expired
        </Badge>
      );
  }
}

export function ProviderConnections() {
  const styles = useStyles();
  const { tenant, session } = useApp();
  const { dispatchToast } = useToastController(TOASTER_ID);
  const [items, setItems] = useState<TokenDto[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [issued, setIssued] = useState<IssuedTokenDto | null>(null);
  const [revoking, setRevoking] = useState<TokenDto | null>(null);
  const isAdmin = session.role === "admin";

  // State changes only when the engine answers (never synchronously in the effect).
  const load = useCallback(
    () =>
      listTokens(tenant.id).then(
        (v) => {
          setItems(v);
          setError(null);
        },
        (e: unknown) => setError(errorMessage(e)),
      ),
    [tenant.id],
  );

  // Another tenant: nothing to show until its connections arrive.
  useOnChange(tenant.id, () => setItems(null));
  useEffect(() => {
    void load();
  }, [load]);
  useLockboxEvents(tenant.id, ["settings_changed", "requests_changed"], () => void load());

  return (
    <SettingsCard
      icon={<KeyMultipleRegular fontSize={24} aria-hidden />}
      title="Provider connections"
      headingId="connections-h"
      description={
        <>
          Each connection has a token your provider's system uses to call the Provider API for this organization. Revoke
          a connection to stop it at once.
        </>
      }
      action={
        <Button icon={<AddRegular />} onClick={() => setAdding(true)} disabled={!isAdmin}>
          Add connection
        </Button>
      }
    >
      <ErrorBar error={error} title="Couldn't load provider connections" />
      {items === null && !error ? <Spinner size="small" label="Loading provider connections…" /> : null}
      {items !== null ? (
        items.length === 0 ? (
          <Text>No provider connections. Add one to let your provider file requests over the API.</Text>
        ) : (
          <Table aria-labelledby="connections-h" size="small" className={styles.table}>
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Name</TableHeaderCell>
                <TableHeaderCell>Created</TableHeaderCell>
                <TableHeaderCell>Expires</TableHeaderCell>
                <TableHeaderCell>Status</TableHeaderCell>
                <TableHeaderCell>
                  <span className="visually-hidden">Actions</span>
                </TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {items.map((t) => {
                const status = tokenStatus(t);
                return (
                  <TableRow key={t.id}>
                    <TableCell>{t.name}</TableCell>
                    <TableCell>{formatDateTime(t.created_at)}</TableCell>
                    <TableCell>{t.expires_at ? formatDateTime(t.expires_at) : "Never"}</TableCell>
                    <TableCell>
                      <StatusBadge status={status} />
                      {status === "revoked" ? (
                        <span className="visually-hidden"> on {formatDateTime(t.revoked_at)}</span>
                      ) : null}
                    </TableCell>
                    <TableCell>
                      {status === "active" ? (
                        <Button
                          appearance="subtle"
                          size="small"
                          aria-label={`Revoke ${t.name}`}
                          disabled={!isAdmin}
                          onClick={() => setRevoking(t)}
                        >
                          Revoke
                        </Button>
                      ) : null}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )
      ) : null}
      <AddConnectionDialog
        open={adding}
        onClose={() => setAdding(false)}
        onAdd={async (name, expiresS) => {
          const out = await issueToken(tenant.id, name, expiresS);
          setAdding(false);
          setIssued(out);
          await load();
        }}
      />
      <SecretDialog issued={issued} onClose={() => setIssued(null)} />
      <ConfirmDialog
        item={revoking}
        title={(t) => `Revoke ${t.name}?`}
        message={() => (
          <>
            The provider's system can no longer use this connection's token: its calls to the Provider API are refused
            from now on. Requests it already filed stay as they are. This can't be undone.
          </>
        )}
        confirmLabel="Revoke"
        errorTitle="The connection wasn't revoked"
        onClose={() => setRevoking(null)}
        onConfirm={async (t) => {
          await revokeToken(tenant.id, t.name);
          setRevoking(null);
          dispatchToast(
            <Toast>
              <ToastTitle>Connection "{t.name}" revoked</ToastTitle>
            </Toast>,
            { intent: "success" },
          );
          await load();
        }}
      />
    </SettingsCard>
  );
}

function AddConnectionDialog({
  open,
  onClose,
  onAdd,
}: {
  open: boolean;
  onClose: () => void;
  onAdd: (name: string, expiresS: number | null) => Promise<void>;
}) {
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("90");
  const [nameError, setNameError] = useState<string | undefined>(undefined);
  const { busy, error, run } = useSubmit(open);

  useOnChange(open, (now) => {
    if (now) {
      setName("");
      setExpiry("90");
      setNameError(undefined);
    }
  });

  const submit = async () => {
    const v = validateConnectionName(name);
    setNameError(v);
    if (v) return;
    const seconds = EXPIRY_OPTIONS.find((o) => o.value === expiry)?.seconds ?? null;
    await run(() => onAdd(name.trim(), seconds));
  };

  return (
    <FormDialog
      open={open}
      title="Add provider connection"
      submitLabel="Add"
      busy={busy}
      error={error}
      errorTitle="The connection wasn't added"
      onClose={onClose}
      onSubmit={() => void submit()}
    >
      <Field
        label="Name"
        required
        hint="Who or what uses it, like “Provider ticketing (production)”."
        {...fieldValidation(nameError)}
      >
        <Input
          value={name}
          onChange={(_, d) => {
            setName(d.value);
            setNameError(undefined);
          }}
        />
      </Field>
      <Field label="Expires after" hint="The token stops working then; add a new connection to replace it.">
        <Select value={expiry} onChange={(_, d) => setExpiry(d.value)}>
          {EXPIRY_OPTIONS.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </Select>
      </Field>
    </FormDialog>
  );
}

type CopyState = "idle" | "copied" | "failed";

/** Shows a newly issued token's secret, once; closing the dialog forgets it. */
function SecretDialog({ issued, onClose }: { issued: IssuedTokenDto | null; onClose: () => void }) {
  const styles = useStyles();
  const [copy, setCopy] = useState<CopyState>("idle");
  useOnChange(issued, () => setCopy("idle"));

  const doCopy = async () => {
    if (!issued) return;
    const clip = typeof navigator !== "undefined" ? navigator.clipboard : undefined;
    if (!clip || typeof clip.writeText !== "function") {
      setCopy("failed");
      return;
    }
    try {
      await clip.writeText(issued.secret);
      setCopy("copied");
    } catch {
      setCopy("failed");
    }
  };

  return (
    // "alert": a click outside doesn't close it, so the secret isn't lost by accident.
    <Dialog modalType="alert" open={issued !== null} onOpenChange={(_, d) => !d.open && onClose()}>
      <DialogSurface aria-describedby="token-once-note">
        <DialogBody>
          <DialogTitle>Copy the token for {issued?.token.name}</DialogTitle>
          <DialogContent className={styles.form}>
            <MessageBar intent="warning" id="token-once-note">
              <MessageBarBody>
                <MessageBarTitle>This token is shown only once</MessageBarTitle>
                Copy it now and give it to your provider over a secure channel. You can't see it again; if it's lost,
                revoke the connection and add a new one.
              </MessageBarBody>
            </MessageBar>
            <div className={styles.secretRow}>
              <Field label="Token" className={styles.secret}>
                <Input
                  readOnly
                  value={issued?.secret ?? ""}
                  className={styles.secret}
                  onFocus={(e) => e.currentTarget.select()}
                />
              </Field>
              <Button icon={<CopyRegular />} onClick={() => void doCopy()}>
                Copy
              </Button>
            </div>
            <Text role="status" aria-live="polite">
              {copy === "copied"
                ? "Copied to the clipboard."
                : copy === "failed"
                  ? "Couldn't copy automatically: select the token and copy it yourself."
                  : ""}
            </Text>
          </DialogContent>
          <DialogActions>
            <Button appearance="primary" onClick={onClose}>
              Done
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
