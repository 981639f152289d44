import { makeStyles, tokens } from "@fluentui/react-components";
import type { DayCount } from "../bindings/DayCount";

export const OUTCOMES = [
  { key: "approved", label: "Approved", color: tokens.colorPaletteGreenBackground3, pattern: "none" },
  { key: "rejected", label: "Rejected", color: tokens.colorPaletteRedBackground3, pattern: "diagonal" },
  { key: "expired", label: "Expired", color: tokens.colorPaletteMarigoldBackground3, pattern: "dots" },
  { key: "canceled", label: "Canceled", color: tokens.colorNeutralForeground3, pattern: "cross" },
] as const;

type OutcomeKey = (typeof OUTCOMES)[number]["key"];

const useStyles = makeStyles({
  wrap: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS },
  svg: { width: "100%", height: "auto", maxWidth: "900px", color: tokens.colorNeutralForeground2 },
  legend: { display: "flex", flexWrap: "wrap", gap: tokens.spacingHorizontalL, listStyleType: "none", margin: 0, padding: 0 },
  legendItem: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalXS },
  srOnly: {
    position: "absolute",
    width: "1px",
    height: "1px",
    overflow: "hidden",
    clip: "rect(0 0 0 0)",
    whiteSpace: "nowrap",
  },
});

const W = 900;
const H = 240;
const PAD_L = 32;
const PAD_B = 36;
const PAD_T = 16;

function Patterns() {
  return (
    <defs>
      <pattern id="pat-diagonal" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <rect width="6" height="6" fill={tokens.colorPaletteRedBackground3} />
        <line x1="0" y1="0" x2="0" y2="6" stroke="white" strokeWidth="2" strokeOpacity="0.6" />
      </pattern>
      <pattern id="pat-dots" width="6" height="6" patternUnits="userSpaceOnUse">
        <rect width="6" height="6" fill={tokens.colorPaletteMarigoldBackground3} />
        <circle cx="3" cy="3" r="1.2" fill="white" fillOpacity="0.7" />
      </pattern>
      <pattern id="pat-cross" width="6" height="6" patternUnits="userSpaceOnUse">
        <rect width="6" height="6" fill={tokens.colorNeutralForeground3} />
        <path d="M0 3H6M3 0V6" stroke="white" strokeWidth="1" strokeOpacity="0.6" />
      </pattern>
    </defs>
  );
}

function fillFor(o: (typeof OUTCOMES)[number]): string {
  return o.pattern === "none" ? o.color : `url(#pat-${o.pattern})`;
}

/** Stacked bars of outcomes per day; patterns and text labels, not colour alone. */
export function OutcomeChart({ days, title }: { days: DayCount[]; title: string }) {
  const styles = useStyles();
  const totals = days.map((d) => d.approved + d.rejected + d.expired + d.canceled);
  const max = Math.max(1, ...totals);
  const plotW = W - PAD_L - 8;
  const plotH = H - PAD_B - PAD_T;
  const slot = plotW / Math.max(days.length, 1);
  const barW = Math.max(4, slot * 0.65);
  const y = (v: number) => PAD_T + plotH - (v / max) * plotH;
  const ticks = [...new Set([0, Math.ceil(max / 2), max])];
  const sum = (k: OutcomeKey) => days.reduce((n, d) => n + d[k], 0);
  const summary = OUTCOMES.map((o) => `${sum(o.key)} ${o.label.toLowerCase()}`).join(", ");

  return (
    <figure className={styles.wrap} style={{ margin: 0 }}>
      <svg
        className={styles.svg}
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${title}: ${summary}.`}
      >
        <Patterns />
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD_L} x2={W - 8} y1={y(t)} y2={y(t)} stroke="currentColor" strokeOpacity={0.15} />
            <text x={PAD_L - 6} y={y(t) + 4} textAnchor="end" fontSize="11" fill="currentColor">
              {t}
            </text>
          </g>
        ))}
        {days.map((d, i) => {
          const x = PAD_L + i * slot + (slot - barW) / 2;
          let acc = 0;
          const total = totals[i] ?? 0;
          return (
            <g key={d.day} data-day={d.day}>
              <title>
                {d.day}: {OUTCOMES.map((o) => `${d[o.key]} ${o.label.toLowerCase()}`).join(", ")}
              </title>
              {OUTCOMES.map((o) => {
                const v = d[o.key];
                if (v === 0) return null;
                const top = y(acc + v);
                const h = y(acc) - top;
                acc += v;
                return <rect key={o.key} x={x} y={top} width={barW} height={h} fill={fillFor(o)} />;
              })}
              {total > 0 ? (
                <text x={x + barW / 2} y={y(total) - 3} textAnchor="middle" fontSize="10" fill="currentColor">
                  {total}
                </text>
              ) : null}
              {i % 5 === 0 || i === days.length - 1 ? (
                <text x={x + barW / 2} y={H - PAD_B + 16} textAnchor="middle" fontSize="10" fill="currentColor">
                  {d.day.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className={styles.legend} aria-label="Legend">
          {OUTCOMES.map((o) => (
            <li key={o.key} className={styles.legendItem}>
              <svg width="14" height="14" aria-hidden>
                <rect width="14" height="14" fill={fillFor(o)} rx="2" />
              </svg>
              {o.label} ({sum(o.key)})
            </li>
          ))}
        </ul>
      </figcaption>
      <table className={styles.srOnly}>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            {OUTCOMES.map((o) => (
              <th key={o.key} scope="col">
                {o.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d.day}>
              <th scope="row">{d.day}</th>
              {OUTCOMES.map((o) => (
                <td key={o.key}>{d[o.key]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
