// The route table: one piece of data shared by the local emulator (src/emulator) and the cloud
// deployment (infra/ imports it to create API Gateway routes and integrations), so the two
// cannot drift. `handler` names the function bundle (functions/<handler>/index.ts ->
// dist/functions/<handler>/index.mjs) that serves the route.

export const HANDLER_NAMES = ["whip", "sessions", "whep", "health", "options"] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];
/** ANY: API Gateway's catch-all, matched only when no route names the request's method */
export type RouteMethod = "GET" | "HEAD" | "POST" | "PATCH" | "DELETE" | "OPTIONS" | "ANY";

export interface RouteDef {
  method: RouteMethod;
  /** API Gateway path syntax: literal segments and {param} */
  path: string;
  handler: HandlerName;
}

const RESOURCES = [
  "/v1/whip",
  "/v1/sessions",
  "/v1/sessions/{id}",
  "/v1/sessions/{id}/resume",
  "/v1/whep/{id}",
  "/v1/health",
] as const;

export const ROUTES: readonly RouteDef[] = [
  { method: "POST", path: "/v1/whip", handler: "whip" },
  { method: "POST", path: "/v1/sessions", handler: "sessions" },
  { method: "GET", path: "/v1/sessions/{id}", handler: "sessions" },
  // HEAD wherever GET is (RFC 9110 §9.3.2: its headers without the body; uptime checkers use it),
  // served by the GET's action (dispatch.ts)
  { method: "HEAD", path: "/v1/sessions/{id}", handler: "sessions" },
  { method: "PATCH", path: "/v1/sessions/{id}", handler: "sessions" },
  { method: "DELETE", path: "/v1/sessions/{id}", handler: "sessions" },
  // an rtcgw extension (RFC 9725 has none): a new peer for a running session (docs/signaling.md)
  { method: "POST", path: "/v1/sessions/{id}/resume", handler: "sessions" },
  { method: "POST", path: "/v1/whep/{id}", handler: "whep" },
  { method: "GET", path: "/v1/health", handler: "health" },
  { method: "HEAD", path: "/v1/health", handler: "health" },
  // CORS preflight on every resource (answered by our function: headers such as Accept-Post
  // are WHIP's, not the gateway's CORS feature)
  ...RESOURCES.map((path) => ({ method: "OPTIONS" as const, path, handler: "options" as const })),
  // any other method on a resource: 405 + Allow in our JSON error shape (RFC 9110 §15.5.6),
  // answered by the options function, rather than API Gateway's own 404 {"message":"Not Found"}.
  // Only these exact paths: a sub-resource such as /v1/sessions/{id}/resume is not matched.
  ...RESOURCES.map((path) => ({ method: "ANY" as const, path, handler: "options" as const })),
];

/** API Gateway's route key: "METHOD /path/{param}" */
export const routeKey = (r: Pick<RouteDef, "method" | "path">) => `${r.method} ${r.path}`;

export interface RouteMatch {
  route: RouteDef;
  pathParameters: Record<string, string>;
}

/** The route for a request, as API Gateway matches it (one segment per {param}; a route naming
 *  the method wins over the path's ANY route, whatever their order). */
export function matchRoute(method: string, path: string): RouteMatch | undefined {
  const m = method.toUpperCase();
  return findRoute((r) => r.method === m, path) ?? findRoute((r) => r.method === "ANY", path);
}

function findRoute(want: (r: RouteDef) => boolean, path: string): RouteMatch | undefined {
  for (const route of ROUTES) {
    if (!want(route)) continue;
    const params = matchPath(route.path, path);
    if (params) return { route, pathParameters: params };
  }
  return undefined;
}

/** Methods with a route at this path (for Allow and preflight answers). */
export function methodsAt(pathPattern: string): RouteMethod[] {
  return ROUTES.filter((r) => r.path === pathPattern && r.method !== "OPTIONS" && r.method !== "ANY").map(
    (r) => r.method,
  );
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith("{") && w.endsWith("}")) {
      if (g === "") return undefined;
      try {
        params[w.slice(1, -1)] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) return undefined;
  }
  return params;
}
