// Lambda function "health": GET /v1/health. Routes: src/signaling/routes.ts.
import { signalingHandler } from "../../src/signaling/dispatch.js";
import { health } from "../../src/signaling/health.js";

export const handler = signalingHandler("health", { "GET /v1/health": (deps) => health(deps) });
