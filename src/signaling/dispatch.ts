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
export function signalingHandler(name: HandlerName, own: Record<string, Action>): LambdaHandler {
  const mine = routesOf(name);
  const actions = withHead(own);
  const given = Object.keys(actions);
  if (given.length !== mine.size || !given.every((k) => mine.has(k)))
    throw new Error(
      `function ${name}: actions [${given.join(", ")}] differ from its routes [${[...mine].join(", ")}]`,
    );
  const run = async (incoming: APIGatewayProxyEventV2): Promise<Result> => {
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
  return async (incoming) => {
    const r = await run(incoming);
    // HEAD: the GET's status and headers (errors too), without its body (RFC 9110 §9.3.2); its
    // Content-Length, if any, is the GET's (§8.6: never 0 for a body that would not be empty)
    const method = incoming.requestContext?.http?.method ?? incoming.routeKey.split(" ")[0];
    if (method?.toUpperCase() !== "HEAD") return r;
    const length =
      r.body === undefined ? 0 : Buffer.byteLength(r.body, r.isBase64Encoded ? "base64" : "utf8");
    return { ...r, headers: { ...r.headers, "content-length": String(length) }, body: "" };
  };
}

/** every GET action also serves HEAD (routes.ts); its body is dropped (signalingHandler) */
function withHead(actions: Record<string, Action>): Record<string, Action> {
  const all = { ...actions };
  for (const [key, get] of Object.entries(actions))
    if (key.startsWith("GET ")) all[`HEAD ${key.slice(4)}`] = get;
  return all;
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
