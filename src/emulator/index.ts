export { HANDLER_NAMES, ROUTES, type RouteDef, routeKey } from "../signaling/routes.js";
export { buildEvent, clfTime, type EventTarget, type RawRequest } from "./event.js";
export { FUNCTION_HANDLERS } from "./functions.js";
export { gatewayError, writeResult } from "./result.js";
export { type Emulator, type EmulatorOptions, startEmulator } from "./server.js";
export { devStatic } from "./static.js";
