// OPTIONS: CORS preflight (Fetch standard) plus what WHIP clients look for — Accept-Post on the
// endpoints that take offers (RFC 9725 §4.2) and Accept-Patch on the session resource (§4.3); and
// 405 + Allow for any other method on a resource (its ANY route in the shared table).

import { preflightHeaders } from "./cors.js";
import type { LambdaHandler } from "./dispatch.js";
import { resolveRoute, routesOf } from "./event-route.js";
import type { Event } from "./request.js";
import { json, type Result, result } from "./response.js";
import { methodsAt } from "./routes.js";

export function options(event: Event): Result {
  if ((event.routeKey ?? "").startsWith("ANY ")) return methodNotAllowed(event);
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

/** A method the resource does not have: 405 with Allow (RFC 9110 §15.5.6), in the JSON error shape. */
function methodNotAllowed(event: Event): Result {
  const pattern = (event.routeKey ?? "").replace(/^ANY\s+/, "");
  const allow = [...methodsAt(pattern), "OPTIONS"].join(", ");
  const method = (event.requestContext?.http?.method ?? "").toUpperCase().slice(0, 16);
  return json(
    405,
    {
      error: "method-not-allowed",
      reason: `${/^[A-Z]+$/.test(method) ? method : "this method"} is not allowed on ${pattern}; allowed: ${allow}`,
    },
    { allow },
  );
}

/** The options function: needs no registry, config or node (and must answer while they are down). */
export function optionsHandler(): LambdaHandler {
  const mine = routesOf("options");
  return async (incoming) => {
    const event = resolveRoute(incoming, mine);
    return event ? options(event) : json(404, { message: "Not Found" });
  };
}
