// Lambda function "whip": POST /v1/whip (WHIP ingest). Routes: src/signaling/routes.ts.
import { createSession } from "../../src/signaling/create-session.js";
import { signalingHandler } from "../../src/signaling/dispatch.js";

export const handler = signalingHandler("whip", {
  "POST /v1/whip": (deps, event) => createSession(deps, event, "whip"),
});
