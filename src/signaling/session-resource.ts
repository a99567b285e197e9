// The session resource /v1/sessions/{id}: find its record (or, once it ended, its tombstone) and
// check the caller owns it.
import { SESSION_ID_RE } from "../control/contract.js";
import type { SessionRecord, SessionTombstone } from "../registry/types.js";
import { checkSessionAccess } from "./auth.js";
import { bearerCreatedId } from "./credentials.js";
import type { SignalingDeps } from "./deps.js";
import { notFound } from "./errors.js";
import { type Event, requestBearer } from "./request.js";

/** the 404 for a well-formed id with no record */
export const sessionNotFound = () => notFound("no such session (it ended or never existed)");

/** the 404 of a session that ended (its tombstone is still kept): says how and when */
export const sessionEnded = (t: SessionTombstone) =>
  notFound(`the session ended (${t.reason}) at ${new Date(t.endedAt).toISOString()}`);

export async function ownedSession(deps: SignalingDeps, event: Event): Promise<SessionRecord> {
  const found = await findOwnedSession(deps, event);
  if (!found.record) throw found.tombstone ? sessionEnded(found.tombstone) : sessionNotFound();
  return found.record;
}

export type FoundSession =
  | { record: SessionRecord; id: string }
  | { record: undefined; id: string; creator: boolean; tombstone?: SessionTombstone };

/**
 * The session's record if it exists and the caller owns it; else, for a well-formed id with no
 * record, its tombstone if the session ended a short while ago (the caller must own it: its
 * session token or creator token), and whether the caller's Bearer token is the one it was created
 * with (an ended session's creator is recognised even after its tombstone expired: the id
 * carries the token's tag).
 */
export async function findOwnedSession(deps: SignalingDeps, event: Event): Promise<FoundSession> {
  const id = event.pathParameters?.id ?? "";
  // a malformed id cannot exist; answer as for any unknown session
  if (!SESSION_ID_RE.test(id)) throw notFound("no such session");
  const bearer = requestBearer(event);
  const record = await deps.registry.getSession(id);
  if (!record) {
    const creator = bearer !== undefined && bearerCreatedId(bearer, id);
    const tombstone = await deps.registry.getTombstone(id);
    if (!tombstone) return { record: undefined, id, creator };
    checkSessionAccess(tombstone, bearer);
    return { record: undefined, id, creator, tombstone };
  }
  checkSessionAccess(record, bearer);
  return { record, id };
}
