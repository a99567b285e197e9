// Typed errors of the sinks. A bad session id or a path outside RECORDINGS_DIR never creates a file.

export class SinkError extends Error {
  override name = "SinkError";
}

/** the session id has characters outside [A-Za-z0-9_-] or a bad length: it cannot name a file */
export class InvalidSessionIdError extends SinkError {
  override name = "InvalidSessionIdError";
  constructor(readonly sessionId: unknown) {
    super(`session id ${JSON.stringify(String(sessionId)).slice(0, 80)} is not a valid recording name`);
  }
}

/** the resolved recording path would leave the recordings directory */
export class PathOutsideRecordingsDirError extends SinkError {
  override name = "PathOutsideRecordingsDirError";
  constructor(
    readonly path: string,
    readonly dir: string,
  ) {
    super(`recording path ${path} is outside ${dir}`);
  }
}

/** a frame whose rate or channel count is not the recorder's */
export class FrameFormatError extends SinkError {
  override name = "FrameFormatError";
}

/** write after close */
export class SinkClosedError extends SinkError {
  override name = "SinkClosedError";
  constructor(what: string) {
    super(`${what} is closed`);
  }
}
