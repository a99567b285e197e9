// A thin binding to the libopus WebAssembly build that ships inside `@evan/opus`
// (node_modules/@evan/opus/wasm/{simd,opus}.wasm).
//
// Why not the package's own JS classes: its `Decoder.decode()` always calls
// `opus_decode(…, frame_size = 5760, decode_fec = 0)`. A packet-loss concealment call
// (empty payload) therefore synthesises 120 ms instead of one 20 ms frame, and in-band FEC
// (`decode_fec = 1`) cannot be reached at all. The module itself exports `opus_decode` with
// both arguments, so we instantiate the very same .wasm the package would load (choosing the
// SIMD build exactly as it does) and call the libopus C API directly. This also forces WASM:
// the package's native `.node` addon is never loaded.
//
// One instance hosts every encoder/decoder of the process (like the package does); calls are
// synchronous, so two shared scratch buffers are enough.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { DecodeError } from "./errors.js";

/** libopus error codes (opus_defines.h) */
export const OPUS_OK = 0;
export const OPUS_INVALID_PACKET = -4;

/** CTL request numbers (opus_defines.h) */
export const OPUS_CTL = {
  SET_APPLICATION: 4000,
  SET_BITRATE: 4002,
  GET_BITRATE: 4003,
  SET_COMPLEXITY: 4010,
  GET_COMPLEXITY: 4011,
  SET_INBAND_FEC: 4012,
  GET_INBAND_FEC: 4013,
  SET_PACKET_LOSS_PERC: 4014,
  GET_PACKET_LOSS_PERC: 4015,
  SET_MAX_BANDWIDTH: 4004,
  GET_MAX_BANDWIDTH: 4005,
  SET_DTX: 4016,
  GET_DTX: 4017,
  SET_SIGNAL: 4024,
  RESET_STATE: 4028,
  GET_LAST_PACKET_DURATION: 4039,
  GET_IN_DTX: 4049,
} as const;

export const OPUS_APPLICATION = { voip: 2048, audio: 2049, lowdelay: 2051 } as const;
export const OPUS_SIGNAL_VOICE = 3001;
/** OPUS_BANDWIDTH_* (opus_defines.h): the audio bandwidth an encoder may code, up to */
export const OPUS_BANDWIDTH = {
  narrowband: 1101, // 4 kHz
  mediumband: 1102, // 6 kHz
  wideband: 1103, // 8 kHz
  superwideband: 1104, // 12 kHz
  fullband: 1105, // 20 kHz
} as const;

/** largest PCM block libopus returns: 120 ms at 48 kHz */
export const OPUS_MAX_FRAME = 5760;
/** largest packet we hand to the decoder / accept from the encoder (RFC 6716 §3.4: R5 ≤ 1275 per frame) */
export const OPUS_MAX_PACKET = 8192;

interface OpusExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  opus_strerror(code: number): number;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, rate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, fec: number): number;
  opus_decoder_ctl_set(st: number, cmd: number, arg: number): number;
  opus_decoder_ctl_get(st: number, cmd: number): number;
  opus_encoder_get_size(channels: number): number;
  opus_encoder_init(st: number, rate: number, channels: number, application: number): number;
  opus_encode(st: number, pcm: number, frameSize: number, data: number, maxBytes: number): number;
  opus_encoder_ctl_set(st: number, cmd: number, arg: number): number;
  opus_encoder_ctl_get(st: number, cmd: number): number;
}

// The probe the package uses to decide whether the engine has SIMD128: a tiny module whose one
// function uses a v128 instruction (magic, version 1, type () -> (), body: i32.const 0;
// i8x16.splat; drop).
// biome-ignore format: bytes read best as one line
export const SIMD_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11);

export interface OpusWasmInfo {
  /** absolute path of the .wasm file that was instantiated */
  file: string;
  simd: boolean;
}

class OpusWasm {
  readonly exports: OpusExports;
  readonly info: OpusWasmInfo;
  private readonly packetPtr: number;
  private readonly pcmPtr: number;
  private heap: Uint8Array;

  constructor() {
    const require = createRequire(import.meta.url);
    const simd = WebAssembly.validate(SIMD_PROBE);
    const file = require.resolve(`@evan/opus/wasm/${simd ? "simd" : "opus"}.wasm`);
    const module = new WebAssembly.Module(readFileSync(file));
    // The module is an emscripten "reactor": it only imports no-op WASI stubs and a growth hook.
    const instance = new WebAssembly.Instance(module, {
      wasi_snapshot_preview1: { fd_seek() {}, fd_write() {}, fd_close() {}, proc_exit() {} },
      env: { emscripten_notify_memory_growth: () => this.refreshHeap() },
    });
    this.exports = instance.exports as unknown as OpusExports;
    this.info = { file, simd };
    this.heap = new Uint8Array(this.exports.memory.buffer);
    this.packetPtr = this.exports.malloc(OPUS_MAX_PACKET);
    this.pcmPtr = this.exports.malloc(OPUS_MAX_FRAME * 2 * 2);
    this.refreshHeap();
  }

  private refreshHeap(): void {
    this.heap = new Uint8Array(this.exports.memory.buffer);
  }

  private view(): Uint8Array {
    // memory.grow detaches the old buffer; the growth hook refreshes, this is the belt to its braces
    if (this.heap.byteLength === 0) this.refreshHeap();
    return this.heap;
  }

  strerror(code: number): string {
    const heap = this.view();
    let s = "";
    for (let p = this.exports.opus_strerror(code); p < heap.length && heap[p] !== 0; p++) {
      s += String.fromCharCode(heap[p]);
    }
    return s;
  }

  /**
   * opus_decode(): `payload` null (or empty) asks for concealment of `frameSize` samples per
   * channel (must be a multiple of 2.5 ms); `fec` decodes the in-band FEC (LBRR) copy of the
   * *previous* frame carried in `payload` (RFC 6716 §2.1.7, opus_decode `decode_fec`).
   */
  decode(
    st: number,
    channels: number,
    payload: Uint8Array | null,
    frameSize: number,
    fec: boolean,
  ): Int16Array {
    const n = this.#decodeRaw(st, payload, frameSize, fec);
    const heap = this.view();
    const out = new Int16Array(n * channels);
    // copy out of the shared scratch (the next call overwrites it)
    new Uint8Array(out.buffer).set(heap.subarray(this.pcmPtr, this.pcmPtr + out.byteLength));
    return out;
  }

  /**
   * decode() into the caller's `out` (interleaved, from index 0) instead of a fresh array: a
   * receiver decoding 50 packets a second per call reuses one buffer rather than allocating an
   * off-heap backing store per packet (issue 18: GC and malloc on the record path). `out` must
   * hold `frameSize × channels` samples. Returns the samples per channel written.
   */
  decodeInto(
    st: number,
    channels: number,
    payload: Uint8Array | null,
    frameSize: number,
    fec: boolean,
    out: Int16Array,
  ): number {
    if (out.length < frameSize * channels)
      throw new RangeError(`decode buffer of ${out.length} samples < ${frameSize} × ${channels}`);
    const n = this.#decodeRaw(st, payload, frameSize, fec);
    const heap = this.view();
    new Uint8Array(out.buffer, out.byteOffset, n * channels * 2).set(
      heap.subarray(this.pcmPtr, this.pcmPtr + n * channels * 2),
    );
    return n;
  }

  /** opus_decode into the shared PCM scratch; returns samples per channel (throws on error) */
  #decodeRaw(st: number, payload: Uint8Array | null, frameSize: number, fec: boolean): number {
    const len = payload ? payload.length : 0;
    if (len > OPUS_MAX_PACKET)
      throw new DecodeError(`opus payload of ${len} bytes exceeds ${OPUS_MAX_PACKET}`);
    if (payload && len > 0) this.view().set(payload, this.packetPtr);
    const n = this.exports.opus_decode(
      st,
      len > 0 ? this.packetPtr : 0,
      len,
      this.pcmPtr,
      frameSize,
      fec ? 1 : 0,
    );
    if (n < 0) throw new DecodeError(`opus_decode: ${this.strerror(n)}`, n);
    return n;
  }

  /** opus_encode(): returns a fresh copy of the packet */
  encode(st: number, pcm: Int16Array, frameSize: number): number | Uint8Array {
    const heap = this.view();
    heap.set(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength), this.pcmPtr);
    const n = this.exports.opus_encode(st, this.pcmPtr, frameSize, this.packetPtr, OPUS_MAX_PACKET);
    if (n < 0) return n;
    return this.view().slice(this.packetPtr, this.packetPtr + n);
  }
}

let shared: OpusWasm | undefined;

/** the process-wide libopus WASM instance (instantiated on first use, synchronously) */
export function opusWasm(): OpusWasm {
  shared ??= new OpusWasm();
  return shared;
}

export type { OpusWasm };
