import { onWindowShownChange, windowShown } from "./visibility";

/**
 * Runs `run` once for many requests: the first request sets a timer for
 * `waitMs`, and requests until it fires are served by that one run. While the
 * window is not shown nothing runs: the requests are remembered and `run`
 * happens once, at once, when the window is shown again. So a burst of change
 * events is one refetch and one repaint, and a window hidden to the tray does
 * no work for changes nobody sees.
 */
export function coalescer(run: () => void, waitMs: number): { request: () => void; dispose: () => void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let owed = false; // requested while the window was not shown
  let unwatch: (() => void) | null = null;

  const watch = () => {
    unwatch ??= onWindowShownChange((shown) => {
      if (!shown || !owed) return;
      owed = false;
      unwatch?.();
      unwatch = null;
      run();
    });
  };
  const fire = () => {
    timer = null;
    if (windowShown()) run();
    else {
      owed = true;
      watch();
    }
  };
  return {
    request: () => {
      if (!windowShown()) {
        owed = true;
        watch();
      } else if (timer === null) {
        timer = setTimeout(fire, waitMs);
      }
    },
    dispose: () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      owed = false;
      unwatch?.();
      unwatch = null;
    },
  };
}
