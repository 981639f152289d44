import {
  Badge,
  Body1,
  Button,
  Caption1,
  Field,
  Input,
  makeStyles,
  MessageBar,
  MessageBarBody,
  Select,
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
  ArrowSyncRegular,
  CheckmarkCircleRegular,
  EditRegular,
  ErrorCircleRegular,
  HourglassRegular,
  MailRegular,
  SendRegular,
  SubtractCircleRegular,
} from "@fluentui/react-icons";
import { useCallback, useEffect, useState } from "react";
import { emailStatus, errorMessage, getSmtp, setSmtp, testSmtp } from "../../api/client";
import { useApp } from "../../AppContext";
import type { DeliveryDto } from "../../bindings/DeliveryDto";
import type { SmtpDto } from "../../bindings/SmtpDto";
import { EditDrawer } from "../../components/EditDrawer";
import { ErrorBar } from "../../components/ErrorBar";
import { SettingsCard } from "../../components/SettingsCard";
import { fieldValidation, useSubmit } from "../../lib/form";
import { useLockboxEvents, useOnChange } from "../../lib/hooks";
import { formatDateTime, shortId } from "../../lib/time";
import { TOASTER_ID } from "../../toaster";
import { EMAIL_RE } from "./CustomerApprovers";
import {
  SECURITY_OPTIONS,
  securityLabel,
  toSmtpForm,
  validateSmtpForm,
  type SmtpErrors,
  type SmtpForm,
  type SmtpSecurity,
} from "./providerForms";

const useStyles = makeStyles({
  summary: {
    display: "grid",
    gridTemplateColumns: "max-content 1fr",
    columnGap: tokens.spacingHorizontalXL,
    rowGap: tokens.spacingVerticalXS,
    margin: 0,
  },
  term: { color: tokens.colorNeutralForeground2 },
  def: { margin: 0, overflowWrap: "anywhere" },
  footerEnd: { marginLeft: "auto" },
  port: { maxWidth: "120px" },
  testRow: { display: "flex", gap: tokens.spacingHorizontalS, alignItems: "flex-start", flexWrap: "wrap" },
  testField: { minWidth: "280px", flexGrow: 1, maxWidth: "420px" },
  testButton: { marginTop: "26px" },
  sectionHead: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalS },
  table: { tableLayout: "auto" },
  mono: { fontFamily: tokens.fontFamilyMonospace },
});

const KIND_LABEL: Record<string, string> = { pending: "New request", reminder: "Reminder" };

function OutcomeBadge({ outcome }: { outcome: string }) {
  switch (outcome) {
    case "sent":
      return (
        <Badge appearance="tint" color="success" icon={<CheckmarkCircleRegular />}>
          Sent
        </Badge>
      );
    case "failed":
      return (
        <Badge appearance="tint" color="danger" icon={<ErrorCircleRegular />}>
          Failed
        </Badge>
      );
    case "claimed":
      return (
        <Badge appearance="tint" color="informative" icon={<HourglassRegular />}>
          Sending
        </Badge>
      );
    case "skipped":
      return (
        <Badge appearance="tint" color="subtle" icon={<SubtractCircleRegular />}>
          Skipped
        </Badge>
      );
    default:
      return <Badge appearance="tint" color="subtle">{outcome}</Badge>;
  }
}

export function EmailNotifications() {
  const styles = useStyles();
  const { tenant, session } = useApp();
  const { dispatchToast } = useToastController(TOASTER_ID);
  const [smtp, setSmtpState] = useState<SmtpDto | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const isAdmin = session.role === "admin";

  // State changes only when the engine answers (never synchronously in the effect).
  const load = useCallback(
    () =>
      getSmtp(tenant.id).then(
        (v) => {
          setSmtpState(v);
          setError(null);
        },
        (e: unknown) => setError(errorMessage(e)),
      ),
    [tenant.id],
  );

  // Another tenant: nothing to show until its settings arrive.
  useOnChange(tenant.id, () => setSmtpState(undefined));
  useEffect(() => {
    void load();
  }, [load]);
  useLockboxEvents(tenant.id, ["settings_changed"], () => void load());

  const saved = (s: SmtpDto | null) => {
    setSmtpState(s);
    setEditing(false);
    dispatchToast(
      <Toast>
        <ToastTitle>{s ? "Email settings saved" : "Email turned off"}</ToastTitle>
      </Toast>,
      { intent: "success" },
    );
  };

  return (
    <SettingsCard
      icon={<MailRegular fontSize={24} aria-hidden />}
      title="Email notifications"
      headingId="email-h"
      description={
        <>
          Approvers with an email address get a message when a request needs their decision, and a reminder before it
          expires. Messages contain no links.
        </>
      }
      action={
        <Button
          icon={<EditRegular />}
          aria-label="Edit email notifications"
          disabled={smtp === undefined || !isAdmin}
          onClick={() => setEditing(true)}
        >
          Edit
        </Button>
      }
    >
      <ErrorBar error={error} title="Couldn't load the email settings" />
      {smtp === undefined && !error ? <Spinner size="small" label="Loading email settings…" /> : null}
      {smtp === null ? <Body1>Off — approvers get no email</Body1> : null}
      {smtp ? (
        <dl className={styles.summary} aria-label="Email settings summary">
          <dt className={styles.term}>SMTP server</dt>
          <dd className={styles.def}>
            {smtp.host}:{smtp.port}
          </dd>
          <dt className={styles.term}>Security</dt>
          <dd className={styles.def}>{securityLabel(smtp.security)}</dd>
          <dt className={styles.term}>Sign-in</dt>
          <dd className={styles.def}>
            {smtp.username ? `${smtp.username}${smtp.password_set ? " (password saved)" : " (no password)"}` : "None"}
          </dd>
          <dt className={styles.term}>From address</dt>
          <dd className={styles.def}>{smtp.from_address}</dd>
        </dl>
      ) : null}
      {!isAdmin ? <Caption1>Only admins can change these settings.</Caption1> : null}
      {smtp !== undefined ? <TestEmail tenant={tenant.id} enabled={smtp !== null} /> : null}
      <DeliveryStatus tenant={tenant.id} />
      {smtp !== undefined ? (
        <SmtpDrawer open={editing} tenant={tenant.id} smtp={smtp} onClose={() => setEditing(false)} onSaved={saved} />
      ) : null}
    </SettingsCard>
  );
}

function TestEmail({ tenant, enabled }: { tenant: string; enabled: boolean }) {
  const styles = useStyles();
  const [to, setTo] = useState("");
  const [fieldError, setFieldError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: true; to: string } | { ok: false; message: string } | null>(null);

  // Another tenant, or email turned on or off: the last result no longer applies.
  useOnChange(`${tenant}\n${enabled}`, () => setResult(null));

  const send = async () => {
    const addr = to.trim();
    if (!EMAIL_RE.test(addr)) {
      setFieldError("Enter a valid email address, like name@example.com.");
      return;
    }
    setFieldError(undefined);
    setBusy(true);
    setResult(null);
    try {
      await testSmtp(tenant, addr);
      setResult({ ok: true, to: addr });
    } catch (e) {
      setResult({ ok: false, message: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      noValidate
      aria-label="Send test email"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <div className={styles.testRow}>
        <Field
          className={styles.testField}
          label="Send a test email to"
          hint={enabled ? "Checks the server settings now." : "Set up an SMTP server first."}
          {...fieldValidation(fieldError)}
        >
          <Input
            type="email"
            value={to}
            disabled={!enabled}
            onChange={(_, d) => {
              setTo(d.value);
              setFieldError(undefined);
            }}
          />
        </Field>
        <Button
          className={styles.testButton}
          type="submit"
          icon={busy ? <Spinner size="tiny" /> : <SendRegular />}
          disabled={!enabled || busy}
        >
          Send test email
        </Button>
      </div>
      {result?.ok ? (
        <MessageBar intent="success" role="status">
          <MessageBarBody>Test email sent to {result.to}.</MessageBarBody>
        </MessageBar>
      ) : null}
      {result && !result.ok ? <ErrorBar error={result.message} title="The test email wasn't sent" /> : null}
    </form>
  );
}

function DeliveryStatus({ tenant }: { tenant: string }) {
  const styles = useStyles();
  const [items, setItems] = useState<DeliveryDto[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  // State changes only when the engine answers (never synchronously in the effect).
  const load = useCallback(
    () =>
      emailStatus(tenant).then(
        (v) => {
          setItems(v);
          setError(null);
        },
        (e: unknown) => setError(errorMessage(e)),
      ),
    [tenant],
  );

  // Another tenant: nothing to show until its deliveries arrive.
  useOnChange(tenant, () => setItems(null));
  useEffect(() => {
    void load();
  }, [load]);
  // The email worker records deliveries as the store changes: follow every change.
  useLockboxEvents(tenant, ["requests_changed", "settings_changed", "audit_appended"], () => void load());

  return (
    <section aria-labelledby="delivery-h">
      <div className={styles.sectionHead}>
        <Subtitle2 as="h4" id="delivery-h">
          Delivery status
        </Subtitle2>
        <Button
          appearance="subtle"
          size="small"
          icon={<ArrowSyncRegular />}
          aria-label="Refresh delivery status"
          onClick={() => void load()}
        />
      </div>
      <ErrorBar error={error} title="Couldn't load the delivery status" />
      {items === null && !error ? <Spinner size="small" label="Loading delivery status…" /> : null}
      {items !== null ? (
        items.length === 0 ? (
          <Text>No approver emails yet.</Text>
        ) : (
          <Table aria-labelledby="delivery-h" size="small" className={styles.table}>
            <TableHeader>
              <TableRow>
                <TableHeaderCell>When</TableHeaderCell>
                <TableHeaderCell>Email</TableHeaderCell>
                <TableHeaderCell>Outcome</TableHeaderCell>
                <TableHeaderCell>Attempts</TableHeaderCell>
                <TableHeaderCell>Error</TableHeaderCell>
                <TableHeaderCell>Next retry</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {items.map((d, i) => (
                <TableRow key={`${d.request_id}-${d.kind}-${i}`}>
                  <TableCell>{formatDateTime(d.at)}</TableCell>
                  <TableCell>
                    {KIND_LABEL[d.kind] ?? d.kind} ·{" "}
                    <span className={styles.mono} title={d.request_id}>
                      {shortId(d.request_id)}
                    </span>
                  </TableCell>
                  <TableCell>
                    <OutcomeBadge outcome={d.outcome} />
                  </TableCell>
                  <TableCell>{d.attempts}</TableCell>
                  <TableCell>{d.detail ?? "—"}</TableCell>
                  <TableCell>{d.next_attempt_at ? formatDateTime(d.next_attempt_at) : "—"}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )
      ) : null}
    </section>
  );
}

function SmtpDrawer({
  open,
  tenant,
  smtp,
  onClose,
  onSaved,
}: {
  open: boolean;
  tenant: string;
  smtp: SmtpDto | null;
  onClose: () => void;
  onSaved: (smtp: SmtpDto | null) => void;
}) {
  const styles = useStyles();
  const [form, setForm] = useState<SmtpForm>(() => toSmtpForm(smtp));
  const [errors, setErrors] = useState<SmtpErrors>({});
  const submit = useSubmit(open);
  const saving = submit.busy;
  const passwordSet = smtp?.password_set ?? false;

  // Reset only when the panel opens, not when live updates arrive mid-edit.
  useOnChange(open, (now) => {
    if (now) {
      setForm(toSmtpForm(smtp));
      setErrors({});
    }
  });

  const set = <K extends keyof SmtpForm>(k: K, v: SmtpForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors((e) => ({ ...e, [k]: undefined }));
  };

  const setSecurity = (security: SmtpSecurity) => {
    setForm((f) => {
      // Follow the usual port of the new security while the port is still a usual one.
      const usual = SECURITY_OPTIONS.some((o) => String(o.port) === f.port.trim());
      const port = usual ? String(SECURITY_OPTIONS.find((o) => o.value === security)?.port ?? f.port) : f.port;
      return { ...f, security, port };
    });
    setErrors((e) => ({ ...e, port: undefined }));
  };

  const run = (smtpInput: Parameters<typeof setSmtp>[1]) =>
    submit.run(async () => {
      onSaved(await setSmtp(tenant, smtpInput));
    });

  const save = async () => {
    const v = validateSmtpForm(form, passwordSet);
    if (!v.ok) {
      setErrors(v.errors);
      return;
    }
    setErrors({});
    await run(v.smtp);
  };

  return (
    <EditDrawer
      open={open}
      title="Email notifications"
      ariaLabel="Email notification settings"
      formId="smtp-form"
      description={
        <>
          The SMTP server this app sends approver email through. Failed messages are retried for a while, then shown as
          failed under Delivery status.
        </>
      }
      saving={saving}
      error={submit.error}
      errorTitle="Email settings weren't saved"
      onClose={onClose}
      onSave={() => void save()}
      footerExtra={
        smtp ? (
          <Button className={styles.footerEnd} onClick={() => void run(null)} disabled={saving}>
            Turn off email
          </Button>
        ) : null
      }
    >
      <Field label="SMTP server" required hint="Host name, like smtp.office365.com." {...fieldValidation(errors.host)}>
        <Input value={form.host} onChange={(_, d) => set("host", d.value)} />
      </Field>
      <Field label="Security" hint="STARTTLS usually uses port 587, TLS port 465. None sends unencrypted.">
        <Select value={form.security} onChange={(_, d) => setSecurity(d.value as SmtpSecurity)}>
          {SECURITY_OPTIONS.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </Select>
      </Field>
      <Field label="Port" required hint="1 to 65535." {...fieldValidation(errors.port)}>
        <Input
          className={styles.port}
          type="number"
          min={1}
          max={65535}
          value={form.port}
          onChange={(_, d) => set("port", d.value)}
        />
      </Field>
      <Field
        label="Username (optional)"
        hint="Leave empty if the server doesn't need sign-in."
        {...fieldValidation(errors.username)}
      >
        <Input autoComplete="off" value={form.username} onChange={(_, d) => set("username", d.value)} />
      </Field>
      <Field
        label="Password"
        hint={
          passwordSet
            ? "A password is saved. Leave empty to keep the current password."
            : "Needed when the server requires sign-in. It is stored on this computer and never shown again."
        }
        {...fieldValidation(errors.password)}
      >
        <Input
          type="password"
          autoComplete="new-password"
          value={form.password}
          onChange={(_, d) => set("password", d.value)}
        />
      </Field>
      <Field
        label="From address"
        required
        hint="The sender approvers see, like lockbox@contoso.com."
        {...fieldValidation(errors.from_address)}
      >
        <Input type="email" value={form.from_address} onChange={(_, d) => set("from_address", d.value)} />
      </Field>
    </EditDrawer>
  );
}
