// The admin center's routes (the address after `#`) and the remembered
// organization: no React here, so the static first paint (prepaint/) can use
// them before React loads. AppContext re-exports them.

export type Route =
  | { page: "home" }
  /** `request`: the request whose details are open; `tenant`: its organization (a shell link). */
  | { page: "requests"; status?: string; request?: string; tenant?: string }
  | { page: "settings" }
  | { page: "audit"; requestId?: string };

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
