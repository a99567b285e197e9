// ITU-T G.711 (11/1988) μ-law and A-law companding of 16-bit PCM, following the conventions of
// the ITU's reference code (ITU-T G.191 Software Tool Library, g711.c): μ-law works on the top 14
// bits (bias 33, 8 segments of 16 steps, all bits inverted on the wire), A-law on the top 13
// bits (even bits inverted, XOR 0x55). Negative inputs take the one's complement before
// quantising, as G.191 does, so −1 encodes like 0 (to the "negative zero" code).

const ULAW_BIAS = 0x21; // 33, in 14-bit units
const ULAW_CLIP = 8159; // 8192 - 33: the largest magnitude before the bias overflows segment 7

/** one 16-bit linear sample → one μ-law byte (G.711 Table 2a) */
export function linearToUlaw(sample: number): number {
  let x: number;
  let mask: number;
  if (sample < 0) {
    x = ~sample >> 2; // one's complement (G.191 ulaw_compress)
    mask = 0x7f;
  } else {
    x = sample >> 2;
    mask = 0xff;
  }
  if (x > ULAW_CLIP) x = ULAW_CLIP;
  x += ULAW_BIAS;
  // segment = position of the top bit above bit 5 (x is in 33..8192)
  const seg = 31 - Math.clz32(x) - 5;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((x >> (seg + 1)) & 0x0f)) ^ mask;
}

/** one μ-law byte → 16-bit linear (0xFF → 0, 0x00 → −32124, 0x80 → 32124) */
export function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  let t = ((u & 0x0f) << 3) + (ULAW_BIAS << 2);
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? (ULAW_BIAS << 2) - t : t - (ULAW_BIAS << 2);
}

/** one 16-bit linear sample → one A-law byte (G.711 Table 1a) */
export function linearToAlaw(sample: number): number {
  let x = sample >> 3;
  let mask: number;
  if (x >= 0) {
    mask = 0xd5; // sign bit set for positive, even bits inverted
  } else {
    mask = 0x55;
    x = -x - 1;
  }
  const seg = x <= 0x1f ? 0 : 31 - Math.clz32(x) - 4;
  if (seg >= 8) return 0x7f ^ mask;
  const mantissa = seg < 2 ? (x >> 1) & 0x0f : (x >> seg) & 0x0f;
  return ((seg << 4) | mantissa) ^ mask;
}

/** one A-law byte → 16-bit linear (0xD5 → 8, 0x55 → −8, 0xAA → 32256) */
export function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

function table(decode: (code: number) => number): Int16Array {
  const t = new Int16Array(256);
  for (let c = 0; c < 256; c++) t[c] = decode(c);
  return t;
}

/** decode tables: one lookup per byte on the hot path */
export const ULAW_TO_LINEAR: Int16Array = table(ulawToLinear);
export const ALAW_TO_LINEAR: Int16Array = table(alawToLinear);

export function decodeUlaw(payload: Uint8Array): Int16Array {
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = ULAW_TO_LINEAR[payload[i]];
  return out;
}

export function decodeAlaw(payload: Uint8Array): Int16Array {
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = ALAW_TO_LINEAR[payload[i]];
  return out;
}

export function encodeUlaw(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = linearToUlaw(pcm[i]);
  return out;
}

export function encodeAlaw(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = linearToAlaw(pcm[i]);
  return out;
}
