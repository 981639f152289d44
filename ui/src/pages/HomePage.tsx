import {
  Body1,
  Card,
  CardHeader,
  Link,
  makeStyles,
  Spinner,
  Text,
  Title2,
  tokens,
} from "@fluentui/react-components";
import {
  ClockAlarmRegular,
  ClockRegular,
  HistoryRegular,
  KeyRegular,
} from "@fluentui/react-icons";
import { useCallback, useEffect, useState, type ReactElement } from "react";
import { errorMessage, homeStats, reportFirstPaint } from "../api/client";
import { useApp, type Route } from "../AppContext";
import type { HomeStats } from "../bindings/HomeStats";
import { ErrorBar } from "../components/ErrorBar";
import { OutcomeChart } from "../components/OutcomeChart";
import { useLockboxEvents } from "../lib/hooks";
import { routeToHash } from "../AppContext";

const useStyles = makeStyles({
  page: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXL },
  cards: {
    display: "grid",
    gridTemplateColumns: "repeat(auto-fill, minmax(220px, 1fr))",
    gap: tokens.spacingHorizontalL,
  },
  number: { fontSize: tokens.fontSizeHero800, lineHeight: tokens.lineHeightHero800, fontWeight: tokens.fontWeightSemibold },
  chartCard: { padding: tokens.spacingHorizontalL },
  muted: { color: tokens.colorNeutralForeground2 },
});

type CardSpec = { title: string; value: number; icon: ReactElement; link: string; route: Route };

export function HomePage() {
  const styles = useStyles();
  const { tenant, session, navigate } = useApp();
  const [stats, setStats] = useState<HomeStats | null>(null);
  const [error, setError] = useState<string | null>(null);

  // State changes only when the engine answers (never synchronously in the effect).
  const load = useCallback(
    () =>
      homeStats(tenant.id).then(
        (s) => {
          setStats(s);
          reportFirstPaint("home");
          setError(null);
        },
        (e: unknown) => setError(errorMessage(e)),
      ),
    [tenant.id],
  );

  useEffect(() => {
    void load();
  }, [load]);
  useLockboxEvents(tenant.id, ["requests_changed", "settings_changed"], () => void load());

  const cards: CardSpec[] = stats
    ? [
        { title: "Pending requests", value: stats.pending, icon: <ClockRegular />, link: "View pending requests", route: { page: "requests", status: "pending" } },
        { title: "Expiring within 2 h", value: stats.expiring_within_2h, icon: <ClockAlarmRegular />, link: "Review before they expire", route: { page: "requests", status: "pending" } },
        { title: "Active access grants", value: stats.active_grants, icon: <KeyRegular />, link: "View active access", route: { page: "requests", status: "approved" } },
        { title: "Decisions in the last 30 days", value: stats.decisions_last_30d, icon: <HistoryRegular />, link: "Open audit history", route: { page: "audit" } },
      ]
    : [];

  return (
    <div className={styles.page}>
      <div>
        <Title2 as="h2" block>Home</Title2>
        <Body1 className={styles.muted} as="p" block>
          Welcome, {session.user}. Customer Lockbox requests for {tenant.name}.
        </Body1>
      </div>
      <ErrorBar error={error} title="Couldn't load the overview" />
      {!stats && !error ? <Spinner label="Loading…" /> : null}
      {stats ? (
        <>
          <section className={styles.cards} aria-label="Overview">
            {cards.map((c) => (
              <Card key={c.title} role="group" aria-label={`${c.title}: ${c.value}`}>
                <CardHeader image={c.icon} header={<Text weight="semibold">{c.title}</Text>} />
                <Text className={styles.number}>{c.value}</Text>
                <Link
                  href={routeToHash(c.route)}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(c.route);
                  }}
                >
                  {c.link}
                </Link>
              </Card>
            ))}
          </section>
          <Card className={styles.chartCard}>
            <CardHeader header={<Text weight="semibold" as="h3">Requests per day by outcome (last 30 days)</Text>} />
            <OutcomeChart days={stats.per_day} title="Requests per day by outcome, last 30 days" />
          </Card>
        </>
      ) : null}
    </div>
  );
}
