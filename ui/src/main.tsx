import { StrictMode, useLayoutEffect } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { parseHash, storedTenant } from "./AppContext";
import { startBoot } from "./boot";
import { preloadPage } from "./pages";
import { firstRequestsQuery } from "./pages/requests/query";
import { PREPAINT_ATTR } from "./prepaint/shared";
import "./index.css";

/** Once React has rendered (it replaced #root's children), the static first paint's styles go too. */
function DropPrepaint() {
  useLayoutEffect(() => {
    for (const el of document.querySelectorAll(`[${PREPAINT_ATTR}]`)) el.remove();
  }, []);
  return null;
}

const root = document.getElementById("root");
if (root) {
  // Ask for the first page's data and load its code at the same time, then render
  // once with both: no spinner frame, no session → page chunk → data waterfall.
  const route = parseHash(window.location.hash);
  const data = startBoot(storedTenant(), route.page === "requests" ? firstRequestsQuery(route.status) : null);
  const code = preloadPage(route).catch(() => undefined); // a failed load shows when the page renders
  void Promise.allSettled([data, code]).then(([boot]) => {
    // Without boot data (it failed) the shell asks for the session itself and shows the error.
    createRoot(root).render(
      <StrictMode>
        <App boot={boot.status === "fulfilled" ? boot.value : undefined} />
        <DropPrepaint />
      </StrictMode>,
    );
  });
}
