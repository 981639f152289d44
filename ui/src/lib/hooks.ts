import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from "react";
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

/**
 * Calls `handler` for engine change events that concern `tenant` (events
 * with a null tenant concern every tenant) and whose kind is in `kinds`.
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
    return onLockboxEvent((e) => {
      if (!wanted.includes(e.kind)) return;
      if (e.tenant !== null && tenant !== null && e.tenant !== tenant) return;
      ref.current(e);
    });
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

// One shared one-second ticker for live countdowns. Only the components that
// show a ticking value subscribe, so a page does not re-render every second.
const tickListeners = new Set<() => void>();
let tickNow = Date.now();
let tickTimer: ReturnType<typeof setInterval> | null = null;

function subscribeTick(listener: () => void): () => void {
  tickListeners.add(listener);
  if (tickTimer === null) {
    tickNow = Date.now();
    tickTimer = setInterval(() => {
      tickNow = Date.now();
      for (const l of tickListeners) l();
    }, 1000);
  }
  return () => {
    tickListeners.delete(listener);
    if (tickListeners.size === 0 && tickTimer !== null) {
      clearInterval(tickTimer);
      tickTimer = null;
    }
  };
}

/**
 * `view(now)` for a component that displays the time, re-evaluated once a second.
 * `view` returns a primitive (the text shown, a flag), so the component re-renders
 * only when that changes: a countdown showing minutes renders once a minute, and
 * an idle page does no rendering work in between.
 */
export function useTickValue<T extends string | number | boolean>(view: (now: number) => T): T {
  return useSyncExternalStore(subscribeTick, () => view(tickNow));
}
