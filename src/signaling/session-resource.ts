// The session resource /v1/sessions/{id}: find its record and check the caller owns it.
import { SESSION_ID_RE } from "../control/contract.js";
import type { SessionRecord } from "../registry/types.js";
import { checkSessionAccess } from "./auth.js";
import { bearerCreatedId } from "./credentials.js";
import type { SignalingDeps } from "./deps.js";
import { notFound } from "./errors.js";
import { bearerToken, type Event } from "./request.js";

/** the 404 for a well-formed id with no record */
export const sessionNotFound = () => notFound("no such session (it ended or never existed)");

export async function ownedSession(deps: SignalingDeps, event: Event): Promise<SessionRecord> {
  const found = await findOwnedSession(deps, event);
  if (!found.record) throw sessionNotFound();
  return found.record;
}

/**
 * The session's record if it exists and the caller owns it; else, for a well-formed id with no
 * record, the id and whether the caller's Bearer token is the one it was created with (an ended
 * session's creator can still be recognised: the id carries the token's tag).
 */
export async function findOwnedSession(
  deps: SignalingDeps,
  event: Event,
): Promise<{ record: SessionRecord; id: string } | { record: undefined; id: string; creator: boolean }> {
  const id = event.pathParameters?.id ?? "";
  // a malformed id cannot exist; answer as for any unknown session
  if (!SESSION_ID_RE.test(id)) throw notFound("no such session");
  const bearer = bearerToken(event);
  const record = await deps.registry.getSession(id);
  if (!record) return { record: undefined, id, creator: bearer !== undefined && bearerCreatedId(bearer, id) };
  checkSessionAccess(record, bearer);
  return { record, id };
}
