// Optimistic updates of a session record: the media node updates the same record (state,
// refresh), so a version conflict is normal and retried with the fresh version.
import { ConflictError, NotFoundError } from "../registry/errors.js";
import type { Registry, SessionPatch, SessionRecord } from "../registry/types.js";

const ATTEMPTS = 5;

/** Applies `patch`; undefined if the record no longer exists. */
export async function updateSessionRecord(
  registry: Registry,
  id: string,
  patch: SessionPatch,
  /** the version we last saw: saves the first read when nobody else wrote since */
  knownVersion?: number,
): Promise<SessionRecord | undefined> {
  let version = knownVersion;
  for (let attempt = 1; ; attempt++) {
    if (version === undefined) {
      const cur = await registry.getSession(id);
      if (!cur) return undefined;
      version = cur.version;
    }
    try {
      return await registry.updateSession(id, version, patch);
    } catch (e) {
      if ((e instanceof ConflictError || e instanceof NotFoundError) && attempt < ATTEMPTS) {
        version = undefined; // re-read (a NotFound then ends the loop above)
        continue;
      }
      throw e;
    }
  }
}
