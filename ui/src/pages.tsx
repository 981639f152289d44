// Pages load on first visit, so a cold start parses only the page it opens on.
// The page a window opens on is preloaded (main.tsx) alongside its data; once
// loaded, a page renders at once instead of suspending for a frame.
import { lazy, useState, type ComponentType } from "react";
import type { Route } from "./AppContext";

function page<P extends object>(load: () => Promise<ComponentType<P>>) {
  let loaded: ComponentType<P> | null = null;
  let loading: Promise<ComponentType<P>> | null = null;
  const preload = () =>
    (loading ??= load().then((c) => {
      loaded = c;
      return c;
    }));
  // (lazy()'s props type wraps P in ref types that a plain P does not satisfy.)
  const Lazy = lazy(() => preload().then((c) => ({ default: c }))) as unknown as ComponentType<P>;
  function Page(props: P) {
    // Pinned at mount: switching from Lazy to the loaded component would remount the page.
    const [Loaded] = useState(() => loaded);
    return Loaded ? <Loaded {...props} /> : <Lazy {...props} />;
  }
  return Object.assign(Page, { preload });
}

export const AuditPage = page(() => import("./pages/AuditPage").then((m) => m.AuditPage));
export const HomePage = page(() => import("./pages/HomePage").then((m) => m.HomePage));
export const OrgSettingsPage = page(() => import("./pages/OrgSettingsPage").then((m) => m.OrgSettingsPage));
export const ServiceRequestsPage = page(() =>
  import("./pages/ServiceRequestsPage").then((m) => m.ServiceRequestsPage),
);

export function preloadPage(route: Route): Promise<unknown> {
  switch (route.page) {
    case "home":
      return HomePage.preload();
    case "requests":
      return ServiceRequestsPage.preload();
    case "settings":
      return OrgSettingsPage.preload();
    case "audit":
      return AuditPage.preload();
  }
}
