// Typed errors of the codec layer. The receiver catches DecodeError and conceals instead.

export class CodecError extends Error {
  override name = "CodecError";
}

/** a codec name / rtpmap the gateway does not speak */
export class UnsupportedCodecError extends CodecError {
  override name = "UnsupportedCodecError";
  constructor(readonly codec: string) {
    super(`unsupported codec "${codec}" (supported: opus/48000, PCMU/8000, PCMA/8000)`);
  }
}

/** bad options: channels, rate, bitrate, complexity, frame size */
export class CodecOptionsError extends CodecError {
  override name = "CodecOptionsError";
}

/** a payload the decoder rejected (libopus OPUS_INVALID_PACKET, empty, too long) */
export class DecodeError extends CodecError {
  override name = "DecodeError";
  constructor(
    message: string,
    readonly opusCode?: number,
  ) {
    super(message);
  }
}

/** PCM the encoder cannot take (not exactly one supported frame), or a libopus failure */
export class EncodeError extends CodecError {
  override name = "EncodeError";
}

/** any call after destroy() */
export class CodecDestroyedError extends CodecError {
  override name = "CodecDestroyedError";
  constructor() {
    super("codec used after destroy()");
  }
}
