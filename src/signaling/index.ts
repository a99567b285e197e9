// The signaling library: lambda-style handlers' logic, the route table and the dependencies.

export { SESSION_TOKEN_HEADER } from "./create-session.js";
export { bearerOwnsSession, newSessionCredentials } from "./credentials.js";
export {
  clearSignalingDeps,
  makeSignalingDeps,
  type SignalingDeps,
  type SignalingDepsInput,
  setSignalingDeps,
  withSignalingDeps,
} from "./deps.js";
export { type Action, type LambdaHandler, signalingHandler } from "./dispatch.js";
export { HttpError } from "./errors.js";
export { optionsHandler } from "./options.js";
export {
  HANDLER_NAMES,
  type HandlerName,
  matchRoute,
  ROUTES,
  type RouteDef,
  type RouteMethod,
  routeKey,
} from "./routes.js";
