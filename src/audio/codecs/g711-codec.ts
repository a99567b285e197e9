// PCMU / PCMA (RFC 3551 §4.5.14: 8 kHz, mono, one byte per sample) behind the codec interfaces.

import { CodecDestroyedError, CodecOptionsError, DecodeError } from "./errors.js";
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from "./g711.js";
import { G711Concealer } from "./g711-plc.js";
import type { AudioDecoder, AudioEncoder } from "./types.js";

export const G711_RATE = 8000;

type Law = "pcmu" | "pcma";

export class G711Decoder implements AudioDecoder {
  readonly rate = G711_RATE;
  readonly channels = 1 as const;
  private destroyed = false;
  private readonly plc = new G711Concealer();

  constructor(readonly codec: Law) {}

  decode(payload: Uint8Array): Int16Array {
    if (this.destroyed) throw new CodecDestroyedError();
    if (payload.length === 0) throw new DecodeError(`empty ${this.codec} payload`);
    return this.plc.accept(this.codec === "pcmu" ? decodeUlaw(payload) : decodeAlaw(payload));
  }

  /** pitch-repetition PLC after G.711 Appendix I: fades to silence by 60 ms of loss */
  conceal(samples: number): Int16Array {
    if (this.destroyed) throw new CodecDestroyedError();
    if (!Number.isInteger(samples) || samples <= 0) {
      throw new CodecOptionsError(`conceal size must be a positive integer, got ${samples}`);
    }
    return this.plc.conceal(samples);
  }

  reset(): void {
    this.plc.reset();
  }

  destroy(): void {
    this.destroyed = true;
  }
}

export class G711Encoder implements AudioEncoder {
  readonly rate = G711_RATE;
  readonly channels = 1 as const;
  private destroyed = false;

  constructor(readonly codec: Law) {}

  /** any number of samples: G.711 is sample-by-sample (20 ms = 160 samples in WebRTC) */
  encode(pcm: Int16Array): Uint8Array {
    if (this.destroyed) throw new CodecDestroyedError();
    return this.codec === "pcmu" ? encodeUlaw(pcm) : encodeAlaw(pcm);
  }

  reset(): void {}

  destroy(): void {
    this.destroyed = true;
  }
}
