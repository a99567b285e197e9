// The session resource /v1/sessions/{id}: find its record and check the caller owns it.
import type { SessionRecord } from "../registry/types.js";
import { checkSessionAccess } from "./auth.js";
import { SESSION_ID_PATTERN } from "./create-session.js";
import type { SignalingDeps } from "./deps.js";
import { notFound } from "./errors.js";
import { bearerToken, type Event } from "./request.js";

export async function ownedSession(deps: SignalingDeps, event: Event): Promise<SessionRecord> {
  const id = event.pathParameters?.id ?? "";
  // a malformed id cannot exist; answer as for any unknown session
  if (!SESSION_ID_PATTERN.test(id)) throw notFound("no such session");
  const bearer = bearerToken(event);
  const record = await deps.registry.getSession(id);
  if (!record) throw notFound("no such session (it ended or never existed)");
  checkSessionAccess(record, bearer);
  return record;
}
