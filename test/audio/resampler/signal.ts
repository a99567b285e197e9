// Test signals and measurements for the resampler tests (no resampler logic here).

import type { Resampler } from "../../../src/audio/resampler/index.js";

export const RATES = [8000, 16000, 24000, 32000, 44100, 48000] as const;

export function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** deterministic PRNG (mulberry32) */
export function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sine(
  freq: number,
  rate: number,
  frames: number,
  amp = 0.5,
  channels = 1,
  ch = 0,
): Float32Array {
  const x = new Float32Array(frames * channels);
  const w = (2 * Math.PI * freq) / rate;
  for (let n = 0; n < frames; n++) x[n * channels + ch] = amp * Math.sin(w * n);
  return x;
}

export function concat<T extends Float32Array | Int16Array>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Stream f32 input through `rs` in the given chunk sizes (frames), then flush; copies every view. */
export function runF32(rs: Resampler, input: Float32Array, chunks: number[] | number): Float32Array {
  const ch = rs.inChannels;
  const parts: Float32Array[] = [];
  let i = 0;
  const frames = input.length / ch;
  let k = 0;
  while (i < frames) {
    const want = typeof chunks === "number" ? chunks : chunks[k++ % chunks.length];
    const n = Math.min(want, frames - i);
    parts.push(rs.processF32(input.subarray(i * ch, (i + n) * ch)).slice());
    i += n;
  }
  parts.push(rs.flushF32().slice());
  return concat(parts, (n) => new Float32Array(n));
}

export function runI16(rs: Resampler, input: Int16Array, chunk: number): Int16Array {
  const ch = rs.inChannels;
  const parts: Int16Array[] = [];
  for (let i = 0; i < input.length; i += chunk * ch) {
    parts.push(rs.processI16(input.subarray(i, i + chunk * ch)).slice());
  }
  parts.push(rs.flushI16().slice());
  return concat(parts, (n) => new Int16Array(n));
}

/** Solve the 2x2 least-squares fit y ~ a cos(wm) + b sin(wm) over channel c of y, m in [m0, m1).
 *  Returns the fitted power, the residual power (everything that is not the tone) and the amplitude. */
export function fitTone(y: Float32Array, w: number, m0: number, m1: number, channels = 1, c = 0) {
  let cc = 0;
  let ss = 0;
  let cs = 0;
  let yc = 0;
  let ys = 0;
  for (let m = m0; m < m1; m++) {
    const co = Math.cos(w * m);
    const si = Math.sin(w * m);
    const v = y[m * channels + c];
    cc += co * co;
    ss += si * si;
    cs += co * si;
    yc += v * co;
    ys += v * si;
  }
  const det = cc * ss - cs * cs;
  const a = (yc * ss - ys * cs) / det;
  const b = (ys * cc - yc * cs) / det;
  let res = 0;
  for (let m = m0; m < m1; m++) {
    const e = y[m * channels + c] - (a * Math.cos(w * m) + b * Math.sin(w * m));
    res += e * e;
  }
  const amp = Math.hypot(a, b);
  return { amp, power: (amp * amp) / 2, residual: res / (m1 - m0) };
}

export const db = (x: number) => 10 * Math.log10(x);

export function meanSquare(y: Float32Array, m0: number, m1: number, channels = 1, c = 0): number {
  let e = 0;
  for (let m = m0; m < m1; m++) e += y[m * channels + c] ** 2;
  return e / (m1 - m0);
}
