/* Types for the hand-written loader rtcgw_resampler.js (see docs/resampler.md). */

export type Preset = "voice" | "hq";
export declare const PRESETS: Readonly<Record<Preset, number>>;
export declare const RATES: readonly number[];

export type ResamplerErrorCode =
  | "ERR_RATE"
  | "ERR_CHANNELS"
  | "ERR_PRESET"
  | "ERR_HANDLE"
  | "ERR_LENGTH"
  | "ERR";

export declare class ResamplerError extends Error {
  readonly code: ResamplerErrorCode;
}

export declare function simdSupported(): boolean;

export interface LoadOptions {
  /** force the SIMD128 (true) or scalar (false) build; default: SIMD when the engine validates it */
  simd?: boolean;
  /** .wasm bytes or a compiled module to use instead of reading the file beside the loader */
  module?: BufferSource | WebAssembly.Module;
}

export declare class ResamplerModule {
  readonly simd: boolean;
  readonly memoryBytes: number;
  create(
    inRate: number,
    outRate: number,
    channels: 1 | 2,
    options?: { downmix?: boolean; preset?: Preset },
  ): RawResampler;
}

export declare class RawResampler {
  readonly inRate: number;
  readonly outRate: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** delay in output frames between an input frame's time and the emission of its output */
  readonly latency: number;
  readonly freed: boolean;
  processF32(input: Float32Array): Float32Array;
  processI16(input: Int16Array): Int16Array;
  processI16ToF32(input: Int16Array): Float32Array;
  processF32ToI16(input: Float32Array): Int16Array;
  flushF32(): Float32Array;
  flushI16(): Int16Array;
  reset(): void;
  free(): void;
}

export declare function load(options?: LoadOptions): Promise<ResamplerModule>;
export declare function initSync(options: { module: BufferSource | WebAssembly.Module }): ResamplerModule;
export default function init(options?: LoadOptions): Promise<ResamplerModule>;
