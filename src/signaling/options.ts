// OPTIONS: CORS preflight (Fetch standard) plus what WHIP clients look for — Accept-Post on the
// endpoints that take offers (RFC 9725 §4.2) and Accept-Patch on the session resource (§4.3).

import { preflightHeaders } from "./cors.js";
import type { LambdaHandler } from "./dispatch.js";
import { resolveRoute, routesOf } from "./event-route.js";
import type { Event } from "./request.js";
import { json, type Result, result } from "./response.js";
import { methodsAt } from "./routes.js";

export function options(event: Event): Result {
  const pattern = (event.routeKey ?? "").replace(/^OPTIONS\s+/, "");
  const methods = methodsAt(pattern);
  const headers: Record<string, string> = {
    ...preflightHeaders(methods),
    allow: [...methods, "OPTIONS"].join(", "),
  };
  if (methods.includes("POST")) headers["accept-post"] = "application/sdp";
  if (methods.includes("PATCH")) headers["accept-patch"] = "application/trickle-ice-sdpfrag";
  return result(204, headers);
}

/** The options function: needs no registry, config or node (and must answer while they are down). */
export function optionsHandler(): LambdaHandler {
  const mine = routesOf("options");
  return async (incoming) => {
    const event = resolveRoute(incoming, mine);
    return event ? options(event) : json(404, { message: "Not Found" });
  };
}
