// One libopus encoder state behind OpusEncoder, on one of two backends — the same libopus API
// either way: the WASM build (opus-wasm.ts: everywhere, the same bits on every machine) or the
// native addon (opus-native.ts: about half the CPU per frame, where the platform has one).
// Which one a process uses is chosen once, at the node's start (RTCGW_OPUS_ENCODER, see
// selectOpusEncoder); decoding is always WASM (opus-native.ts says why).
import { CodecOptionsError, EncodeError } from "./errors.js";
import { loadOpusNative } from "./opus-native.js";
import { OPUS_CTL, opusWasm } from "./opus-wasm.js";
import type { OpusEncoderBackend, OpusEncoderState } from "./types.js";

export type { OpusEncoderBackend, OpusEncoderState };

export const OPUS_ENCODER_CHOICES = ["auto", "native", "wasm"] as const;
export type OpusEncoderChoice = (typeof OPUS_ENCODER_CHOICES)[number];

// Safety net: WASM state memory is freed if an encoder is garbage-collected without destroy().
const wasmFinalizer = new FinalizationRegistry<number>((ptr) => opusWasm().exports.free(ptr));

class WasmEncoderState implements OpusEncoderState {
  readonly backend = "wasm" as const;
  #ptr: number;

  constructor(rate: number, channels: 1 | 2, application: number) {
    const w = opusWasm().exports;
    this.#ptr = w.malloc(w.opus_encoder_get_size(channels));
    const rc = w.opus_encoder_init(this.#ptr, rate, channels, application);
    if (rc < 0) {
      w.free(this.#ptr);
      throw new CodecOptionsError(`opus_encoder_init: ${opusWasm().strerror(rc)}`);
    }
    wasmFinalizer.register(this, this.#ptr, this);
  }

  #live(): number {
    if (this.#ptr === 0) throw new EncodeError("opus encoder used after destroy()");
    return this.#ptr;
  }

  set(cmd: number, value: number): void {
    const rc = opusWasm().exports.opus_encoder_ctl_set(this.#live(), cmd, value);
    if (rc < 0) throw new CodecOptionsError(`opus_encoder_ctl(${cmd}, ${value}): ${opusWasm().strerror(rc)}`);
  }

  get(cmd: number): number {
    return opusWasm().exports.opus_encoder_ctl_get(this.#live(), cmd);
  }

  encode(pcm: Int16Array, frameSize: number): Uint8Array {
    const out = opusWasm().encode(this.#live(), pcm, frameSize);
    if (typeof out === "number") throw new EncodeError(`opus_encode: ${opusWasm().strerror(out)}`);
    return out;
  }

  reset(): void {
    opusWasm().exports.opus_encoder_ctl_get(this.#live(), OPUS_CTL.RESET_STATE);
  }

  free(): void {
    if (this.#ptr === 0) return;
    wasmFinalizer.unregister(this);
    opusWasm().exports.free(this.#ptr);
    this.#ptr = 0;
  }
}

let backend: OpusEncoderBackend | undefined;

/**
 * Choose the process' encoder backend. "native" fails (CodecOptionsError naming why) when the
 * addon does not load — a node told to run native must not run WASM at twice the CPU unnoticed;
 * "auto" takes native when it loads and says why not otherwise (`fallback`).
 */
export function selectOpusEncoder(
  choice: OpusEncoderChoice,
  load: () => { file: string } | Error = loadOpusNative,
): { backend: OpusEncoderBackend; fallback?: string } {
  if (choice === "wasm") {
    backend = "wasm";
    return { backend };
  }
  const native = load();
  if (native instanceof Error) {
    if (choice === "native")
      throw new CodecOptionsError(`RTCGW_OPUS_ENCODER=native: ${native.message}; set it to wasm or auto`);
    backend = "wasm";
    return { backend, fallback: native.message };
  }
  backend = "native";
  return { backend };
}

/** the backend new encoders get: the one selected, or "auto"'s choice on first use */
export function opusEncoderBackend(): OpusEncoderBackend {
  return backend ?? selectOpusEncoder("auto").backend;
}

export function createOpusEncoderState(
  rate: number,
  channels: 1 | 2,
  application: number,
  which: OpusEncoderBackend = opusEncoderBackend(),
): OpusEncoderState {
  if (which === "wasm") return new WasmEncoderState(rate, channels, application);
  const native = loadOpusNative();
  if (native instanceof Error) throw new CodecOptionsError(native.message);
  return native.createEncoder(rate, channels, application);
}
