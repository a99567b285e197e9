// Lambda function "sessions": two-way sessions and the session resource. Routes: src/signaling/routes.ts.
import { createSession } from "../../src/signaling/create-session.js";
import { deleteSession } from "../../src/signaling/delete-session.js";
import { signalingHandler } from "../../src/signaling/dispatch.js";
import { getSession } from "../../src/signaling/get-session.js";
import { patchSession } from "../../src/signaling/patch-session.js";
import { resumeSession } from "../../src/signaling/resume-session.js";

export const handler = signalingHandler("sessions", {
  "POST /v1/sessions": (deps, event) => createSession(deps, event, "session"),
  "GET /v1/sessions/{id}": getSession,
  "PATCH /v1/sessions/{id}": patchSession,
  "DELETE /v1/sessions/{id}": deleteSession,
  "POST /v1/sessions/{id}/resume": resumeSession,
});
