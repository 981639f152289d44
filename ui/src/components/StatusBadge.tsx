import { Badge, type BadgeProps } from "@fluentui/react-components";
import {
  CheckmarkCircleRegular,
  CheckmarkRegular,
  ClockRegular,
  DismissCircleRegular,
  HourglassHalfRegular,
  ProhibitedRegular,
  ShieldDismissRegular,
  TimerOffRegular,
} from "@fluentui/react-icons";
import type { ReactElement } from "react";
import type { RequestState } from "../bindings/RequestState";

type Look = { label: string; color: BadgeProps["color"]; icon: ReactElement };

export const STATE_LABEL: Record<RequestState, string> = {
  awaiting_provider: "Awaiting provider",
  pending: "Pending",
  approved: "Approved",
  completed: "Completed",
  rejected: "Rejected",
  expired: "Expired",
  canceled: "Canceled",
  revoked: "Revoked",
};

const LOOK: Record<RequestState, Omit<Look, "label">> = {
  awaiting_provider: { color: "informative", icon: <HourglassHalfRegular /> },
  pending: { color: "warning", icon: <ClockRegular /> },
  approved: { color: "success", icon: <CheckmarkCircleRegular /> },
  completed: { color: "subtle", icon: <CheckmarkRegular /> },
  rejected: { color: "danger", icon: <DismissCircleRegular /> },
  expired: { color: "subtle", icon: <TimerOffRegular /> },
  canceled: { color: "subtle", icon: <ProhibitedRegular /> },
  revoked: { color: "danger", icon: <ShieldDismissRegular /> },
};

/** Status shown with text and an icon, never colour alone. */
export function StatusBadge({ state }: { state: RequestState }) {
  const look = LOOK[state];
  return (
    <Badge appearance="tint" color={look.color} icon={look.icon} data-state={state}>
      {STATE_LABEL[state]}
    </Badge>
  );
}
