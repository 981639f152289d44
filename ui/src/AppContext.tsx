import { createContext, useContext } from "react";
import type { ArchiveDto } from "./bindings/ArchiveDto";
import type { SessionDto } from "./bindings/SessionDto";
import type { TenantDto } from "./bindings/TenantDto";

export type Route =
  | { page: "home" }
  /** `request`: the request whose details are open; `tenant`: its organization (a shell link). */
  | { page: "requests"; status?: string; request?: string; tenant?: string }
  | { page: "settings" }
  | { page: "audit"; requestId?: string };

export type AppContextValue = {
  session: SessionDto;
  tenant: TenantDto;
  setTenant: (id: string) => void;
  navigate: (route: Route) => void;
};

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error("useApp outside AppContext");
  return v;
}

/** The archive this window shows read-only, or null in the live admin center. */
export function useArchive(): ArchiveDto | null {
  return useApp().session.archive ?? null;
}

/**
 * The pages an archive window offers: Audit and Service requests, read-only.
 * Any other route shows the Audit page.
 */
export function archiveRoute(r: Route): Route {
  return r.page === "audit" || r.page === "requests" ? r : { page: "audit" };
}

export function routeToHash(r: Route): string {
  switch (r.page) {
    case "home":
      return "#/home";
    case "requests": {
      const q = new URLSearchParams();
      if (r.status) q.set("status", r.status);
      if (r.request) q.set("request", r.request);
      if (r.tenant) q.set("tenant", r.tenant);
      const qs = q.toString();
      return qs ? `#/requests?${qs}` : "#/requests";
    }
    case "settings":
      return "#/settings";
    case "audit":
      return r.requestId ? `#/audit?request=${encodeURIComponent(r.requestId)}` : "#/audit";
  }
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, "");
  const [path = "", qs = ""] = h.split("?");
  const params = new URLSearchParams(qs);
  switch (path) {
    case "requests":
      return {
        page: "requests",
        status: params.get("status") ?? undefined,
        request: params.get("request") ?? undefined,
        tenant: params.get("tenant") ?? undefined,
      };
    case "settings":
      return { page: "settings" };
    case "audit":
      return { page: "audit", requestId: params.get("request") ?? undefined };
    default:
      return { page: "home" };
  }
}

/** Where the last chosen organization is remembered (per machine). */
export const TENANT_KEY = "lockbox.tenant";

export function storedTenant(): string | null {
  try {
    return window.localStorage.getItem(TENANT_KEY);
  } catch {
    return null;
  }
}
