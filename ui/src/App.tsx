import {
  Avatar,
  FluentProvider,
  makeStaticStyles,
  makeStyles,
  Spinner,
  Text,
  tokens,
} from "@fluentui/react-components";
import {
  NavCategory,
  NavCategoryItem,
  NavDrawer,
  NavDrawerBody,
  NavItem,
  NavSubItem,
  NavSubItemGroup,
} from "@fluentui/react-components";
import {
  CloudRegular,
  DocumentSearchRegular,
  HeadsetRegular,
  HomeRegular,
  LockClosedFilled,
  SettingsRegular,
} from "@fluentui/react-icons";
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { errorMessage, getConnection, getSession, onConnectionChanged, onNavigate } from "./api/client";
import type { ConnectionDto } from "./bindings/ConnectionDto";
import type { BootDto } from "./bindings/BootDto";
import {
  AppContext,
  archiveRoute,
  parseHash,
  routeToHash,
  storedTenant,
  TENANT_KEY,
  type AppContextValue,
  type Route,
} from "./AppContext";
import type { SessionDto } from "./bindings/SessionDto";
import { ArchiveBanner } from "./components/ArchiveBanner";
import { OfflineBanner } from "./components/OfflineBanner";
import { ErrorBar } from "./components/ErrorBar";
import { usePrefersDark } from "./lib/hooks";
import { AuditPage, HomePage, OrgSettingsPage, ServiceRequestsPage } from "./pages";
import { darkTheme, lightTheme } from "./theme";

// Not needed for the first paint: each loads in a chunk of its own, beside the page.
const AppToaster = lazy(() => import("./components/AppToaster"));
const TenantPicker = lazy(() => import("./components/TenantPicker"));
// Only on the error screens here (Settings shows it in its own chunk).
const ThisDevice = lazy(() => import("./pages/settings/ThisDevice").then((m) => ({ default: m.ThisDevice })));

const useStyles = makeStyles({
  root: {
    display: "grid",
    gridTemplateRows: "48px 1fr",
    gridTemplateColumns: "auto 1fr",
    gridTemplateAreas: '"header header" "nav main"',
    height: "100vh",
    backgroundColor: tokens.colorNeutralBackground2,
  },
  // An archive window: the archive's banner between the header and the pages.
  archive: {
    gridTemplateRows: "48px auto 1fr",
    gridTemplateAreas: '"header header" "banner banner" "nav main"',
  },
  header: {
    gridArea: "header",
    display: "flex",
    alignItems: "center",
    gap: tokens.spacingHorizontalM,
    paddingInline: tokens.spacingHorizontalL,
    backgroundColor: tokens.colorBrandBackground,
    color: tokens.colorNeutralForegroundOnBrand,
  },
  title: { fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase400, flexGrow: 1 },
  user: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalS },
  server: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalXS, overflowWrap: "anywhere" },
  tenant: { minWidth: "180px" },
  nav: { gridArea: "nav", height: "100%" },
  main: {
    gridArea: "main",
    overflow: "auto",
    padding: `${tokens.spacingVerticalXL} ${tokens.spacingHorizontalXXL}`,
    backgroundColor: tokens.colorNeutralBackground1,
  },
  center: { display: "flex", justifyContent: "center", alignItems: "center", height: "100vh" },
  fatal: { padding: tokens.spacingHorizontalXXL },
});

function useHashRoute(): [Route, (r: Route) => void] {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  const navigate = useCallback((r: Route) => {
    const h = routeToHash(r);
    if (window.location.hash !== h) window.location.hash = h;
    setRoute(r);
  }, []);
  return [route, navigate];
}

/** `boot`: what main.tsx read for the first page (the session); without it the shell asks itself. */
// Scrollbars drawn with the page, in Fluent's stroke colours. WebKitGTK's own
// are overlay scrollbars that fade out a second after a scroller appears: on a
// machine without a GPU that fade is ~4 s of CPU after every start (each of
// its frames composited in software), for a bar that then disappears.
const useScrollbarStyles = makeStaticStyles({
  "::-webkit-scrollbar": { width: "12px", height: "12px" },
  "::-webkit-scrollbar-track, ::-webkit-scrollbar-corner": { backgroundColor: "transparent" },
  "::-webkit-scrollbar-thumb": {
    backgroundColor: tokens.colorNeutralStroke1,
    backgroundClip: "padding-box",
    border: "3px solid transparent",
    borderRadius: tokens.borderRadiusCircular,
  },
  "::-webkit-scrollbar-thumb:hover": { backgroundColor: tokens.colorNeutralStroke1Hover },
});

export function App({ boot }: { boot?: BootDto }) {
  const dark = usePrefersDark();
  useScrollbarStyles();
  return (
    // No className here: Fluent copies the provider's classes onto its portal
    // mount nodes, and a height would make that node cover the whole page.
    <FluentProvider theme={dark ? darkTheme : lightTheme}>
      <Suspense fallback={null}>
        <AppToaster />
      </Suspense>
      <Shell boot={boot} />
    </FluentProvider>
  );
}

function Shell({ boot }: { boot?: BootDto }) {
  const styles = useStyles();
  const [session, setSession] = useState<SessionDto | null>(boot?.session ?? null);
  const [error, setError] = useState<string | null>(null);
  const [tenantId, setTenantId] = useState<string | null>(() => boot?.tenant ?? storedTenant());
  const [route, navigate] = useHashRoute();
  // Each shell link (a notification click, a tray item) opens its page afresh,
  // even when it is the page already shown.
  const [shellLinks, setShellLinks] = useState(0);
  // Where engine commands go: this machine's store, or a team server.
  const [connection, setConnection] = useState<ConnectionDto | null>(null);

  useEffect(() => {
    let live = true;
    getConnection()
      .then((c) => live && setConnection(c))
      .catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, []);

  // Signed in to a server or out of one: every answer now comes from the other side.
  const reconnected = useCallback((c: ConnectionDto) => {
    setConnection(c);
    setError(null);
    setSession(null);
    setShellLinks((n) => n + 1);
  }, []);

  // The team server lost or back (the shell says so): the connection and the
  // session asked again, every page afresh (offline, from the local replica).
  useEffect(
    () =>
      onConnectionChanged(() => {
        getConnection()
          .then(reconnected)
          .catch((e) => setError(errorMessage(e)));
      }),
    [reconnected],
  );

  useEffect(() => {
    if (session) return;
    let live = true;
    getSession()
      .then((s) => live && setSession(s))
      .catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
    // With boot data, or once the answer came, there is nothing to ask for.
  }, [session]);

  const archived = session?.archive != null;
  const setTenant = useCallback((id: string) => {
    setTenantId(id);
    // An archive's organizations are not the live app's: nothing to remember.
    if (archived) return;
    try {
      window.localStorage.setItem(TENANT_KEY, id);
    } catch {
      /* storage unavailable */
    }
  }, [archived]);

  // A notification click or tray item: a route (`requests?request=ID&tenant=T`,
  // `requests?status=pending`, or a page name), its organization first.
  useEffect(
    () =>
      onNavigate((link) => {
        const r = parseHash(link);
        if (r.page === "requests" && r.tenant) {
          if (session?.tenants.some((t) => t.id === r.tenant)) setTenant(r.tenant);
          r.tenant = undefined;
        }
        setShellLinks((n) => n + 1);
        navigate(r);
      }),
    [navigate, session, setTenant],
  );

  const ctx = useMemo<AppContextValue | null>(() => {
    if (!session) return null;
    const tenant = session.tenants.find((t) => t.id === tenantId) ?? session.tenants[0];
    if (!tenant) return null;
    return { session, tenant, setTenant, navigate, connection, reconnected };
  }, [session, tenantId, setTenant, navigate, connection, reconnected]);

  // Without a session or an organization, the server can still be changed.
  const device =
    connection && connection.state !== "local" ? (
      <Suspense fallback={null}>
        <ThisDevice connection={connection} onChanged={reconnected} />
      </Suspense>
    ) : null;

  if (error) {
    return (
      <div className={styles.fatal}>
        <ErrorBar title="Couldn't start the admin center" error={error} />
        {device}
      </div>
    );
  }
  if (!session) {
    return (
      <div className={styles.center}>
        <Spinner label="Loading…" />
      </div>
    );
  }
  if (!ctx) {
    return (
      <div className={styles.fatal}>
        <ErrorBar title="No organization" error="This account isn't linked to any organization yet. Try `lockbox demo`." />
        {device}
      </div>
    );
  }

  // An archive window offers Audit and Service requests only, read-only; so
  // does the live window while the team server cannot be reached (the session
  // then names the local replica as its archive).
  const archive = session.archive ?? null;
  const offline = connection?.state === "offline" && archive !== null;
  const shown = archive ? archiveRoute(route) : route;
  const navValue = shown.page === "requests" ? "requests" : shown.page === "settings" ? "org-settings" : shown.page;

  return (
    <AppContext.Provider value={ctx}>
      <div className={archive ? `${styles.root} ${styles.archive}` : styles.root}>
        <header className={styles.header} role="banner">
          <LockClosedFilled fontSize={20} aria-hidden />
          <Text as="h1" className={styles.title}>
            {archive && !offline ? "Lockbox audit archive" : "Lockbox admin center"}
          </Text>
          {session.tenants.length > 1 ? (
            <Suspense fallback={<div className={styles.tenant} />}>
              <TenantPicker
                className={styles.tenant}
                tenants={session.tenants}
                current={ctx.tenant}
                onPick={setTenant}
              />
            </Suspense>
          ) : null}
          {(!archive || offline) && connection?.server ? (
            <div className={styles.server} aria-label={`Connected to ${connection.server}`}>
              <CloudRegular fontSize={16} aria-hidden />
              <Text>{connection.server}</Text>
            </div>
          ) : null}
          {archive ? null : (
            <div className={styles.user} aria-label={`Signed in as ${session.user}`}>
              <Avatar name={session.user} size={28} color="colorful" aria-hidden />
              <Text>{session.user}</Text>
            </div>
          )}
        </header>
        {offline && connection ? <OfflineBanner connection={connection} /> : null}
        {archive && !offline ? <ArchiveBanner archive={archive} /> : null}
        <NavDrawer
          className={styles.nav}
          open
          type="inline"
          selectedValue={navValue}
          defaultOpenCategories={["support", "settings"]}
          aria-label="Navigation"
        >
          <NavDrawerBody>
            {archive ? null : (
              <NavItem href="#/home" value="home" icon={<HomeRegular />}>
                Home
              </NavItem>
            )}
            <NavCategory value="support">
              <NavCategoryItem icon={<HeadsetRegular />}>Support</NavCategoryItem>
              <NavSubItemGroup>
                <NavSubItem href="#/requests" value="requests">
                  Service requests
                </NavSubItem>
              </NavSubItemGroup>
            </NavCategory>
            {archive ? null : (
              <NavCategory value="settings">
                <NavCategoryItem icon={<SettingsRegular />}>Settings</NavCategoryItem>
                <NavSubItemGroup>
                  <NavSubItem href="#/settings" value="org-settings">
                    Org settings
                  </NavSubItem>
                </NavSubItemGroup>
              </NavCategory>
            )}
            <NavItem href="#/audit" value="audit" icon={<DocumentSearchRegular />}>
              Audit
            </NavItem>
          </NavDrawerBody>
        </NavDrawer>
        <main className={styles.main} id="main">
          {/* key on tenant: switching organization starts each page afresh */}
          <Page key={`${ctx.tenant.id}/${shellLinks}`} route={shown} />
        </main>
      </div>
    </AppContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  return (
    <Suspense fallback={<div data-testid="page-loading" aria-busy="true" />}>
      <PageBody route={route} />
    </Suspense>
  );
}

function PageBody({ route }: { route: Route }) {
  switch (route.page) {
    case "home":
      return <HomePage />;
    case "requests":
      return <ServiceRequestsPage initialStatus={route.status} initialRequest={route.request} />;
    case "settings":
      return <OrgSettingsPage />;
    case "audit":
      return <AuditPage initialRequestId={route.requestId} />;
  }
}
