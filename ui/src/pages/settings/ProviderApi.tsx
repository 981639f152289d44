import {
  Badge,
  Body1,
  Button,
  Caption1,
  Field,
  Input,
  makeStyles,
  Spinner,
  Switch,
  Toast,
  ToastTitle,
  tokens,
  useToastController,
} from "@fluentui/react-components";
import {
  CheckmarkCircleRegular,
  EditRegular,
  PlugConnectedRegular,
  SubtractCircleRegular,
} from "@fluentui/react-icons";
import { useCallback, useEffect, useState } from "react";
import { errorMessage, getApiSettings, setApiSettings } from "../../api/client";
import { useApp } from "../../AppContext";
import type { ApiSettingsDto } from "../../bindings/ApiSettingsDto";
import { EditDrawer } from "../../components/EditDrawer";
import { ErrorBar } from "../../components/ErrorBar";
import { SettingsCard } from "../../components/SettingsCard";
import { fieldValidation, useSubmit } from "../../lib/form";
import { useLockboxEvents, useOnChange } from "../../lib/hooks";
import { TOASTER_ID } from "../../toaster";
import { toApiForm, validateApiForm, type ApiErrors, type ApiForm } from "./providerForms";

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
  muted: { color: tokens.colorNeutralForeground2 },
  address: { maxWidth: "260px" },
});

/** Customer decisions never go over the API; said on the card and in the panel. */
const DECISIONS_NOTE =
  "Customer decisions — approving, rejecting and revoking access — are never available over the API. Providers can only file, follow and cancel their requests and log their actions.";

export function ProviderApi() {
  const styles = useStyles();
  const { tenant, session } = useApp();
  const { dispatchToast } = useToastController(TOASTER_ID);
  const [api, setApi] = useState<ApiSettingsDto | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const isAdmin = session.role === "admin";

  // State changes only when the engine answers (never synchronously in the effect).
  const load = useCallback(
    () =>
      getApiSettings().then(
        (a) => {
          setApi(a);
          setError(null);
        },
        (e: unknown) => setError(errorMessage(e)),
      ),
    [],
  );

  useEffect(() => {
    void load();
  }, [load]);
  useLockboxEvents(null, ["settings_changed"], () => void load());

  return (
    <SettingsCard
      icon={<PlugConnectedRegular fontSize={24} aria-hidden />}
      title="Provider API"
      headingId="provider-api-h"
      description={
        <>
          Lets your provider's ticketing system file Customer Lockbox requests with this app over a local HTTP API.
          Applies to this app on this computer, for every organization.
        </>
      }
      action={
        <Button
          icon={<EditRegular />}
          aria-label="Edit provider API"
          disabled={!api || !isAdmin}
          onClick={() => setEditing(true)}
        >
          Edit
        </Button>
      }
    >
      <ErrorBar error={error} title="Couldn't load the provider API settings" />
      {!api && !error ? <Spinner size="small" label="Loading provider API settings…" /> : null}
      {api ? (
        <>
          <Body1>
            Provider API is{" "}
            {api.enabled ? (
              <Badge appearance="tint" color="success" icon={<CheckmarkCircleRegular />}>
                On
              </Badge>
            ) : (
              <Badge appearance="tint" color="subtle" icon={<SubtractCircleRegular />}>
                Off
              </Badge>
            )}
          </Body1>
          <dl className={styles.summary} aria-label="Provider API summary">
            <dt className={styles.term}>Listening on</dt>
            <dd className={styles.def}>
              {api.listening_on
                ? `${api.listening_on} (${api.tls_cert ? "HTTPS" : "HTTP"})`
                : api.enabled
                  ? "Not running"
                  : "Not running (turned off)"}
            </dd>
            <dt className={styles.term}>Address</dt>
            <dd className={styles.def}>{api.bind}</dd>
            <dt className={styles.term}>TLS</dt>
            <dd className={styles.def}>{api.tls_cert && api.tls_key ? "On (certificate and key set)" : "Off"}</dd>
          </dl>
          {api.enabled && api.error ? <ErrorBar error={api.error} title="The provider API isn't running" /> : null}
          <Caption1 className={styles.muted}>{DECISIONS_NOTE}</Caption1>
          {!isAdmin ? <Caption1>Only admins can change these settings.</Caption1> : null}
        </>
      ) : null}
      {api ? (
        <ApiSettingsDrawer
          open={editing}
          tenant={tenant.id}
          api={api}
          onClose={() => setEditing(false)}
          onSaved={(saved) => {
            setApi(saved);
            setEditing(false);
            dispatchToast(
              <Toast>
                <ToastTitle>Provider API settings saved</ToastTitle>
              </Toast>,
              { intent: "success" },
            );
          }}
        />
      ) : null}
    </SettingsCard>
  );
}

function ApiSettingsDrawer({
  open,
  tenant,
  api,
  onClose,
  onSaved,
}: {
  open: boolean;
  tenant: string;
  api: ApiSettingsDto;
  onClose: () => void;
  onSaved: (api: ApiSettingsDto) => void;
}) {
  const styles = useStyles();
  const [form, setForm] = useState<ApiForm>(() => toApiForm(api));
  const [errors, setErrors] = useState<ApiErrors>({});
  const { busy: saving, error: saveError, run } = useSubmit(open);

  // Reset only when the panel opens, not when live updates arrive mid-edit.
  useOnChange(open, (now) => {
    if (now) {
      setForm(toApiForm(api));
      setErrors({});
    }
  });

  const set = <K extends keyof ApiForm>(k: K, v: ApiForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    if (k !== "enabled") setErrors((e) => ({ ...e, [k]: undefined }));
  };

  const save = async () => {
    const v = validateApiForm(form);
    if (!v.ok) {
      setErrors(v.errors);
      return;
    }
    setErrors({});
    await run(async () => {
      onSaved(await setApiSettings(tenant, { ...v.settings, listening_on: null, error: null }));
    });
  };

  return (
    <EditDrawer
      open={open}
      title="Provider API"
      ariaLabel="Provider API settings"
      formId="provider-api-form"
      description={<>Providers authenticate with a token from Provider connections. {DECISIONS_NOTE}</>}
      saving={saving}
      error={saveError}
      errorTitle="Provider API settings weren't saved"
      onClose={onClose}
      onSave={() => void save()}
    >
      <Switch
        label="Allow providers to file requests over the local API"
        checked={form.enabled}
        onChange={(_, d) => set("enabled", d.checked)}
      />
      <Field
        label="Address"
        required
        hint="IP address and port, like 127.0.0.1:8787. Only this computer can reach 127.0.0.1, localhost or [::1]; any other address needs TLS."
        {...fieldValidation(errors.bind)}
      >
        <Input className={styles.address} value={form.bind} onChange={(_, d) => set("bind", d.value)} />
      </Field>
      <Field
        label="TLS certificate path"
        hint="PEM file. Give the certificate and the key together."
        {...fieldValidation(errors.tls_cert)}
      >
        <Input value={form.tls_cert} onChange={(_, d) => set("tls_cert", d.value)} />
      </Field>
      <Field
        label="TLS key path"
        hint="PEM file with the certificate's private key."
        {...fieldValidation(errors.tls_key)}
      >
        <Input value={form.tls_key} onChange={(_, d) => set("tls_key", d.value)} />
      </Field>
    </EditDrawer>
  );
}
