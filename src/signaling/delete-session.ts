// DELETE /v1/sessions/{id} (RFC 9725 §4.2): end the session and free everything. The record is
// replaced by a tombstone (reason "deleted") even when the node cannot be reached: the session is
// over for the client, and a node that comes back (frozen, cut off) finds the tombstone when it
// refreshes its session records and ends the call instead of writing the record back
// (src/node/sessions/registry-sync.ts).
// DELETE is idempotent (RFC 9110 §9.2.2) for every credential that could control the session.
// Many WHIP clients close their peer connection before they send DELETE, and the node has ended
// the session by then: its tombstone (kept RTCGW_TOMBSTONE_TTL) still knows the session's token
// hash, so the session token gets 200 as the creator's token does; after the tombstone expired the
// creator's token is still recognised by the id (its tag). Anyone else gets 404 (or 403 while the
// tombstone says whose it was), as for any unknown id.
import { sessionLogger } from "../log/index.js";
import { NodeRefusedError } from "./control-client.js";
import type { SignalingDeps } from "./deps.js";
import type { Event } from "./request.js";
import { type Result, result } from "./response.js";
import { findOwnedSession, sessionNotFound } from "./session-resource.js";

export async function deleteSession(deps: SignalingDeps, event: Event): Promise<Result> {
  const found = await findOwnedSession(deps, event);
  if (!found.record) {
    if (!found.tombstone && !found.creator) throw sessionNotFound();
    sessionLogger(deps.logger, found.id).info(
      { endReason: found.tombstone?.reason },
      "DELETE of a session that had already ended",
    );
    return result(200);
  }
  const record = found.record;
  const log = sessionLogger(deps.logger, record.id, { nodeId: record.nodeId });
  const node = await deps.registry.getNode(record.nodeId);
  if (node) {
    try {
      await deps.control.deleteSession(node, record.id);
    } catch (e) {
      if (!(e instanceof NodeRefusedError && e.status === 404))
        log.warn({ err: (e as Error).message }, "the media node did not confirm the delete");
    }
  }
  // the node wrote the tombstone as it tore the peer down; this one is for a node that could not
  // (first end wins: the node's reason stays)
  await deps.registry.endSession(record.id, {
    reason: "deleted",
    ttlMs: deps.config.RTCGW_TOMBSTONE_TTL * 1000,
  });
  log.info("session deleted");
  return result(200);
}
