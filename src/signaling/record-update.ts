// Optimistic updates of a session record: the media node updates the same record (state,
// refresh), so a version conflict is normal and retried with the fresh version.
import { ConflictError } from "../registry/errors.js";
import type { Registry, SessionPatch, SessionRecord } from "../registry/types.js";

const ATTEMPTS = 5;

/** Applies `patch`; undefined if the record no longer exists. */
export async function updateSessionRecord(
  registry: Registry,
  id: string,
  patch: SessionPatch,
): Promise<SessionRecord | undefined> {
  for (let attempt = 1; ; attempt++) {
    const cur = await registry.getSession(id);
    if (!cur) return undefined;
    try {
      return await registry.updateSession(id, cur.version, patch);
    } catch (e) {
      if (e instanceof ConflictError && attempt < ATTEMPTS) continue;
      throw e;
    }
  }
}
