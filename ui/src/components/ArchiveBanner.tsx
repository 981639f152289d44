import {
  Badge,
  Button,
  makeStyles,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Text,
  Tooltip,
  tokens,
} from "@fluentui/react-components";
import { ArchiveRegular, CopyRegular, ShieldCheckmarkRegular, ShieldErrorRegular } from "@fluentui/react-icons";
import { useEffect, useState } from "react";
import { archiveVerify, errorMessage } from "../api/client";
import type { ArchiveDto } from "../bindings/ArchiveDto";
import type { VerifyReport } from "../bindings/VerifyReport";
import { formatDateTime } from "../lib/time";

const useStyles = makeStyles({
  banner: {
    gridArea: "banner",
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalS,
    padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalL}`,
    backgroundColor: tokens.colorNeutralBackground3,
    borderBottom: `${tokens.strokeWidthThin} solid ${tokens.colorNeutralStroke2}`,
  },
  title: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalS, flexWrap: "wrap" },
  file: { fontFamily: tokens.fontFamilyMonospace, overflowWrap: "anywhere" },
  facts: {
    display: "flex",
    flexWrap: "wrap",
    columnGap: tokens.spacingHorizontalXXL,
    rowGap: tokens.spacingVerticalXS,
    margin: 0,
  },
  fact: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalS },
  term: { color: tokens.colorNeutralForeground3 },
  def: { margin: 0, display: "flex", alignItems: "center", gap: tokens.spacingHorizontalXS },
  mono: { fontFamily: tokens.fontFamilyMonospace },
  ok: { color: tokens.colorPaletteGreenForeground1 },
  bad: { color: tokens.colorPaletteRedForeground1, fontWeight: tokens.fontWeightSemibold },
});

/** `a1b2c3d4e5f6…9f8e7d6c`: enough to compare by eye; the full hash is on hover and copy. */
export function shortHash(hash: string): string {
  return hash.length <= 20 ? hash : `${hash.slice(0, 12)}…${hash.slice(-8)}`;
}

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* not allowed here: fall back to a selection */
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

const n = (x: number) => x.toLocaleString();

/** What the verification says about entries 1..N, in a few words. */
function entriesText(archive: ArchiveDto, report: VerifyReport | null): string {
  if (archive.entries === 0) return "none (the audit log is empty)";
  const range = `1–${n(archive.entries)}`;
  if (!report) return `${range}, verifying…`;
  if (report.ok) return `${range} verified`;
  if (report.first_bad_seq !== null) {
    return report.first_bad_seq > 1 ? `1–${n(report.first_bad_seq - 1)} intact; #${n(report.first_bad_seq)} is bad` : "#1 is bad";
  }
  return `${range}: chain intact, stored state disagrees`;
}

/**
 * The top of an archive window: which file, read-only, the entries and head
 * hash, the newest entry's time, the checkpoint; then the verification, which
 * arrives after the page (it reads every entry). A failed verification is said
 * in an alert, with the first bad entry and why.
 */
export function ArchiveBanner({ archive }: { archive: ArchiveDto }) {
  const styles = useStyles();
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<boolean | null>(null);

  useEffect(() => {
    let live = true;
    archiveVerify()
      .then((r) => live && setReport(r))
      .catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, []);

  const failed = report !== null && !report.ok;
  // The newest entry's hash: the head of its tenant's chain (one chain per
  // tenant), which the verification recomputes with the others.
  const head = archive.head_hash;
  const copy = async () => {
    if (head) setCopied(await copyText(head));
  };

  return (
    <section className={styles.banner} aria-label="Audit archive">
      <div className={styles.title}>
        <ArchiveRegular fontSize={20} aria-hidden />
        <Text weight="semibold">Audit archive</Text>
        <Tooltip content={archive.path} relationship="description">
          <Text className={styles.file} data-testid="archive-file">
            {archive.file_name}
          </Text>
        </Tooltip>
        <Badge appearance="tint" color="informative">
          Read-only
        </Badge>
        {report === null && error === null ? (
          <Badge appearance="outline" color="subtle" icon={<Spinner size="extra-tiny" />}>
            Verifying…
          </Badge>
        ) : null}
        {report?.ok ? (
          <Badge appearance="tint" color="success" icon={<ShieldCheckmarkRegular />}>
            Verified
          </Badge>
        ) : null}
        {failed ? (
          <Badge appearance="filled" color="danger" icon={<ShieldErrorRegular />}>
            Verification failed
          </Badge>
        ) : null}
      </div>
      <dl className={styles.facts}>
        <div className={styles.fact}>
          <dt className={styles.term}>Entries</dt>
          <dd className={styles.def} data-testid="archive-entries">
            {report?.ok ? <ShieldCheckmarkRegular className={styles.ok} aria-hidden /> : null}
            {failed ? <ShieldErrorRegular className={styles.bad} aria-hidden /> : null}
            <span className={failed ? styles.bad : undefined}>{entriesText(archive, report)}</span>
          </dd>
        </div>
        <div className={styles.fact}>
          <dt className={styles.term}>Head hash</dt>
          <dd className={styles.def}>
            {head ? (
              <>
                <span className={styles.mono} title={head} data-testid="archive-head">
                  {shortHash(head)}
                </span>
                <Button
                  size="small"
                  appearance="subtle"
                  icon={<CopyRegular />}
                  aria-label="Copy head hash"
                  title="Copy the full head hash"
                  onClick={() => void copy()}
                />
                {copied !== null ? (
                  <Text size={200} role="status">
                    {copied ? "Copied" : "Couldn't copy"}
                  </Text>
                ) : null}
              </>
            ) : (
              "—"
            )}
          </dd>
        </div>
        <div className={styles.fact}>
          <dt className={styles.term}>Newest entry</dt>
          <dd className={styles.def}>{formatDateTime(archive.newest_at, true)}</dd>
        </div>
        <div className={styles.fact}>
          <dt className={styles.term}>Checkpoint</dt>
          <dd className={styles.def} data-testid="archive-checkpoint">
            {archive.checkpoint ?? "No checkpoint in this archive"}
          </dd>
        </div>
      </dl>
      {error ? (
        <MessageBar intent="error" role="alert">
          <MessageBarBody>
            <MessageBarTitle>Couldn't verify this archive</MessageBarTitle>
            {error}
          </MessageBarBody>
        </MessageBar>
      ) : null}
      {failed ? (
        <MessageBar intent="error" role="alert" icon={<ShieldErrorRegular />}>
          <MessageBarBody>
            <MessageBarTitle>This archive failed verification: don't rely on it</MessageBarTitle>
            {report.first_bad_seq !== null
              ? `The hash chain breaks at entry #${n(report.first_bad_seq)}: ${report.problem ?? "its hash does not match"}. `
              : ""}
            {report.first_disagreement ? `Stored state edited: ${report.first_disagreement.message}.` : ""}
          </MessageBarBody>
        </MessageBar>
      ) : null}
    </section>
  );
}
