// Typed errors of the media node. Each carries the HTTP status the control API answers with
// (and the signaling passes on) and a sentence a person can act on.

/** the longest reason a client is answered (and the log gets): a library's message about an offer
 *  may quote a whole line of it — libdatachannel quoted a 59 KB b= line, twice logged per request */
export const MAX_REASON_CHARS = 400;

export class MediaNodeError extends Error {
  override name = "MediaNodeError";
  /** what went wrong, for a person (at most MAX_REASON_CHARS) */
  readonly reason: string;
  constructor(
    /** machine-readable code, the `error` field of a ControlError */
    readonly code: string,
    /** HTTP status for the control API */
    readonly status: number,
    reason: string,
  ) {
    const cut =
      reason.length > MAX_REASON_CHARS
        ? `${Array.from(reason)
            .slice(0, MAX_REASON_CHARS - 1)
            .join("")}…`
        : reason;
    super(cut);
    this.reason = cut;
  }
}

/** The offer cannot be parsed (400), is too large (413) or asks for something we do not do (422). */
export class OfferError extends MediaNodeError {
  override name = "OfferError";
  static malformed(reason: string) {
    return new OfferError("malformed-sdp", 400, reason);
  }
  static tooLarge(bytes: number, max: number) {
    return new OfferError("sdp-too-large", 413, `the offer is ${bytes} bytes; at most ${max} are accepted`);
  }
  static unsupported(reason: string) {
    return new OfferError("unsupported-offer", 422, reason);
  }
}

/** Draining or at capacity: the signaling should pick another node (503 + Retry-After). */
export class NodeUnavailableError extends MediaNodeError {
  override name = "NodeUnavailableError";
}

export class SessionNotFoundError extends MediaNodeError {
  override name = "SessionNotFoundError";
  constructor(id: string) {
    super("session-not-found", 404, `no session ${id} on this node`);
  }
}

export class SessionExistsError extends MediaNodeError {
  override name = "SessionExistsError";
  constructor(id: string) {
    super("session-exists", 409, `session ${id} already exists on this node`);
  }
}

/** RFC 9725 §4.4.1.2: a server that cannot restart ICE answers 422 (or 405/501). */
export class RestartUnsupportedError extends MediaNodeError {
  override name = "RestartUnsupportedError";
  constructor() {
    super(
      "ice-restart-unsupported",
      422,
      "this media node (libdatachannel) cannot restart ICE; end the session and post a new offer",
    );
  }
}

/** A bad trickle fragment (RFC 8840 sdpfrag) or one that names no m-line we know. */
export class TrickleError extends MediaNodeError {
  override name = "TrickleError";
  constructor(reason: string) {
    super("bad-sdpfrag", 400, reason);
  }
}

/** The source session of a WHEP listener is unknown or has no incoming audio. */
export class SourceNotFoundError extends MediaNodeError {
  override name = "SourceNotFoundError";
  constructor(id: string) {
    super("source-not-found", 404, `no session ${id} on this node to listen to`);
  }
}

/** A resume to a session that has ended (or is ending): the client starts a new session (410). */
export class SessionGoneError extends MediaNodeError {
  override name = "SessionGoneError";
  constructor(id: string, why: string) {
    super("session-ended", 410, `session ${id} has ended (${why}); start a new session`);
  }
}

/** A WHEP listener asked to listen to another listener: a listener only sends, it has no incoming
 *  audio, so the call would connect and stay silent (422, as for any offer we cannot serve). */
/** A source session that has as many WHEP listeners as RTCGW_WHEP_MAX_LISTENERS allows. */
export class TooManyListenersError extends MediaNodeError {
  override name = "TooManyListenersError";
  constructor(id: string, has: number, max: number) {
    super(
      "too-many-listeners",
      429,
      max === 0
        ? "this gateway takes no WHEP listeners (RTCGW_WHEP_MAX_LISTENERS=0)"
        : `session ${id} has ${has} WHEP listeners, the most this gateway allows (RTCGW_WHEP_MAX_LISTENERS=${max}): end one first`,
    );
  }
}

export class SourceIsListenerError extends MediaNodeError {
  override name = "SourceIsListenerError";
  constructor(id: string) {
    super(
      "source-is-listener",
      422,
      `session ${id} is a WHEP listener; it has no incoming audio to listen to: listen to its source session instead`,
    );
  }
}
