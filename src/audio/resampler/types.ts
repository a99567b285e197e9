// The typed face of the Rust/WASM resampler (see wasm/resampler). Implemented in src/audio/resampler/.

export type SampleRate = 8000 | 16000 | 24000 | 32000 | 44100 | 48000;
export type ResamplerPreset = "voice" | "hq";

export interface ResamplerOptions {
  inRate: SampleRate;
  outRate: SampleRate;
  /** channels of the input */
  channels: 1 | 2;
  /** downmix stereo input to mono output */
  downmix?: boolean;
  preset?: ResamplerPreset;
}

export interface Resampler {
  readonly inRate: number;
  readonly outRate: number;
  readonly inChannels: 1 | 2;
  readonly outChannels: 1 | 2;
  /** delay in output frames between an input sample and its output. The output timeline is aligned
   *  with the input (input frame k maps to output frame k*outRate/inRate); this is how long after that
   *  time the output frame is handed out. flush() hands out the last `latency` frames. */
  readonly latency: number;
  /** stream interleaved i16 in; returns the output ready now (a view valid until the next call) */
  processI16(input: Int16Array): Int16Array;
  processF32(input: Float32Array): Float32Array;
  /** i16 in, f32 out (same streaming rules) */
  processI16ToF32(input: Int16Array): Float32Array;
  /** f32 in, i16 out: rounded, saturated at -32768..32767 */
  processF32ToI16(input: Float32Array): Int16Array;
  /** end of input: the rest, so total out = round(totalIn * outRate / inRate); the stream then
   *  starts over as if freshly created (flush in the format you want the tail in) */
  flushI16(): Int16Array;
  flushF32(): Float32Array;
  reset(): void;
  /** frees the WASM memory; idempotent; any other call afterwards throws DestroyedError */
  destroy(): void;
  readonly destroyed: boolean;
}
