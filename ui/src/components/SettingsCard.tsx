import { Card, CardHeader, makeStyles, Text, tokens } from "@fluentui/react-components";
import type { ReactElement, ReactNode } from "react";

const useStyles = makeStyles({
  card: { maxWidth: "900px" },
  muted: { color: tokens.colorNeutralForeground2 },
});

export type SettingsCardProps = {
  /** A 24px icon, hidden from assistive technology. */
  icon: ReactElement;
  /** The card's h3 heading. */
  title: string;
  /** The heading's id, for tables and the card to be labelled by. */
  headingId: string;
  /** A muted paragraph under the heading. */
  description: ReactNode;
  /** The header's button (Edit, Add …). */
  action: ReactElement;
  /** Names the card by its heading (aria-labelledby). */
  labelledByHeading?: boolean;
  children?: ReactNode;
};

/** A settings section: a card with an icon, a heading, a description and one action. */
export function SettingsCard(p: SettingsCardProps) {
  const styles = useStyles();
  return (
    <Card className={styles.card} aria-labelledby={p.labelledByHeading ? p.headingId : undefined}>
      <CardHeader
        image={p.icon}
        header={
          <Text weight="semibold" as="h3" size={400} id={p.headingId}>
            {p.title}
          </Text>
        }
        description={<Text className={styles.muted}>{p.description}</Text>}
        action={p.action}
      />
      {p.children}
    </Card>
  );
}
