// Typed signaling errors. Each carries the HTTP status, a machine-readable code and a sentence a
// person can act on; response.ts turns them into results. Never put a secret into `reason`.

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(reason);
  }
}

export const badRequest = (code: string, reason: string) => new HttpError(400, code, reason);

/** RFC 9110 §15.5.2: 401 carries a challenge. */
export const unauthorized = (reason: string) =>
  new HttpError(401, "unauthorized", reason, { "www-authenticate": 'Bearer realm="rtcgw"' });

export const forbidden = (reason: string) => new HttpError(403, "forbidden", reason);

export const notFound = (reason: string) => new HttpError(404, "not-found", reason);

/** 415 naming the type taken: in Accept-Patch for a PATCH (RFC 5789 §2.2: what a client written
 *  from the RFCs reads there), in Accept for a POST (RFC 9110 §15.5.16) */
export const unsupportedMediaType = (expected: string, got: string | undefined) =>
  new HttpError(
    415,
    "unsupported-media-type",
    `the body must be ${expected}${got ? ` (got ${got.slice(0, 80)})` : " (no Content-Type)"}`,
    expected === "application/trickle-ice-sdpfrag"
      ? { accept: expected, "accept-patch": expected }
      : { accept: expected },
  );

/**
 * Seconds in the Retry-After (RFC 9110 §10.2.3) of every 5xx a retry may cure: 503 (no node,
 * a node's refusal without its own value, the registry), 502 (node unreachable, a node's own
 * 5xx) and 504 (node timeout). The one 5xx without it is the 502 of a node secret mismatch: an
 * operator's problem no retry changes.
 */
export const RETRY_AFTER_S = 5;
export const retryAfter = (s = RETRY_AFTER_S) => ({ "retry-after": String(s) });

/** No media node can take the session now. */
export const serviceUnavailable = (reason: string, retryAfterS = RETRY_AFTER_S) =>
  new HttpError(503, "no-media-node", reason, retryAfter(retryAfterS));

/** The media node did not answer within the control timeout. */
export class NodeTimeoutError extends HttpError {
  override name = "NodeTimeoutError";
  constructor(timeoutMs: number) {
    super(
      504,
      "media-node-timeout",
      `the media node did not answer within ${timeoutMs} ms; try again`,
      retryAfter(),
    );
  }
}

/** The media node could not be reached at all (connection refused, reset, DNS…). */
export class NodeUnreachableError extends HttpError {
  override name = "NodeUnreachableError";
  constructor() {
    super(502, "media-node-unreachable", "the media node could not be reached; try again", retryAfter());
  }
}

/** RFC 9110 §15.5.11: the session existed and is over for good (a resume comes too late). */
export const gone = (reason: string) => new HttpError(410, "session-ended", reason);

const aboutSessions = new WeakMap<object, string>();

/** `e`, marked as being about `sessionId` where the route names none (a create that failed once
 *  its session's id was drawn): the request's error line carries it (dispatch.ts) */
export function aboutSession<E>(e: E, sessionId: string): E {
  if (typeof e === "object" && e !== null) aboutSessions.set(e, sessionId);
  return e;
}

/** the session `aboutSession` marked `e` with, if any */
export function sessionOfError(e: unknown): string | undefined {
  return typeof e === "object" && e !== null ? aboutSessions.get(e) : undefined;
}
