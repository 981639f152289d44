import {
  Badge,
  Body1,
  Button,
  Caption1,
  Card,
  CardHeader,
  DrawerBody,
  DrawerFooter,
  DrawerHeader,
  DrawerHeaderTitle,
  Field,
  Input,
  makeStyles,
  OverlayDrawer,
  Spinner,
  Switch,
  Text,
  Toast,
  ToastTitle,
  tokens,
  useToastController,
} from "@fluentui/react-components";
import {
  CheckmarkCircleRegular,
  DismissRegular,
  EditRegular,
  PlugConnectedRegular,
  SubtractCircleRegular,
} from "@fluentui/react-icons";
import { useCallback, useEffect, useState } from "react";
import { errorMessage, getApiSettings, setApiSettings } from "../../api/client";
import { useApp } from "../../AppContext";
import type { ApiSettingsDto } from "../../bindings/ApiSettingsDto";
import { ErrorBar } from "../../components/ErrorBar";
import { useLockboxEvents } from "../../lib/hooks";
import { TOASTER_ID } from "../../toaster";
import { toApiForm, validateApiForm, type ApiErrors, type ApiForm } from "./providerForms";

const useStyles = makeStyles({
  card: { maxWidth: "900px" },
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
  body: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalL, paddingBottom: tokens.spacingVerticalL },
  footer: { display: "flex", gap: tokens.spacingHorizontalS },
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

  const load = useCallback(async () => {
    try {
      setApi(await getApiSettings());
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);
  useLockboxEvents(null, ["settings_changed"], () => void load());

  return (
    <Card className={styles.card}>
      <CardHeader
        image={<PlugConnectedRegular fontSize={24} aria-hidden />}
        header={
          <Text weight="semibold" as="h3" size={400} id="provider-api-h">
            Provider API
          </Text>
        }
        description={
          <Text className={styles.muted}>
            Lets your provider's ticketing system file Customer Lockbox requests with this app over a local HTTP API.
            Applies to this app on this computer, for every organization.
          </Text>
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
      />
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
    </Card>
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
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);

  useEffect(() => {
    if (open) {
      setForm(toApiForm(api));
      setErrors({});
      setSaveError(null);
      setSaving(false);
    }
    // Reset only when the panel opens, not when live updates arrive mid-edit.
  }, [open]);

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
    setSaving(true);
    setSaveError(null);
    try {
      onSaved(await setApiSettings(tenant, { ...v.settings, listening_on: null, error: null }));
    } catch (e) {
      setSaveError(errorMessage(e));
    } finally {
      setSaving(false);
    }
  };

  const state = (k: keyof ApiErrors) => (errors[k] ? ("error" as const) : ("none" as const));

  return (
    <OverlayDrawer
      position="end"
      size="medium"
      open={open}
      onOpenChange={(_, d) => {
        if (!d.open && !saving) onClose();
      }}
      aria-label="Provider API settings"
    >
      <DrawerHeader>
        <DrawerHeaderTitle
          action={<Button appearance="subtle" aria-label="Close" icon={<DismissRegular />} onClick={onClose} />}
        >
          Provider API
        </DrawerHeaderTitle>
      </DrawerHeader>
      <DrawerBody>
        <form
          id="provider-api-form"
          className={styles.body}
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <Text className={styles.muted}>
            Providers authenticate with a token from Provider connections. {DECISIONS_NOTE}
          </Text>
          <Switch
            label="Allow providers to file requests over the local API"
            checked={form.enabled}
            onChange={(_, d) => set("enabled", d.checked)}
          />
          <Field
            label="Address"
            required
            hint="IP address and port, like 127.0.0.1:8787. Only this computer can reach 127.0.0.1, localhost or [::1]; any other address needs TLS."
            validationMessage={errors.bind}
            validationState={state("bind")}
          >
            <Input className={styles.address} value={form.bind} onChange={(_, d) => set("bind", d.value)} />
          </Field>
          <Field
            label="TLS certificate path"
            hint="PEM file. Give the certificate and the key together."
            validationMessage={errors.tls_cert}
            validationState={state("tls_cert")}
          >
            <Input value={form.tls_cert} onChange={(_, d) => set("tls_cert", d.value)} />
          </Field>
          <Field
            label="TLS key path"
            hint="PEM file with the certificate's private key."
            validationMessage={errors.tls_key}
            validationState={state("tls_key")}
          >
            <Input value={form.tls_key} onChange={(_, d) => set("tls_key", d.value)} />
          </Field>
          <ErrorBar error={saveError} title="Provider API settings weren't saved" />
        </form>
      </DrawerBody>
      <DrawerFooter className={styles.footer}>
        <Button
          appearance="primary"
          type="submit"
          form="provider-api-form"
          disabled={saving}
          icon={saving ? <Spinner size="tiny" /> : undefined}
        >
          Save
        </Button>
        <Button onClick={onClose} disabled={saving}>
          Cancel
        </Button>
      </DrawerFooter>
    </OverlayDrawer>
  );
}
