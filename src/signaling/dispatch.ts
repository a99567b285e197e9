// One entry point per function bundle: find the route of the event, run its action with the
// (cold-start cached) dependencies, and turn every error into a response. A function only serves
// its own routes (anything else is a 404, as API Gateway itself would answer) and imports only
// its own actions, so each bundle carries only what it runs.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { SESSION_ID_RE } from "../control/contract.js";
import { type Logger, rootLogger, sessionLogger } from "../log/index.js";
import { getSignalingDeps, type SignalingDeps } from "./deps.js";
import { sessionOfError } from "./errors.js";
import { resolveRoute, routesOf } from "./event-route.js";
import type { Event } from "./request.js";
import { errorResult, json, type Result } from "./response.js";
import type { HandlerName } from "./routes.js";

export type Action = (deps: SignalingDeps, event: Event) => Promise<Result> | Result;

export type LambdaHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** The lambda handler of one function bundle; `actions` must cover exactly its routes. */
export function signalingHandler(name: HandlerName, actions: Record<string, Action>): LambdaHandler {
  const mine = routesOf(name);
  const given = Object.keys(actions);
  if (given.length !== mine.size || !given.every((k) => mine.has(k)))
    throw new Error(
      `function ${name}: actions [${given.join(", ")}] differ from its routes [${[...mine].join(", ")}]`,
    );
  return async (incoming) => {
    const event = resolveRoute(incoming, mine);
    if (!event) return json(404, { message: "Not Found" });
    let deps: SignalingDeps;
    try {
      deps = await getSignalingDeps();
    } catch (e) {
      return errorResult(e, requestLog(rootLogger(), event, e));
    }
    try {
      return await actions[event.routeKey]!(deps, event);
    } catch (e) {
      return errorResult(e, requestLog(deps.logger, event, e));
    }
  };
}

/**
 * The logger of a request's error line: its method and route and, on a session's route, its
 * session (docs/design.md rule 8) — the route's {id}, which on a WHEP route is the source's
 * (`sourceSessionId`), or the session a failed create drew (`aboutSession`). No header, so no
 * token, is read here.
 */
function requestLog(logger: Logger, event: Event, e: unknown): Logger {
  const route = event.routeKey.slice(event.routeKey.indexOf(" ") + 1);
  const fields: Record<string, string> = {
    method: event.requestContext?.http?.method ?? event.routeKey.split(" ")[0]!,
    route,
  };
  // an id that is no session id cannot name one (and is not written to the log)
  const id = event.pathParameters?.id;
  const routeId = id !== undefined && SESSION_ID_RE.test(id) ? id : undefined;
  const isSource = route.startsWith("/v1/whep/");
  if (routeId && isSource) fields.sourceSessionId = routeId;
  const sessionId = sessionOfError(e) ?? (isSource ? undefined : routeId);
  return sessionId ? sessionLogger(logger, sessionId, fields) : logger.child(fields);
}
