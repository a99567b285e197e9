// Which route of a function an event is for: API Gateway sets routeKey to the matched route; a
// "$default" route or a hand-built event is matched from the method and path. Kept apart from
// dispatch.ts so the options function bundles no registry, config or logger.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type HandlerName, matchRoute, ROUTES, routeKey } from "./routes.js";

/** The route key of an event for this function's routes (API Gateway sets it; a "$default"
 *  route or a hand-built event is matched from the method and path), with path parameters. */
export function resolveRoute(
  event: APIGatewayProxyEventV2,
  mine: ReadonlySet<string>,
): APIGatewayProxyEventV2 | undefined {
  if (mine.has(event.routeKey)) return event;
  const m = matchRoute(event.requestContext?.http?.method ?? "", event.rawPath ?? "");
  if (!m || !mine.has(routeKey(m.route))) return undefined;
  return {
    ...event,
    routeKey: routeKey(m.route),
    pathParameters: { ...m.pathParameters, ...event.pathParameters },
  };
}

/** Route keys of a function, from the shared table. */
export function routesOf(name: HandlerName): Set<string> {
  return new Set(ROUTES.filter((r) => r.handler === name).map(routeKey));
}
