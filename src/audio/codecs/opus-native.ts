// The Opus *encoder* as native code: the prebuilt libopus addon `@evan/opus` ships beside its WASM
// (node_modules/@evan/opus/node/<arch>-<platform>.node: x64 and arm64 Linux, macOS, x64 Windows).
//
// Why: the encoder is most of an echo's or a bridged call's CPU, and native libopus (with the
// x86 SIMD paths libopus picks at run time) encodes a 20 ms voice frame at complexity 1 with
// in-band FEC in about 55 % of the WASM build's time (docs/benchmarks.md, "Opus encoder: native
// or WASM"). Why only the encoder: the addon's `Decoder.decode()` always decodes with
// frame_size 5760 and decode_fec 0 — no 20 ms concealment, no in-band FEC — so decoding stays on
// our own WASM binding (opus-wasm.ts), which reaches opus_decode's arguments.
//
// Two properties of the addon shape this file:
// - it writes every packet into one shared 8 KiB buffer (`buffers.encoder()`) and returns its
//   length, so encode() copies the packet out before the next call;
// - it frees an encoder's native state only when V8 collects the wrapper, and it does not tell
//   V8 how much native memory it holds (~44 KB each), so under churn the heap can look small while
//   thousands of dead encoders wait for a major GC. destroy() therefore returns the state to a
//   pool (reset with OPUS_RESET_STATE; every setting is applied again by the next user): the
//   native encoders alive are the most ever in use at once, whatever the GC does.
import { createRequire } from "node:module";
import { CodecOptionsError, EncodeError } from "./errors.js";
import { OPUS_CTL } from "./opus-wasm.js";
import type { OpusEncoderState } from "./types.js";

interface NativeEncoder {
  /** with a value: opus_encoder_ctl(st, cmd, value) → 0; without: a getter's value. Throws on an error code. */
  ctl(cmd: number, value?: number): number;
  /** encodes the whole of `pcm` (s16, interleaved) into the shared buffer; returns its length */
  encode(pcm: Int16Array): number;
}

interface NativeAddon {
  Encoder: new (o: { channels: number; sample_rate: number; application: string }) => NativeEncoder;
  buffers: { encoder(): Uint8Array };
}

/** libopus' application numbers (opus_defines.h) → the addon's names */
const APPLICATION_NAMES: Record<number, string> = {
  2048: "voip",
  2049: "audio",
  2051: "restricted_lowdelay",
};

/** dead encoders kept per (rate, channels, application) for the next session; beyond it they go to the GC */
const POOL_MAX = 2048;

export class OpusNative {
  readonly file: string;
  readonly #addon: NativeAddon;
  readonly #packet: Uint8Array;
  readonly #pool = new Map<string, NativeEncoder[]>();

  constructor(file: string, addon: NativeAddon) {
    this.file = file;
    this.#addon = addon;
    this.#packet = addon.buffers.encoder();
  }

  /** native encoders waiting in the pool (all keys) */
  get pooled(): number {
    let n = 0;
    for (const list of this.#pool.values()) n += list.length;
    return n;
  }

  createEncoder(rate: number, channels: 1 | 2, application: number): OpusEncoderState {
    const name = APPLICATION_NAMES[application];
    if (name === undefined) throw new CodecOptionsError(`unknown opus application ${application}`);
    const key = `${rate}/${channels}/${application}`;
    let enc = this.#pool.get(key)?.pop();
    if (!enc) {
      try {
        enc = new this.#addon.Encoder({ channels, sample_rate: rate, application: name });
      } catch (e) {
        throw new CodecOptionsError(
          `opus encoder (native) ${rate} Hz × ${channels}: ${(e as Error).message}`,
        );
      }
    }
    return new NativeEncoderState(this, key, enc);
  }

  /** copy the packet the addon just wrote (its buffer is shared by every encoder) */
  copyPacket(n: number): Uint8Array {
    const out = new Uint8Array(n);
    out.set(this.#packet.subarray(0, n));
    return out;
  }

  release(key: string, enc: NativeEncoder): void {
    let list = this.#pool.get(key);
    if (!list) {
      list = [];
      this.#pool.set(key, list);
    }
    if (list.length >= POOL_MAX) return;
    try {
      enc.ctl(OPUS_CTL.RESET_STATE, 0);
    } catch {
      return; // an encoder that cannot be reset is not reused
    }
    list.push(enc);
  }
}

class NativeEncoderState implements OpusEncoderState {
  readonly backend = "native" as const;
  #enc: NativeEncoder | undefined;

  constructor(
    private readonly owner: OpusNative,
    private readonly key: string,
    enc: NativeEncoder,
  ) {
    this.#enc = enc;
  }

  #live(): NativeEncoder {
    if (!this.#enc) throw new EncodeError("opus encoder used after destroy()");
    return this.#enc;
  }

  set(cmd: number, value: number): void {
    try {
      this.#live().ctl(cmd, value);
    } catch (e) {
      throw new CodecOptionsError(`opus_encoder_ctl(${cmd}, ${value}): ${(e as Error).message}`);
    }
  }

  get(cmd: number): number {
    const enc = this.#live();
    try {
      return enc.ctl(cmd);
    } catch (e) {
      throw new CodecOptionsError(`opus_encoder_ctl(${cmd}): ${(e as Error).message}`);
    }
  }

  encode(pcm: Int16Array): Uint8Array {
    let n: number;
    try {
      n = this.#live().encode(pcm);
    } catch (e) {
      throw new EncodeError(`opus_encode: ${(e as Error).message}`);
    }
    return this.owner.copyPacket(n);
  }

  reset(): void {
    const enc = this.#live();
    try {
      enc.ctl(OPUS_CTL.RESET_STATE, 0);
    } catch (e) {
      throw new EncodeError(`opus_encoder_ctl(RESET_STATE): ${(e as Error).message}`);
    }
  }

  free(): void {
    const enc = this.#enc;
    if (!enc) return;
    this.#enc = undefined;
    this.owner.release(this.key, enc);
  }
}

let loaded: OpusNative | Error | undefined;

/**
 * The addon for this platform, loaded once; an Error (kept) when there is none for this
 * platform or it does not load — the caller decides whether that is fatal (RTCGW_OPUS_ENCODER).
 */
export function loadOpusNative(): OpusNative | Error {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    const file = require.resolve(`@evan/opus/node/${process.arch}-${process.platform}.node`);
    const addon = require(file) as NativeAddon;
    if (typeof addon?.Encoder !== "function" || typeof addon.buffers?.encoder !== "function")
      throw new Error(`${file} is not the expected @evan/opus addon (no Encoder / buffers.encoder)`);
    loaded = new OpusNative(file, addon);
  } catch (e) {
    loaded = new Error(
      `no native Opus encoder for ${process.arch}-${process.platform}: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return loaded;
}
