// GET /v1/sessions/{id}: the session's status as JSON — the registry record merged with the
// node's live view (state, packet counters, loss, concealment, RTT, recording file names).
import { basename, isAbsolute, relative, resolve } from "node:path";
import type { SessionStatus } from "../control/contract.js";
import type { SignalingDeps } from "./deps.js";
import { quoteEtag } from "./etag.js";
import type { Event } from "./request.js";
import { json, type Result } from "./response.js";
import { ownedSession } from "./session-resource.js";

/** status reads are cheap; a slow node should not hold the caller long */
const STATUS_TIMEOUT_MS = 2_000;

export async function getSession(deps: SignalingDeps, event: Event): Promise<Result> {
  const record = await ownedSession(deps, event);
  const node = await deps.registry.getNode(record.nodeId);
  let live: SessionStatus | undefined;
  let nodeReachable = false;
  if (node) {
    try {
      live = await deps.control.sessionStatus(node, record.id, STATUS_TIMEOUT_MS);
      nodeReachable = true;
    } catch (e) {
      deps.logger.debug({ sessionId: record.id, err: (e as Error).message }, "no live status from the node");
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
              ogg: recordingName(deps.config.RECORDINGS_DIR, live.recording.ogg),
            },
          }
        : {}),
    },
    { etag: quoteEtag(record.etag) },
  );
}

/** A recording's path relative to RECORDINGS_DIR ("/"-separated, as the dev server serves it);
 *  never the node's absolute layout. Outside the directory: the file name only. */
function recordingName(dir: string, file: string): string {
  const rel = relative(resolve(dir), resolve(file));
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return basename(file);
  return rel.split(/[\\/]/).join("/");
}
