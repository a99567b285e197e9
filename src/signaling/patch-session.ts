// PATCH /v1/sessions/{id}: trickle ICE and ICE restart with application/trickle-ice-sdpfrag
// (RFC 9725 §4.3, RFC 8840). If-Match is required (428 without, 412 when stale; "*" matches any,
// which §4.3.2 prescribes for restarts), except on WHEP listeners (see below). Trickle → 204;
// restart → 200 + the answer fragment + a new ETag when the node can restart, else the node's 422
// (§4.3.2 allows it) is passed on. A session whose node is gone (no node record, or a node that
// neither answers nor heartbeats) is ended "node-lost" here, as GET, resume, DELETE and WHEP
// listeners end it, and answered 404 as a PATCH of an ended session is (the tombstone's reason
// says node-lost); a node that only fails to answer is marked suspect (502/504 + Retry-After).
import { sessionLogger } from "../log/index.js";
import { NodeRefusedError } from "./control-client.js";
import type { SignalingDeps } from "./deps.js";
import { HttpError } from "./errors.js";
import { ifMatchMatches, quoteEtag } from "./etag.js";
import { endLostSession, nodeGone } from "./node-liveness.js";
import { updateSessionRecord } from "./record-update.js";
import { type Event, header } from "./request.js";
import { type Result, result } from "./response.js";
import { checkSdpFrag, sdpBody } from "./sdp-checks.js";
import { ownedSession, sessionEnded, sessionNotFound } from "./session-resource.js";

export async function patchSession(deps: SignalingDeps, event: Event): Promise<Result> {
  const record = await ownedSession(deps, event);
  const log = sessionLogger(deps.logger, record.id, { nodeId: record.nodeId });
  const sdpfrag = sdpBody(event, "application/trickle-ice-sdpfrag");
  checkSdpFrag(sdpfrag);
  const ifMatch = header(event, "if-match");
  // A WHEP listener's PATCH without If-Match is taken as aimed at the current ETag: the WHEP
  // client most in use (medooze whep.js) never keeps the ETag of its 201, and ours changes only
  // on an ICE restart, which the node refuses. WHIP and two-way sessions keep RFC 9725's rule.
  if (!ifMatch && record.kind !== "whep")
    throw new HttpError(428, "if-match-required", "PATCH needs If-Match with the session's ETag (or *)");
  if (ifMatch && !ifMatchMatches(ifMatch, record.etag))
    throw new HttpError(412, "etag-mismatch", "If-Match does not match the session's current ETag", {
      etag: quoteEtag(record.etag),
    });
  const lost = async () => {
    const t = await endLostSession(deps, record, log);
    log.info({ status: 404 }, "PATCH of a session whose media node is gone");
    return t ? sessionEnded(t) : sessionNotFound();
  };
  const node = await deps.registry.getNode(record.nodeId);
  if (!node) throw await lost();
  let restart: Awaited<ReturnType<typeof deps.control.patchSession>>;
  try {
    restart = await deps.control.patchSession(node, record.id, sdpfrag);
  } catch (e) {
    if (e instanceof NodeRefusedError && e.status === 404) await deps.registry.deleteSession(record.id);
    if (await nodeGone(deps, node, e, log)) throw await lost();
    throw e;
  }
  if (!restart) {
    log.debug("trickle candidates forwarded");
    return result(204);
  }
  await updateSessionRecord(deps.registry, record.id, { etag: restart.etag });
  log.info("ICE restarted");
  return result(
    200,
    { "content-type": "application/trickle-ice-sdpfrag", etag: quoteEtag(restart.etag) },
    restart.sdpfrag,
  );
}
