// POST /v1/sessions/{id}/resume (an rtcgw extension; RFC 9725 has no such route): a client whose
// network changed re-offers to its own session and gets a new peer under it — same id, Location,
// recording, WHEP listeners and bridge socket. Authenticated like the session resource (the
// creator's Bearer or the Rtcgw-Session-Token), the same SDP rules as a new offer, routed through
// the registry to the node that owns the session, whichever function instance takes it.
// 200 + the answer + a new ETag; 410 Gone (with the reason) when the session has ended or its
// node is gone: the client starts a new session. A node that does not answer is judged as GET
// judges it: marked suspect, and gone (410, the session ended "node-lost") once it has also
// missed its heartbeat — a node killed mid-call answered its callers' resumes 502 "try again"
// until its record expired (up to 15 s), where nothing would ever answer them.
import { randomBytes } from "node:crypto";
import { sessionLogger } from "../log/index.js";
import { NodeRefusedError } from "./control-client.js";
import type { SignalingDeps } from "./deps.js";
import { gone } from "./errors.js";
import { quoteEtag } from "./etag.js";
import { iceServerLinks } from "./ice-servers.js";
import { endLostSession, nodeGone } from "./node-liveness.js";
import { updateSessionRecord } from "./record-update.js";
import { basePath, type Event } from "./request.js";
import { type Result, result } from "./response.js";
import { checkOffer, sdpBody } from "./sdp-checks.js";
import { findOwnedSession, sessionNotFound } from "./session-resource.js";

export async function resumeSession(deps: SignalingDeps, event: Event): Promise<Result> {
  const found = await findOwnedSession(deps, event);
  if (!found.record) {
    // an ended session's tombstone (checked against the caller's credential by findOwnedSession)
    // says how it ended; the creator's token recognises its id even after the tombstone expired
    if (found.tombstone)
      throw gone(
        `the session has ended (${found.tombstone.reason} at ${new Date(found.tombstone.endedAt).toISOString()}); start a new session`,
      );
    if (found.creator)
      throw gone(
        "the session has ended (no resume within its window, or it was closed); start a new session",
      );
    throw sessionNotFound();
  }
  const record = found.record;
  const log = sessionLogger(deps.logger, record.id, { nodeId: record.nodeId });
  const offer = sdpBody(event, "application/sdp");
  checkOffer(offer);
  const node = await deps.registry.getNode(record.nodeId);
  if (!node) {
    await endLostSession(deps, record, log);
    log.info({ status: 410 }, "resume of a session whose media node is gone");
    throw gone("the media node of this session is gone; start a new session");
  }
  const etag = randomBytes(8).toString("hex");
  let r: Awaited<ReturnType<typeof deps.control.resumeSession>>;
  try {
    r = await deps.control.resumeSession(node, record.id, { offer, etag });
  } catch (e) {
    if (e instanceof NodeRefusedError && (e.status === 404 || e.status === 410)) {
      await deps.registry.deleteSession(record.id);
      if (e.status === 404) throw gone("the session has ended on its media node; start a new session");
    }
    if (await nodeGone(deps, node, e, log)) {
      await endLostSession(deps, record, log);
      log.info({ status: 410 }, "resume of a session whose media node is gone");
      throw gone("the media node of this session is gone; start a new session");
    }
    throw e;
  }
  // the version we read: one registry round trip fewer unless the node wrote meanwhile
  await updateSessionRecord(deps.registry, record.id, { etag: r.etag }, record.version);
  log.info({ status: 200 }, "session resumed");
  return result(
    200,
    {
      "content-type": "application/sdp",
      etag: quoteEtag(r.etag),
      location: `${basePath(event)}/v1/sessions/${record.id}`,
      "accept-patch": "application/trickle-ice-sdpfrag",
      // the new peer may need the node's TURN server as much as the first did
      ...iceServerLinks(deps.config, node, record.id, deps.now()),
    },
    r.answer,
  );
}
