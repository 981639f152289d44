import { useCallback, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from "react";
import { coalescer } from "./coalesce";
import { onWindowShownChange, windowShown } from "./visibility";
import { onLockboxEvent } from "../api/client";
import type { LockboxEvent } from "../bindings/LockboxEvent";

/** The current time, refreshed every `intervalMs`. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}

/** `value`, but only after it stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

/**
 * Calls `onChange(value)` in the render in which `value` differs (Object.is)
 * from the one the last render saw; `onChange` may set this component's
 * state. A panel resets its form when it opens this way, without an effect
 * and the extra render with stale values an effect costs
 * (react.dev: "Adjusting some state when a prop changes").
 */
export function useOnChange<T>(value: T, onChange: (value: T) => void): void {
  const [seen, setSeen] = useState<T>(() => value);
  if (!Object.is(seen, value)) {
    setSeen(() => value);
    onChange(value);
  }
}

/** How long change events are collected into one call of a page's handler. */
export const EVENT_COALESCE_MS = 500;

/**
 * Calls `handler` for engine change events that concern `tenant` (events
 * with a null tenant concern every tenant) and whose kind is in `kinds`:
 * once for all such events within EVENT_COALESCE_MS (with the last of them),
 * and while the window is not shown, once when it is shown again.
 */
export function useLockboxEvents(
  tenant: string | null,
  kinds: Array<LockboxEvent["kind"]>,
  handler: (e: LockboxEvent) => void,
): void {
  const ref = useRef(handler);
  // The latest handler, for events from now on (a ref is not written while rendering).
  useLayoutEffect(() => {
    ref.current = handler;
  });
  const kindsKey = kinds.join(",");
  useEffect(() => {
    const wanted = kindsKey.split(",");
    let last: LockboxEvent | null = null;
    const c = coalescer(() => {
      if (last) ref.current(last);
    }, EVENT_COALESCE_MS);
    const off = onLockboxEvent((e) => {
      if (!wanted.includes(e.kind)) return;
      if (e.tenant !== null && tenant !== null && e.tenant !== tenant) return;
      last = e;
      c.request();
    });
    return () => {
      off();
      c.dispose();
    };
  }, [tenant, kindsKey]);
}

export function usePrefersDark(): boolean {
  const query = "(prefers-color-scheme: dark)";
  const get = () => typeof window !== "undefined" && typeof window.matchMedia === "function" && window.matchMedia(query).matches;
  const [dark, setDark] = useState(get);
  useEffect(() => {
    if (typeof window === "undefined" || typeof window.matchMedia !== "function") return;
    const mql = window.matchMedia(query);
    const on = () => setDark(mql.matches);
    mql.addEventListener("change", on);
    return () => mql.removeEventListener("change", on);
  }, []);
  return dark;
}

// One shared ticker for the texts that show the time ("5 minutes ago", a
// countdown). Only the components that show such a text subscribe, so a page
// does not re-render as time passes. It does not tick every second: each
// subscriber says when its text can next change (and how late that may be
// shown), and the one timer is set for the earliest of those, so texts that
// change at nearby instants share one render and one repaint. While the window
// is not shown (hidden to the tray, minimized) no timer runs at all; on show
// every text is brought up to date at once.

/** When a subscriber must be looked at again: the instant its text may change plus the slack it allows. */
type DueFn = (now: number) => number;

const tickSubscribers = new Map<() => void, DueFn>();
let tickNow = Date.now();
let tickFresh = false;
let tickTimer: ReturnType<typeof setTimeout> | null = null;
let tickDue = Infinity;
let tickEarlyFires = 0;
let tickReplan = false;
let tickUnwatch: (() => void) | null = null;
/** Texts are computed for no earlier than this (a look taken ahead by refreshTimeTexts). */
let tickAhead = 0;
/** How far ahead refreshTimeTexts takes a look that is due soon. */
export const TICK_AHEAD_MS = 3_000;

/** The longest a timer can wait (setTimeout's limit, ~24.8 days). */
const MAX_DELAY = 2 ** 31 - 1;
/** The longest back-off when timers fire before the clock reaches their instant. */
const STALLED_DELAY = 1000;

/**
 * The time the subscribers' texts are computed for: read once per task, so
 * every text rendered together agrees, and never older than the task.
 */
function readTickNow(): number {
  if (!tickFresh) {
    tickNow = Math.max(Date.now(), tickAhead);
    tickFresh = true;
    queueMicrotask(() => {
      tickFresh = false;
    });
  }
  return tickNow;
}

function notifyTick(): void {
  tickFresh = false;
  readTickNow();
  for (const l of [...tickSubscribers.keys()]) l();
}

/**
 * Brings every time text on screen up to date now, for a render that repaints
 * anyway (a list refetched after a change): a text whose change came but
 * whose look is not yet due (the minute grid) changes in that frame, not in
 * a repaint of its own a moment later.
 */
export function refreshTimeTexts(): void {
  if (tickSubscribers.size === 0 || !windowShown()) return;
  // A look due within TICK_AHEAD_MS (the minute grid's, 2 s after the whole
  // minute the held expiries arrive on) is taken now, for its instant: what
  // it would change in a moment changes in this render, and when its timer
  // fires nothing is left to change. Texts never go back: until that instant
  // passes, every text is computed for it.
  const now = Date.now();
  if (tickDue !== Infinity && tickDue - now <= TICK_AHEAD_MS) tickAhead = Math.max(tickAhead, tickDue);
  notifyTick();
}

/** Sets the one timer for the earliest due subscriber (none while the window is not shown). */
function planTick(): void {
  tickReplan = false;
  const now = Date.now();
  let due = Infinity;
  if (windowShown()) for (const f of tickSubscribers.values()) due = Math.min(due, f(now));
  if (tickTimer !== null && due === tickDue) return;
  if (tickTimer !== null) clearTimeout(tickTimer);
  tickTimer = null;
  tickDue = due;
  if (due === Infinity) return;
  // After timers that fired before the clock reached their instant (a frozen
  // or stepped-back clock), back off (2, 4, … ms up to a second) instead of
  // spinning on a 0 ms timer.
  const backoff = tickEarlyFires > 0 ? Math.min(2 ** tickEarlyFires, STALLED_DELAY) : 0;
  const delay = Math.min(Math.max(backoff, due - now), MAX_DELAY);
  tickTimer = setTimeout(() => {
    tickTimer = null;
    tickDue = Infinity;
    tickEarlyFires = Date.now() < due ? tickEarlyFires + 1 : 0;
    notifyTick();
    planTick();
  }, delay);
}

/** Re-plans once after the current task (many rows mount or change in one render). */
function replanTick(): void {
  if (tickReplan) return;
  tickReplan = true;
  queueMicrotask(planTick);
}

function subscribeTick(listener: () => void, due: DueFn): () => void {
  tickSubscribers.set(listener, due);
  tickUnwatch ??= onWindowShownChange((shown) => {
    if (shown) notifyTick();
    planTick();
  });
  replanTick();
  return () => {
    tickSubscribers.delete(listener);
    if (tickSubscribers.size === 0) {
      tickUnwatch?.();
      tickUnwatch = null;
      if (tickTimer !== null) clearTimeout(tickTimer);
      tickTimer = null;
      tickDue = Infinity;
      tickAhead = 0;
    }
  };
}

/** For tests: whether the ticker has a timer set, and for when. */
export function tickerState(): { subscribers: number; due: number | null } {
  return { subscribers: tickSubscribers.size, due: tickTimer === null ? null : tickDue };
}

/** The next whole second: the default for a view that does not say when it changes. */
const nextSecond: DueFn = (now) => now - (now % 1000) + 1000;

/**
 * `view(now)` for a component that displays the time. `view` returns a
 * primitive (the text shown, a flag), so the component re-renders only when
 * that changes. `due(now)` says by when the view must be looked at again: the
 * first instant its value can differ, plus any lateness it tolerates
 * (default: the next whole second). A countdown showing minutes is looked at
 * once a minute, and an idle page does no work in between.
 */
export function useTickValue<T extends string | number | boolean>(view: (now: number) => T, due: DueFn = nextSecond): T {
  const dueRef = useRef(due);
  // The latest `due`: a row given new data may change sooner than before.
  useLayoutEffect(() => {
    dueRef.current = due;
    replanTick();
  });
  const subscribe = useCallback((l: () => void) => subscribeTick(l, (now) => dueRef.current(now)), []);
  const snapshot = () => view(readTickNow());
  // (The same on the server: the static first paint is rendered at build time.)
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}
