// GET /v1/sessions/{id}: the session's status as JSON — the registry record merged with the
// node's live view (state, packet counters, loss, concealment, RTT, recording file names). An
// ended session (its tombstone still kept) is `state: "ended"` with why and when; a session whose
// node is gone (no node record, or a node that neither answers nor heartbeats) is ended here
// with reason "node-lost".
import { basename, isAbsolute, relative, resolve } from "node:path";
import type { SessionStatus } from "../control/contract.js";
import { sessionLogger } from "../log/index.js";
import type { SessionTombstone } from "../registry/types.js";
import type { SignalingDeps } from "./deps.js";
import { quoteEtag } from "./etag.js";
import { endLostSession, nodeGone } from "./node-liveness.js";
import type { Event } from "./request.js";
import { json, type Result } from "./response.js";
import { findOwnedSession, sessionNotFound } from "./session-resource.js";

/** status reads are cheap; a slow node should not hold the caller long */
const STATUS_TIMEOUT_MS = 2_000;

export async function getSession(deps: SignalingDeps, event: Event): Promise<Result> {
  const found = await findOwnedSession(deps, event);
  if (!found.record) {
    if (found.tombstone) return ended(found.tombstone);
    throw sessionNotFound();
  }
  const record = found.record;
  const log = sessionLogger(deps.logger, record.id, { nodeId: record.nodeId });
  const node = await deps.registry.getNode(record.nodeId);
  if (!node) {
    const t = await endLostSession(deps, record, log);
    if (t) return ended(t);
    throw sessionNotFound();
  }
  let live: SessionStatus | undefined;
  let nodeReachable = false;
  try {
    live = await deps.control.sessionStatus(node, record.id, STATUS_TIMEOUT_MS);
    nodeReachable = true;
  } catch (e) {
    log.debug({ err: (e as Error).message }, "no live status from the node");
    // silent and no heartbeat: the node is gone, and the session's media with it
    if (await nodeGone(deps, node, e, log)) {
      const t = await endLostSession(deps, record, log);
      if (t) return ended(t);
      throw sessionNotFound();
    }
  }
  return json(
    200,
    {
      id: record.id,
      kind: record.kind,
      profile: record.profile,
      state: live?.state ?? record.state,
      nodeId: record.nodeId,
      nodeReachable,
      createdAt: record.createdAt,
      ...(live?.connectedAt ? { connectedAt: live.connectedAt } : {}),
      // interrupted (its peer lost): since when, why, and until when a resume is taken
      ...(live?.interruptedAt
        ? { interruptedAt: live.interruptedAt, resumeBy: live.resumeBy, interruptedBy: live.interruptedBy }
        : {}),
      ...(live?.resumes ? { resumes: live.resumes } : {}),
      expiresAt: record.expiresAt,
      ...(record.sourceSessionId ? { sourceSessionId: record.sourceSessionId } : {}),
      ...(live ? { stats: live.stats } : {}),
      ...(live?.bridge ? { bridge: live.bridge } : {}),
      // the recording stopped early (the disk refused a write): the client should know
      ...(live?.recordingError ? { recordingError: live.recordingError } : {}),
      ...(live?.recording
        ? {
            recording: {
              wav: recordingName(deps.config.RECORDINGS_DIR, live.recording.wav),
              ...(live.recording.ogg
                ? { ogg: recordingName(deps.config.RECORDINGS_DIR, live.recording.ogg) }
                : {}),
            },
          }
        : {}),
      ...(live?.objects ? { objects: live.objects } : {}),
    },
    { etag: quoteEtag(record.etag) },
  );
}

/** The status of an ended session: its tombstone (why and when). */
function ended(t: SessionTombstone): Result {
  return json(200, {
    id: t.id,
    kind: t.kind,
    state: "ended",
    endReason: t.reason,
    endedAt: t.endedAt,
    nodeId: t.nodeId,
  });
}

/** A recording's path relative to RECORDINGS_DIR ("/"-separated, as the dev server serves it);
 *  never the node's absolute layout. Outside the directory: the file name only. */
function recordingName(dir: string, file: string): string {
  const rel = relative(resolve(dir), resolve(file));
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return basename(file);
  return rel.split(/[\\/]/).join("/");
}
