// The typed face of the Rust/WASM resampler (wasm/resampler): validation, typed errors, lifetime.
// The DSP itself, its latency and its exact output length are the crate's (see docs/resampler.md).

import {
  load,
  type RawResampler,
  type ResamplerModule,
  simdSupported,
} from "../../../wasm/resampler/pkg/rtcgw_resampler.js";
import {
  BadBufferLengthError,
  BadOptionsError,
  DestroyedError,
  NotLoadedError,
  UnsupportedRateError,
} from "./errors.js";
import type { Resampler, ResamplerOptions, SampleRate } from "./types.js";

export const SAMPLE_RATES: readonly SampleRate[] = [8000, 16000, 24000, 32000, 44100, 48000];

// Safety net for resamplers dropped without destroy(): their WASM memory is freed when collected.
const leaked = new FinalizationRegistry<RawResampler>((raw) => raw.free());

class WasmResampler implements Resampler {
  readonly inRate: number;
  readonly outRate: number;
  readonly inChannels: 1 | 2;
  readonly outChannels: 1 | 2;
  readonly latency: number;
  #raw: RawResampler | null;

  constructor(raw: RawResampler, inChannels: 1 | 2) {
    this.#raw = raw;
    this.inRate = raw.inRate;
    this.outRate = raw.outRate;
    this.inChannels = inChannels;
    this.outChannels = raw.outChannels as 1 | 2;
    this.latency = raw.latency;
    leaked.register(this, raw, this);
  }

  #live(): RawResampler {
    if (this.#raw === null) throw new DestroyedError();
    return this.#raw;
  }

  #check(input: unknown, type: typeof Int16Array | typeof Float32Array): void {
    if (!(input instanceof type)) {
      throw new BadBufferLengthError(
        (input as { length?: number } | null)?.length ?? Number.NaN,
        this.inChannels,
      );
    }
    if (input.length % this.inChannels !== 0) throw new BadBufferLengthError(input.length, this.inChannels);
  }

  processI16(input: Int16Array): Int16Array {
    const raw = this.#live();
    this.#check(input, Int16Array);
    return raw.processI16(input);
  }

  processF32(input: Float32Array): Float32Array {
    const raw = this.#live();
    this.#check(input, Float32Array);
    return raw.processF32(input);
  }

  processI16ToF32(input: Int16Array): Float32Array {
    const raw = this.#live();
    this.#check(input, Int16Array);
    return raw.processI16ToF32(input);
  }

  processF32ToI16(input: Float32Array): Int16Array {
    const raw = this.#live();
    this.#check(input, Float32Array);
    return raw.processF32ToI16(input);
  }

  flushI16(): Int16Array {
    return this.#live().flushI16();
  }

  flushF32(): Float32Array {
    return this.#live().flushF32();
  }

  reset(): void {
    this.#live().reset();
  }

  get destroyed(): boolean {
    return this.#raw === null;
  }

  destroy(): void {
    if (this.#raw === null) return;
    leaked.unregister(this);
    this.#raw.free();
    this.#raw = null;
  }
}

/** One WebAssembly instance: hosts any number of resamplers. */
export class ResamplerKernel {
  readonly #module: ResamplerModule;
  constructor(module: ResamplerModule) {
    this.#module = module;
  }
  /** true when the SIMD128 kernel runs (false: the scalar build) */
  get simd(): boolean {
    return this.#module.simd;
  }
  /** current size of the instance's linear memory in bytes */
  get memoryBytes(): number {
    return this.#module.memoryBytes;
  }
  createResampler(opts: ResamplerOptions): Resampler {
    const { inRate, outRate, channels } = opts;
    for (const rate of [inRate, outRate]) {
      if (!SAMPLE_RATES.includes(rate)) throw new UnsupportedRateError(rate);
    }
    if (channels !== 1 && channels !== 2)
      throw new BadOptionsError(`channels must be 1 or 2, got ${channels}`);
    if (opts.downmix && channels !== 2) throw new BadOptionsError("downmix needs stereo input (channels: 2)");
    const preset = opts.preset ?? "voice";
    if (preset !== "voice" && preset !== "hq") throw new BadOptionsError(`unknown preset ${String(preset)}`);
    const raw = this.#module.create(inRate, outRate, channels, { downmix: opts.downmix === true, preset });
    return new WasmResampler(raw, channels);
  }
}

export interface LoadResamplerOptions {
  /** force the SIMD128 (true) or scalar (false) build; default: SIMD when the engine supports it */
  simd?: boolean;
}

let shared: Promise<ResamplerKernel> | undefined;
let sharedReady: ResamplerKernel | undefined;

/**
 * Instantiate the WebAssembly module. Without options: the shared instance, loaded once (what
 * createResampler() uses). With `simd` set: a fresh, separate instance of that build.
 */
export function loadResampler(options?: LoadResamplerOptions): Promise<ResamplerKernel> {
  if (options?.simd !== undefined) return load({ simd: options.simd }).then((m) => new ResamplerKernel(m));
  shared ??= load().then(
    (m) => {
      sharedReady = new ResamplerKernel(m);
      return sharedReady;
    },
    (err: unknown) => {
      shared = undefined; // a failed load (e.g. unreadable .wasm) may be retried
      throw err;
    },
  );
  return shared;
}

/** Create a resampler on the shared instance (synchronous; `await loadResampler()` once first). */
export function createResampler(opts: ResamplerOptions): Resampler {
  if (sharedReady === undefined) throw new NotLoadedError();
  return sharedReady.createResampler(opts);
}

export { simdSupported };
