import {
  Badge,
  Body1,
  Button,
  Caption1,
  makeStyles,
  Spinner,
  Tab,
  TabList,
  Title2,
  Toast,
  ToastTitle,
  tokens,
  useToastController,
} from "@fluentui/react-components";
import { CheckmarkCircleRegular, EditRegular, LockClosedRegular, SubtractCircleRegular } from "@fluentui/react-icons";
import { useCallback, useEffect, useState } from "react";
import { errorMessage, getPrefs, getSettings } from "../api/client";
import { useApp } from "../AppContext";
import type { AppPrefsDto } from "../bindings/AppPrefsDto";
import type { SettingsDto } from "../bindings/SettingsDto";
import { ErrorBar } from "../components/ErrorBar";
import { SettingsCard } from "../components/SettingsCard";
import { humanDuration } from "../lib/duration";
import { useLockboxEvents } from "../lib/hooks";
import { TOASTER_ID } from "../toaster";
import { CustomerApprovers } from "./settings/CustomerApprovers";
import { EmailNotifications } from "./settings/EmailNotifications";
import { LockboxSettingsDrawer } from "./settings/LockboxSettingsDrawer";
import { ProviderApi } from "./settings/ProviderApi";
import { ProviderConnections } from "./settings/ProviderConnections";
import { ThisDevice } from "./settings/ThisDevice";

const useStyles = makeStyles({
  page: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalL },
  panel: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalL, paddingTop: tokens.spacingVerticalM },
  summary: {
    display: "grid",
    gridTemplateColumns: "max-content 1fr",
    columnGap: tokens.spacingHorizontalXL,
    rowGap: tokens.spacingVerticalXS,
    margin: 0,
  },
  term: { color: tokens.colorNeutralForeground2 },
  def: { margin: 0 },
});

export function OrgSettingsPage() {
  const styles = useStyles();
  const { tenant, session, connection, reconnected } = useApp();
  const { dispatchToast } = useToastController(TOASTER_ID);
  const [tab, setTab] = useState("security");
  const [settings, setSettings] = useState<SettingsDto | null>(null);
  const [prefs, setPrefsState] = useState<AppPrefsDto | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const isAdmin = session.role === "admin";

  // State changes only when the engine answers (never synchronously in the effect).
  const load = useCallback(
    () =>
      Promise.all([getSettings(tenant.id), getPrefs()]).then(
        ([s, p]) => {
          setSettings(s);
          setPrefsState(p);
          setError(null);
        },
        (e: unknown) => setError(errorMessage(e)),
      ),
    [tenant.id],
  );

  useEffect(() => {
    void load();
  }, [load]);
  useLockboxEvents(tenant.id, ["settings_changed"], () => void load());

  return (
    <div className={styles.page}>
      <Title2 as="h2" block>Org settings</Title2>
      <TabList selectedValue={tab} onTabSelect={(_, d) => setTab(String(d.value))} aria-label="Org settings sections">
        <Tab value="security">Security &amp; privacy</Tab>
      </TabList>
      {tab === "security" ? (
        <div className={styles.panel} role="tabpanel" aria-label="Security & privacy">
          <ErrorBar error={error} title="Couldn't load settings" />
          <SettingsCard
            icon={<LockClosedRegular fontSize={24} aria-hidden />}
            title="Customer Lockbox"
            headingId="lockbox-card-h"
            labelledByHeading
            description={
              <>Require approval before the provider's support engineers can access your organization's content.</>
            }
            action={
              <Button
                icon={<EditRegular />}
                disabled={!settings || !prefs || !isAdmin}
                onClick={() => setEditing(true)}
              >
                Edit
              </Button>
            }
          >
            {!settings && !error ? <Spinner size="small" label="Loading settings…" /> : null}
            {settings ? (
              <>
                <Body1>
                  Customer Lockbox is{" "}
                  {settings.lockbox_enabled ? (
                    <Badge appearance="tint" color="success" icon={<CheckmarkCircleRegular />}>
                      On
                    </Badge>
                  ) : (
                    <Badge appearance="tint" color="subtle" icon={<SubtractCircleRegular />}>
                      Off
                    </Badge>
                  )}
                </Body1>
                <dl className={styles.summary} aria-label="Customer Lockbox settings summary">
                  <dt className={styles.term}>Request lifetime</dt>
                  <dd className={styles.def}>{humanDuration(settings.request_lifetime_s)}</dd>
                  <dt className={styles.term}>Maximum access duration</dt>
                  <dd className={styles.def}>{humanDuration(settings.max_access_duration_s)}</dd>
                  <dt className={styles.term}>Approvals required</dt>
                  <dd className={styles.def}>{settings.approvals_required}</dd>
                  <dt className={styles.term}>Provider approvals required</dt>
                  <dd className={styles.def}>{settings.provider_approvals_required}</dd>
                  <dt className={styles.term}>Reminder</dt>
                  <dd className={styles.def}>
                    {settings.reminder_lead_s === null ? "Off" : `${humanDuration(settings.reminder_lead_s)} before expiry`}
                  </dd>
                  {prefs ? (
                    <>
                      <dt className={styles.term}>OS notifications</dt>
                      <dd className={styles.def}>{prefs.notifications_enabled ? "On" : "Off"}</dd>
                      <dt className={styles.term}>Start at login</dt>
                      <dd className={styles.def}>{prefs.start_at_login ? "On" : "Off"}</dd>
                    </>
                  ) : null}
                </dl>
                {!isAdmin ? <Caption1>Only admins can change these settings.</Caption1> : null}
              </>
            ) : null}
          </SettingsCard>
          <CustomerApprovers />
          <ProviderApi />
          <ProviderConnections />
          <EmailNotifications />
          {settings && prefs ? (
            <LockboxSettingsDrawer
              open={editing}
              tenant={tenant.id}
              settings={settings}
              prefs={prefs}
              onClose={() => setEditing(false)}
              onSaved={(s, p) => {
                setSettings(s);
                setPrefsState(p);
                setEditing(false);
                dispatchToast(
                  <Toast>
                    <ToastTitle>Customer Lockbox settings saved</ToastTitle>
                  </Toast>,
                  { intent: "success" },
                );
              }}
            />
          ) : null}
        </div>
      ) : null}
      <ThisDevice key={connection?.state ?? "asking"} connection={connection} onChanged={reconnected} />
    </div>
  );
}
