// Hand-written loader for rtcgw_resampler (the role wasm-bindgen's generated JS plays in a wasm-pack
// package; see docs/resampler.md). Works in Node (reads the .wasm beside this file) and in browsers
// (fetches it). Two builds of the same crate ship side by side: rtcgw_resampler_simd_bg.wasm
// (SIMD128 kernel) and rtcgw_resampler_bg.wasm (scalar); load() picks the SIMD one when the engine
// validates a tiny SIMD probe module.

// (module (func (result v128) (v128.const i64x2 0 0)))
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01,
  0x00, 0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b,
]);

export const PRESETS = Object.freeze({ voice: 0, hq: 1 });
export const RATES = Object.freeze([8000, 16000, 24000, 32000, 44100, 48000]);
const ERRORS = { [-1]: "ERR_RATE", [-2]: "ERR_CHANNELS", [-3]: "ERR_PRESET", [-4]: "ERR_HANDLE" };
const F32 = 0;
const I16 = 1;
/** input frames staged per call into the module */
const SLICE = 16384;

/** true when this engine runs WebAssembly SIMD128 */
export function simdSupported() {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}

function wasmUrl(simd) {
  return new URL(simd ? "./rtcgw_resampler_simd_bg.wasm" : "./rtcgw_resampler_bg.wasm", import.meta.url);
}

async function readWasm(simd) {
  const url = wasmUrl(simd);
  if (typeof process === "object" && process.versions?.node && url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return readFile(url);
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`rtcgw_resampler: fetching ${url} failed: ${res.status}`);
  return res.arrayBuffer();
}

/** One WebAssembly instance; hosts any number of streams. */
export class ResamplerModule {
  #ex;
  #buf = null;
  #f32 = null;
  #i16 = null;
  /** @param {WebAssembly.Instance} instance */
  constructor(instance) {
    this.#ex = instance.exports;
    /** true when the SIMD128 kernel is in use */
    this.simd = this.#ex.rs_simd() === 1;
  }
  /** bytes of linear memory (grows, never shrinks; freed stream memory is reused) */
  get memoryBytes() {
    return this.#ex.memory.buffer.byteLength;
  }
  /** exports, for the stream class below */
  get exports() {
    return this.#ex;
  }
  /** typed views on linear memory, renewed after the memory grew */
  views() {
    const b = this.#ex.memory.buffer;
    if (b !== this.#buf) {
      this.#buf = b;
      this.#f32 = new Float32Array(b);
      this.#i16 = new Int16Array(b);
    }
    return { f32: this.#f32, i16: this.#i16 };
  }
  /**
   * @param {number} inRate @param {number} outRate @param {1|2} channels
   * @param {{ downmix?: boolean, preset?: "voice"|"hq" }} [options]
   */
  create(inRate, outRate, channels, options = {}) {
    return new RawResampler(this, inRate, outRate, channels, options);
  }
}

export class ResamplerError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "ResamplerError";
    this.code = code;
  }
}

/** One stream. Output arrays are views of a per-stream JS buffer, valid until this stream's next call. */
export class RawResampler {
  #m;
  #h;
  #inCh;
  #outCh;
  #outF32 = new Float32Array(0);
  #outI16 = new Int16Array(0);
  constructor(module, inRate, outRate, channels, options = {}) {
    const preset = PRESETS[options.preset ?? "voice"];
    if (preset === undefined) throw new ResamplerError("ERR_PRESET", `unknown preset ${options.preset}`);
    const h = module.exports.rs_create(inRate, outRate, channels, options.downmix ? 1 : 0, preset);
    if (h < 0) {
      throw new ResamplerError(
        ERRORS[h] ?? "ERR",
        `cannot resample ${inRate} -> ${outRate} Hz, ${channels} ch${options.downmix ? " downmixed" : ""}`,
      );
    }
    this.#m = module;
    this.#h = h;
    this.#inCh = channels;
    this.#outCh = module.exports.rs_out_channels(h);
    this.inRate = inRate;
    this.outRate = outRate;
    /** delay in output frames between an input frame's time and the emission of its output */
    this.latency = module.exports.rs_latency(h);
  }
  get inChannels() {
    return this.#inCh;
  }
  get outChannels() {
    return this.#outCh;
  }
  get freed() {
    return this.#h === 0;
  }
  #handle() {
    if (this.#h === 0) throw new ResamplerError("ERR_HANDLE", "resampler used after free()");
    return this.#h;
  }
  #frames(input) {
    if (input.length % this.#inCh !== 0) {
      throw new ResamplerError(
        "ERR_LENGTH",
        `input length ${input.length} is not a multiple of ${this.#inCh} channels`,
      );
    }
    return input.length / this.#inCh;
  }
  #out(kind, len) {
    if (kind === F32) {
      if (this.#outF32.length < len) this.#outF32 = new Float32Array(Math.max(len, 2 * this.#outF32.length));
      return this.#outF32;
    }
    if (this.#outI16.length < len) this.#outI16 = new Int16Array(Math.max(len, 2 * this.#outI16.length));
    return this.#outI16;
  }
  // Large inputs go through in slices, so a stream's staging memory inside the module stays bounded
  // (about SLICE frames) whatever the caller hands over in one call.
  #run(input, inKind, outKind) {
    const h = this.#handle();
    const ex = this.#m.exports;
    const frames = this.#frames(input);
    const ch = this.#inCh;
    const och = this.#outCh;
    // outputs of `frames` inputs never exceed ceil(frames * out / in) + 1 frames (rational phase)
    const out = this.#out(outKind, (Math.ceil((frames * this.outRate) / this.inRate) + 2) * och);
    let written = 0;
    for (let off = 0; off < frames; off += SLICE) {
      const n = Math.min(SLICE, frames - off);
      const p = ex.rs_input(h, n);
      const v = this.#m.views();
      const part = input.subarray(off * ch, (off + n) * ch);
      if (inKind === F32) v.f32.set(part, p >>> 2);
      else v.i16.set(part, p >>> 1);
      const k = ex.rs_process(h, n, inKind, outKind) * och;
      written += this.#copyOut(out, written, k, outKind);
    }
    return out.subarray(0, written);
  }
  #copyOut(out, at, len, kind) {
    const o = this.#m.exports.rs_output(this.#h);
    const v = this.#m.views();
    if (kind === F32) out.set(v.f32.subarray(o >>> 2, (o >>> 2) + len), at);
    else out.set(v.i16.subarray(o >>> 1, (o >>> 1) + len), at);
    return len;
  }
  #flush(kind) {
    const k = this.#m.exports.rs_flush(this.#handle(), kind) * this.#outCh;
    const out = this.#out(kind, k);
    this.#copyOut(out, 0, k, kind);
    return out.subarray(0, k);
  }
  /** @param {Float32Array} input interleaved */
  processF32(input) {
    return this.#run(input, F32, F32);
  }
  /** @param {Int16Array} input interleaved */
  processI16(input) {
    return this.#run(input, I16, I16);
  }
  /** @param {Int16Array} input interleaved, output f32 */
  processI16ToF32(input) {
    return this.#run(input, I16, F32);
  }
  /** @param {Float32Array} input interleaved, output i16 (rounded, saturated) */
  processF32ToI16(input) {
    return this.#run(input, F32, I16);
  }
  /** end of input: the remaining output; the stream then starts over */
  flushF32() {
    return this.#flush(F32);
  }
  flushI16() {
    return this.#flush(I16);
  }
  reset() {
    this.#m.exports.rs_reset(this.#handle());
  }
  /** release the stream's WebAssembly memory; idempotent */
  free() {
    if (this.#h !== 0) {
      this.#m.exports.rs_destroy(this.#h);
      this.#h = 0;
    }
  }
}

/**
 * Instantiate a new module. options.simd: force the SIMD (true) or scalar (false) build; default:
 * SIMD when the engine supports it. options.module: bytes or a compiled WebAssembly.Module to use.
 */
export async function load(options = {}) {
  const simd = options.simd ?? simdSupported();
  let mod = options.module;
  if (!(mod instanceof WebAssembly.Module)) mod = await WebAssembly.compile(mod ?? (await readWasm(simd)));
  const instance = await WebAssembly.instantiate(mod, {});
  return new ResamplerModule(instance);
}

/** Synchronous variant of load() for callers that already hold the bytes or a compiled module. */
export function initSync(options) {
  const mod =
    options.module instanceof WebAssembly.Module ? options.module : new WebAssembly.Module(options.module);
  return new ResamplerModule(new WebAssembly.Instance(mod, {}));
}

let shared = null;
/** The shared default module (SIMD when supported), instantiated once. */
export default function init(options) {
  shared ??= load(options);
  return shared;
}
