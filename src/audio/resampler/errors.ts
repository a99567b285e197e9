// Typed errors of the resampler face. Valid audio never throws; these are for caller mistakes.

export class ResamplerError extends Error {
  override name = "ResamplerError";
}

/** a rate outside 8, 16, 24, 32, 44.1, 48 kHz */
export class UnsupportedRateError extends ResamplerError {
  override name = "UnsupportedRateError";
  constructor(readonly rate: unknown) {
    super(`unsupported sample rate ${String(rate)} (supported: 8000, 16000, 24000, 32000, 44100, 48000)`);
  }
}

/** channels other than 1 or 2, downmix of mono input, unknown preset */
export class BadOptionsError extends ResamplerError {
  override name = "BadOptionsError";
}

/** interleaved input whose length is not a whole number of frames, or the wrong array type */
export class BadBufferLengthError extends ResamplerError {
  override name = "BadBufferLengthError";
  constructor(
    readonly length: number,
    readonly channels: number,
  ) {
    super(`input of ${length} samples is not a whole number of ${channels}-channel frames`);
  }
}

/** any call after destroy() */
export class DestroyedError extends ResamplerError {
  override name = "DestroyedError";
  constructor() {
    super("resampler used after destroy()");
  }
}

/** createResampler() before `await loadResampler()` */
export class NotLoadedError extends ResamplerError {
  override name = "NotLoadedError";
  constructor() {
    super("resampler WebAssembly module not loaded: await loadResampler() once before createResampler()");
  }
}
