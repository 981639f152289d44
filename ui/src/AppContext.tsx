import type { ConnectionDto } from "./bindings/ConnectionDto";
import { createContext, useContext } from "react";
import type { ArchiveDto } from "./bindings/ArchiveDto";
import type { SessionDto } from "./bindings/SessionDto";
import type { TenantDto } from "./bindings/TenantDto";
import type { Route } from "./route";

export { parseHash, routeToHash, storedTenant, TENANT_KEY, type Route } from "./route";

export type AppContextValue = {
  session: SessionDto;
  tenant: TenantDto;
  setTenant: (id: string) => void;
  navigate: (route: Route) => void;
  /** This machine's team server, if any (null while asked). */
  connection: ConnectionDto | null;
  /** After a sign-in to a server or a sign-out: the app reloads its data from the other side. */
  reconnected: (c: ConnectionDto) => void;
};

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error("useApp outside AppContext");
  return v;
}

/**
 * The archive this window shows read-only, or null in the live admin center.
 * While the team server cannot be reached it is the local audit replica.
 */
export function useArchive(): ArchiveDto | null {
  return useApp().session.archive ?? null;
}

/** Whether the team server cannot be reached (the pages show the replica). */
export function useOffline(): boolean {
  return useApp().connection?.state === "offline";
}

/**
 * The pages an archive window offers: Audit and Service requests, read-only.
 * Any other route shows the Audit page.
 */
export function archiveRoute(r: Route): Route {
  return r.page === "audit" || r.page === "requests" ? r : { page: "audit" };
}

