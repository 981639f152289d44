import { makeStyles, MessageBar, MessageBarBody, MessageBarTitle, tokens } from "@fluentui/react-components";
import { CloudOffRegular } from "@fluentui/react-icons";
import type { ConnectionDto } from "../bindings/ConnectionDto";
import { formatDateTime } from "../lib/time";

const useStyles = makeStyles({
  banner: {
    gridArea: "banner",
    padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalL}`,
    borderBottom: `${tokens.strokeWidthThin} solid ${tokens.colorNeutralStroke2}`,
  },
});

/**
 * The top of the window while the team server cannot be reached: the pages
 * show this machine's copy of the audit log (its replica, read-only) and
 * decisions are off. It goes when the shell says the server is back.
 */
export function OfflineBanner({ connection }: { connection: ConnectionDto }) {
  const styles = useStyles();
  const server = connection.server ?? "the server";
  const asOf = connection.replica_at ? `as of ${formatDateTime(connection.replica_at)}` : "as last pulled";
  return (
    <section className={styles.banner} aria-label="Server unreachable">
      <MessageBar intent="warning" icon={<CloudOffRegular />}>
        <MessageBarBody>
          <MessageBarTitle>Offline</MessageBarTitle>
          <span data-testid="offline-text">
            Can&apos;t reach {server}. Showing your copy of the audit log {asOf}; decisions are off until it&apos;s back.
          </span>
        </MessageBarBody>
      </MessageBar>
    </section>
  );
}
