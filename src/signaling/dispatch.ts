// One entry point per function bundle: find the route of the event, run its action with the
// (cold-start cached) dependencies, and turn every error into a response. A function only serves
// its own routes; anything else is a 404, as API Gateway itself would answer.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { rootLogger } from "../log/index.js";
import { createSession } from "./create-session.js";
import { deleteSession } from "./delete-session.js";
import { getSignalingDeps, type SignalingDeps } from "./deps.js";
import { getSession } from "./get-session.js";
import { health } from "./health.js";
import { options } from "./options.js";
import { patchSession } from "./patch-session.js";
import type { Event } from "./request.js";
import { errorResult, json, type Result } from "./response.js";
import { type HandlerName, matchRoute, ROUTES, routeKey } from "./routes.js";

type Action = (deps: SignalingDeps, event: Event) => Promise<Result> | Result;

const ACTIONS: Record<string, Action> = {
  "POST /v1/whip": (d, e) => createSession(d, e, "whip"),
  "POST /v1/sessions": (d, e) => createSession(d, e, "session"),
  "GET /v1/sessions/{id}": getSession,
  "PATCH /v1/sessions/{id}": patchSession,
  "DELETE /v1/sessions/{id}": deleteSession,
  "POST /v1/whep/{id}": (d, e) => createSession(d, e, "whep"),
  "GET /v1/health": (d) => health(d),
};

export type LambdaHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** The lambda handler of one function bundle. */
export function signalingHandler(name: HandlerName): LambdaHandler {
  const mine = new Set(ROUTES.filter((r) => r.handler === name).map(routeKey));
  return async (event) => {
    // API Gateway sets routeKey to the matched route; a "$default" route (or a hand-built event)
    // is matched here from the method and path instead
    let key = event.routeKey;
    if (!mine.has(key)) {
      const m = matchRoute(event.requestContext?.http?.method ?? "", event.rawPath ?? "");
      if (m) {
        key = routeKey(m.route);
        event = { ...event, routeKey: key, pathParameters: { ...m.pathParameters, ...event.pathParameters } };
      }
    }
    if (!mine.has(key)) return json(404, { message: "Not Found" });
    // preflight needs no dependencies (and must not fail when the registry is down)
    if (name === "options") return options(event);
    let deps: SignalingDeps;
    try {
      deps = await getSignalingDeps();
    } catch (e) {
      return errorResult(e, rootLogger());
    }
    try {
      return await ACTIONS[key]!(deps, event);
    } catch (e) {
      return errorResult(e, deps.logger);
    }
  };
}
