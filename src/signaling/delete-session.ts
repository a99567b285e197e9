// DELETE /v1/sessions/{id} (RFC 9725 §4.2): end the session and free everything. The record is
// removed even when the node cannot be reached: the session is over for the client, and a node
// that comes back tears the peer down itself when it stops receiving (watchdog).
import { sessionLogger } from "../log/index.js";
import { NodeRefusedError } from "./control-client.js";
import type { SignalingDeps } from "./deps.js";
import type { Event } from "./request.js";
import { type Result, result } from "./response.js";
import { ownedSession } from "./session-resource.js";

export async function deleteSession(deps: SignalingDeps, event: Event): Promise<Result> {
  const record = await ownedSession(deps, event);
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
  await deps.registry.deleteSession(record.id);
  log.info("session deleted");
  return result(200);
}
