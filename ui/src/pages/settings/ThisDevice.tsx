import {
  Body1,
  Button,
  Field,
  Input,
  makeStyles,
  MessageBar,
  MessageBarBody,
  Spinner,
  Text,
  tokens,
} from "@fluentui/react-components";
import { CloudRegular, SignOutRegular } from "@fluentui/react-icons";
import { useState, type FormEvent } from "react";
import { connectServer, disconnectServer, errorMessage } from "../../api/client";
import type { ConnectionDto } from "../../bindings/ConnectionDto";
import { ErrorBar } from "../../components/ErrorBar";
import { SettingsCard } from "../../components/SettingsCard";

const useStyles = makeStyles({
  body: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM, maxWidth: "560px" },
  form: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS },
  actions: { display: "flex", gap: tokens.spacingHorizontalS, alignItems: "center" },
  value: { overflowWrap: "anywhere", fontWeight: tokens.fontWeightSemibold },
});

export type ThisDeviceProps = {
  /** What get_connection said (null while it is asked). */
  connection: ConnectionDto | null;
  /** After a sign-in or sign-out: the new connection (the app then reloads its data). */
  onChanged: (c: ConnectionDto) => void;
};

/**
 * "This device": whether this app works on this machine's store or on a
 * Lockbox server, and the sign-in to one (in the system browser). The server's
 * and provider's words are shown as text only.
 */
export function ThisDevice({ connection, onChanged }: ThisDeviceProps) {
  const styles = useStyles();
  const [url, setUrl] = useState(connection?.server ?? "");
  const [ca, setCa] = useState(connection?.ca ?? "");
  const [busy, setBusy] = useState<"in" | "out" | null>(null);
  const [error, setError] = useState<{ title: string; text: string } | null>(null);
  const connected = connection?.state === "connected" || connection?.state === "offline";

  const signIn = async (e: FormEvent) => {
    e.preventDefault();
    if (!url.trim()) {
      setError({ title: "Couldn't sign in", text: "Enter the server's address, like https://lockbox.example:8787." });
      return;
    }
    setBusy("in");
    setError(null);
    try {
      onChanged(await connectServer(url.trim(), ca.trim() || null));
    } catch (err) {
      setError({ title: "Couldn't sign in", text: errorMessage(err) });
    } finally {
      setBusy(null);
    }
  };

  const signOut = async () => {
    setBusy("out");
    setError(null);
    try {
      onChanged(await disconnectServer());
    } catch (err) {
      setError({ title: "Couldn't sign out", text: errorMessage(err) });
    } finally {
      setBusy(null);
    }
  };

  const signOutButton = (
    <Button icon={<SignOutRegular />} disabled={busy !== null} onClick={() => void signOut()}>
      Sign out
    </Button>
  );

  return (
    <SettingsCard
      icon={<CloudRegular fontSize={24} aria-hidden />}
      title="This device"
      headingId="this-device-h"
      labelledByHeading
      description={<>Where this app's requests, settings and audit log come from: this machine's own store, or your team's Lockbox server.</>}
      action={connection && connection.state !== "local" ? signOutButton : <span />}
    >
      <div className={styles.body}>
        {!connection ? <Spinner size="small" label="Loading…" /> : null}
        {connection?.state === "local" ? <Body1>This app uses this machine's own store.</Body1> : null}
        {connected ? (
          <Body1>
            Connected to <span className={styles.value}>{connection.server}</span>
            {connection.person ? (
              <>
                {" "}as <span className={styles.value}>{connection.person}</span>
              </>
            ) : null}
            .
          </Body1>
        ) : null}
        {connection?.state === "signed_out" ? (
          <MessageBar intent="warning">
            <MessageBarBody>
              The sign-in to {connection.server} has ended. Sign in again, or sign out to use this machine's store.
            </MessageBarBody>
          </MessageBar>
        ) : null}
        <ErrorBar error={error?.text ?? null} title={error?.title} />
        {connection && !connected ? (
          <form className={styles.form} onSubmit={(e) => void signIn(e)} aria-label="Connect to a Lockbox server">
            <Text as="h4" weight="semibold">
              Connect to a Lockbox server
            </Text>
            <Field label="Server address" hint="Like https://lockbox.example:8787">
              <Input value={url} onChange={(_, d) => setUrl(d.value)} disabled={busy !== null} />
            </Field>
            <Field label="CA certificate file (optional)" hint="The full path of a PEM file, when the server's certificate is from your own CA">
              <Input value={ca} onChange={(_, d) => setCa(d.value)} disabled={busy !== null} />
            </Field>
            <div className={styles.actions}>
              <Button appearance="primary" type="submit" disabled={busy !== null}>
                Sign in
              </Button>
              {busy === "in" ? <Spinner size="tiny" label="Finish signing in in your browser…" /> : null}
            </div>
          </form>
        ) : null}
        {busy === "out" ? <Spinner size="tiny" label="Signing out…" /> : null}
      </div>
    </SettingsCard>
  );
}
