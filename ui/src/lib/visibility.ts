// Whether the window is on screen. WebKit marks the page hidden when the
// window is hidden to the tray or minimized (`document.visibilityState`);
// time texts stop ticking and background changes wait while it is.

type Listener = (shown: boolean) => void;
const listeners = new Set<Listener>();
let last: boolean | null = null;

export function windowShown(): boolean {
  return typeof document === "undefined" || document.visibilityState !== "hidden";
}

function onVisibilityChange(): void {
  const shown = windowShown();
  if (shown === last) return;
  last = shown;
  for (const l of [...listeners]) l(shown);
}

/** Calls `listener(shown)` each time the window is shown or stops being shown. */
export function onWindowShownChange(listener: Listener): () => void {
  if (listeners.size === 0 && typeof document !== "undefined") {
    last = windowShown();
    document.addEventListener("visibilitychange", onVisibilityChange);
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && typeof document !== "undefined") {
      document.removeEventListener("visibilitychange", onVisibilityChange);
    }
  };
}
