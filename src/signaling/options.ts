// OPTIONS: CORS preflight (Fetch standard) plus what WHIP clients look for — Accept-Post on the
// endpoints that take offers (RFC 9725 §4.2) and Accept-Patch on the session resource (§4.3).
import { preflightHeaders } from "./cors.js";
import type { Event } from "./request.js";
import { type Result, result } from "./response.js";
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
