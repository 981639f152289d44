import { Divider, Field, Input, makeStyles, Subtitle2, Switch } from "@fluentui/react-components";
import { useState } from "react";
import { useOnChange } from "../../lib/hooks";
import { setPrefs, updateSettings } from "../../api/client";
import type { AppPrefsDto } from "../../bindings/AppPrefsDto";
import type { SettingsDto } from "../../bindings/SettingsDto";
import { EditDrawer } from "../../components/EditDrawer";
import { humanDuration, parseDuration } from "../../lib/duration";
import { fieldValidation, useSubmit } from "../../lib/form";
import { toForm, validateForm, type SettingsErrors, type SettingsForm } from "./settingsForm";

const useStyles = makeStyles({
  number: { maxWidth: "120px" },
  duration: { maxWidth: "200px" },
});

type Props = {
  open: boolean;
  tenant: string;
  settings: SettingsDto;
  prefs: AppPrefsDto;
  onClose: () => void;
  onSaved: (settings: SettingsDto, prefs: AppPrefsDto) => void;
};

/** Reads a typed duration back to the person ("= 12 hours") when it parses. */
function durationHint(text: string, base: string): string {
  const p = parseDuration(text);
  return p.ok && p.seconds > 0 ? `${base} Currently ${humanDuration(p.seconds)}.` : base;
}

export function LockboxSettingsDrawer({ open, tenant, settings, prefs, onClose, onSaved }: Props) {
  const styles = useStyles();
  const [form, setForm] = useState<SettingsForm>(() => toForm(settings, prefs));
  const [errors, setErrors] = useState<SettingsErrors>({});
  const { busy: saving, error: saveError, run } = useSubmit(open);

  // Reset only when the panel opens, not when live updates arrive mid-edit.
  useOnChange(open, (now) => {
    if (now) {
      setForm(toForm(settings, prefs));
      setErrors({});
    }
  });

  const set = <K extends keyof SettingsForm>(k: K, v: SettingsForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors((e) => ({ ...e, [k]: undefined }));
  };

  const save = async () => {
    const v = validateForm(form);
    if (!v.ok) {
      setErrors(v.errors);
      return;
    }
    await run(async () => {
      const settingsChanged = JSON.stringify(v.settings) !== JSON.stringify(settings);
      const prefsChanged = JSON.stringify(v.prefs) !== JSON.stringify(prefs);
      const s = settingsChanged ? await updateSettings(tenant, v.settings) : settings;
      const p = prefsChanged ? await setPrefs(v.prefs) : prefs;
      onSaved(s, p);
    });
  };

  return (
    <EditDrawer
      open={open}
      title="Customer Lockbox"
      ariaLabel="Customer Lockbox settings"
      formId="lockbox-settings-form"
      description={
        <>
          When this is on, the provider's support engineers can't access your organization's content until one of your
          approvers approves their request.
        </>
      }
      saving={saving}
      error={saveError}
      errorTitle="Settings weren't saved"
      onClose={onClose}
      onSave={() => void save()}
    >
      <Switch
        label="Require approval for all data access requests"
        checked={form.lockbox_enabled}
        onChange={(_, d) => set("lockbox_enabled", d.checked)}
      />
      <Field
        label="Request lifetime"
        hint={durationHint(form.request_lifetime, "Unanswered requests expire after this long (1s to 30d), e.g. 12h.")}
        {...fieldValidation(errors.request_lifetime)}
      >
        <Input
          className={styles.duration}
          value={form.request_lifetime}
          onChange={(_, d) => set("request_lifetime", d.value)}
        />
      </Field>
      <Field
        label="Maximum access duration"
        hint={durationHint(form.max_access_duration, "The longest access an approval can grant (up to 30d), e.g. 8h.")}
        {...fieldValidation(errors.max_access_duration)}
      >
        <Input
          className={styles.duration}
          value={form.max_access_duration}
          onChange={(_, d) => set("max_access_duration", d.value)}
        />
      </Field>
      <Field
        label="Approvals required"
        hint="How many of your approvers must approve a request (1 or more)."
        {...fieldValidation(errors.approvals_required)}
      >
        <Input
          className={styles.number}
          type="number"
          min={1}
          value={form.approvals_required}
          onChange={(_, d) => set("approvals_required", d.value)}
        />
      </Field>
      <Field
        label="Provider approvals required"
        hint="How many provider managers must approve before the request reaches you (0 or more)."
        {...fieldValidation(errors.provider_approvals_required)}
      >
        <Input
          className={styles.number}
          type="number"
          min={0}
          value={form.provider_approvals_required}
          onChange={(_, d) => set("provider_approvals_required", d.value)}
        />
      </Field>
      <Switch
        label="Remind approvers before a request expires"
        checked={form.reminder_enabled}
        onChange={(_, d) => set("reminder_enabled", d.checked)}
      />
      {form.reminder_enabled ? (
        <Field
          label="Reminder lead time"
          hint={durationHint(form.reminder_lead, "How long before expiry to remind, e.g. 2h.")}
          {...fieldValidation(errors.reminder_lead)}
        >
          <Input
            className={styles.duration}
            value={form.reminder_lead}
            onChange={(_, d) => set("reminder_lead", d.value)}
          />
        </Field>
      ) : null}

      <Divider />
      <Subtitle2 as="h3">This device</Subtitle2>
      <Switch
        label="OS notifications for new requests"
        checked={form.notifications_enabled}
        onChange={(_, d) => set("notifications_enabled", d.checked)}
      />
      <Switch
        label="Start at login"
        checked={form.start_at_login}
        onChange={(_, d) => set("start_at_login", d.checked)}
      />
    </EditDrawer>
  );
}
