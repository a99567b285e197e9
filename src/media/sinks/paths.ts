// Recording file names come from session ids only, and always land inside RECORDINGS_DIR.
import { resolve, sep } from "node:path";
import { ensureDir } from "../preflight.js";
import { InvalidSessionIdError, PathOutsideRecordingsDirError } from "./errors.js";

/** what a session id may contain to name a file (a guard, looser than the control contract's
 *  SESSION_ID_RE, which every session id of the node already passed): base64url, nothing else */
export const SESSION_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

export function assertSessionId(sessionId: unknown): asserts sessionId is string {
  if (typeof sessionId !== "string" || !SESSION_ID_RE.test(sessionId))
    throw new InvalidSessionIdError(sessionId);
}

/**
 * `<dir>/<sessionId><suffix>`, resolved and checked to be inside `dir` (belt and braces: the id
 * charset already excludes `/`, `\`, `.` sequences and NUL). Creates `dir` if missing.
 */
export function recordingPath(dir: string, sessionId: string, suffix: ".wav" | ".ogg"): string {
  assertSessionId(sessionId);
  const root = resolve(dir);
  const path = resolve(root, `${sessionId}${suffix}`);
  if (!path.startsWith(root + sep)) throw new PathOutsideRecordingsDirError(path, root);
  ensureDir(root);
  return path;
}
