// Lambda function "whep": POST /v1/whep/{id} (listen to a session). Routes: src/signaling/routes.ts.
import { createSession } from "../../src/signaling/create-session.js";
import { signalingHandler } from "../../src/signaling/dispatch.js";

export const handler = signalingHandler("whep", {
  "POST /v1/whep/{id}": (deps, event) => createSession(deps, event, "whep"),
});
