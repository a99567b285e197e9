// G.711 against reference tables built here from the standard's segment definition
// (ITU-T G.711 Tables 1/2: 8 segments of 16 equal steps; each code's decoded value is the
// middle of its decision interval), written as interval searches rather than bit tricks.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ALAW_TO_LINEAR,
  alawToLinear,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  G711Decoder,
  G711Encoder,
  linearToAlaw,
  linearToUlaw,
  ULAW_TO_LINEAR,
  ulawToLinear,
} from "../../../src/audio/codecs/index.js";
import { goertzelAmplitude, rmsOf } from "./tone-analysis.js";

const goertzel = (pcm: Int16Array, hz: number) => goertzelAmplitude(pcm, 8000, hz);

interface Level {
  /** magnitude decision interval [lo, hi) in the law's integer domain */
  lo: number;
  hi: number;
  /** reconstruction value in that domain */
  out: number;
  segment: number;
  step: number;
}

/** μ-law, 14-bit magnitudes: segment s, step m covers [(2m+32)·2^s − 33, (2m+34)·2^s − 33) */
function ulawLevels(): Level[] {
  const levels: Level[] = [];
  for (let s = 0; s < 8; s++) {
    for (let m = 0; m < 16; m++) {
      levels.push({
        lo: ((2 * m + 32) << s) - 33,
        hi: ((2 * m + 34) << s) - 33,
        out: ((2 * m + 33) << s) - 33,
        segment: s,
        step: m,
      });
    }
  }
  return levels;
}

/** A-law, 13-bit magnitudes: segment 0 steps of 2 from 0; segment s ≥ 1 covers [(2m+32)·2^(s−1), …) */
function alawLevels(): Level[] {
  const levels: Level[] = [];
  for (let s = 0; s < 8; s++) {
    for (let m = 0; m < 16; m++) {
      const lo = s === 0 ? 2 * m : (2 * m + 32) << (s - 1);
      const width = s === 0 ? 2 : 2 << (s - 1);
      levels.push({ lo, hi: lo + width, out: lo + width / 2, segment: s, step: m });
    }
  }
  return levels;
}

const ULAW_LEVELS = ulawLevels();
const ALAW_LEVELS = alawLevels();

function find(levels: Level[], magnitude: number): Level {
  for (const l of levels) if (magnitude >= l.lo && magnitude < l.hi) return l;
  return levels[levels.length - 1]; // above the last decision level: clip to the top step
}

/** reference μ-law encoder: sign bit 1 for negative, then all bits inverted on the wire;
 *  negative inputs are one's-complemented before quantising (ITU-T G.191) */
function refUlawEncode(x: number): number {
  const negative = x < 0;
  const l = find(ULAW_LEVELS, negative ? (-x - 1) >> 2 : x >> 2);
  return ~((negative ? 0x80 : 0) | (l.segment << 4) | l.step) & 0xff;
}

function refUlawDecode(code: number): number {
  const u = ~code & 0xff;
  const l = ULAW_LEVELS[((u >> 4) & 7) * 16 + (u & 15)];
  return (u & 0x80 ? -1 : 1) * l.out * 4 + 0; // + 0: −0 → 0
}

/** reference A-law encoder: sign bit 1 for ≥ 0, even bits inverted (XOR 0x55) on the wire;
 *  negative inputs are one's-complemented (ITU-T G.191) */
function refAlawEncode(x: number): number {
  const negative = x < 0;
  const l = find(ALAW_LEVELS, negative ? (-x - 1) >> 3 : x >> 3);
  return ((negative ? 0 : 0x80) | (l.segment << 4) | l.step) ^ 0x55;
}

function refAlawDecode(code: number): number {
  const a = code ^ 0x55;
  const l = ALAW_LEVELS[((a >> 4) & 7) * 16 + (a & 15)];
  return (a & 0x80 ? 1 : -1) * l.out * 8;
}

describe("G.711 μ-law", () => {
  it("decodes all 256 codes like the reference table", () => {
    for (let c = 0; c < 256; c++)
      expect(ULAW_TO_LINEAR[c], `code 0x${c.toString(16)}`).toBe(refUlawDecode(c));
  });

  it("encodes every 16-bit value like the reference quantiser", () => {
    const ulevels = ulawLevels();
    expect(ulevels).toHaveLength(128);
    for (let x = -32768; x <= 32767; x++) {
      const got = linearToUlaw(x);
      const want = refUlawEncode(x);
      if (got !== want) expect.fail(`μ-law(${x}) = 0x${got.toString(16)}, reference 0x${want.toString(16)}`);
    }
  });

  it("matches the standard's known points", () => {
    expect(ulawToLinear(0xff)).toBe(0);
    expect(ulawToLinear(0x7f)).toBe(0); // "negative zero"
    expect(ulawToLinear(0x00)).toBe(-32124);
    expect(ulawToLinear(0x80)).toBe(32124);
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToUlaw(32767)).toBe(0x80);
    expect(linearToUlaw(-32768)).toBe(0x00);
    expect(linearToUlaw(-1)).toBe(0x7f);
  });

  it("re-encodes every decoded value to the same code (except −0)", () => {
    for (let c = 0; c < 256; c++) {
      if (c === 0x7f) continue;
      expect(linearToUlaw(ulawToLinear(c))).toBe(c);
    }
  });
});

describe("G.711 A-law", () => {
  it("decodes all 256 codes like the reference table", () => {
    for (let c = 0; c < 256; c++)
      expect(ALAW_TO_LINEAR[c], `code 0x${c.toString(16)}`).toBe(refAlawDecode(c));
  });

  it("encodes every 16-bit value like the reference quantiser", () => {
    for (let x = -32768; x <= 32767; x++) {
      const got = linearToAlaw(x);
      const want = refAlawEncode(x);
      if (got !== want) expect.fail(`A-law(${x}) = 0x${got.toString(16)}, reference 0x${want.toString(16)}`);
    }
  });

  it("matches the standard's known points", () => {
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0x55)).toBe(-8);
    expect(alawToLinear(0xaa)).toBe(32256);
    expect(alawToLinear(0x2a)).toBe(-32256);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
  });

  it("re-encodes every decoded value to the same code", () => {
    for (let c = 0; c < 256; c++) expect(linearToAlaw(alawToLinear(c))).toBe(c);
  });
});

describe("G.711 packet-loss concealment (after Appendix I)", () => {
  const tone = (hz: number, from: number, n: number) =>
    Int16Array.from({ length: n }, (_, i) =>
      Math.round(8000 * Math.sin((2 * Math.PI * hz * (from + i)) / 8000)),
    );

  it("continues the last pitch period at the tone's frequency, then fades to silence by 60 ms", () => {
    const dec = new G711Decoder("pcmu");
    for (let f = 0; f < 10; f++) dec.decode(encodeUlaw(tone(200, f * 160, 160)));
    const first = dec.conceal(160);
    expect(first).toHaveLength(160);
    expect(goertzel(first, 200)).toBeGreaterThan(8000 * 0.7);
    expect(goertzel(first, 1000)).toBeLessThan(8000 * 0.1);
    const second = dec.conceal(160);
    const third = dec.conceal(160);
    expect(rmsOf(second)).toBeLessThan(rmsOf(first));
    expect(rmsOf(third)).toBeLessThan(rmsOf(second));
    expect(Array.from(dec.conceal(160)).every((v) => v === 0)).toBe(true); // past 60 ms: silent
    expect(dec.conceal(37)).toHaveLength(37);
  });

  it("cross-fades back into the good signal without a jump", () => {
    const dec = new G711Decoder("pcma");
    for (let f = 0; f < 10; f++) dec.decode(encodeAlaw(tone(250, f * 160, 160)));
    const hidden = dec.conceal(160);
    const back = dec.decode(encodeAlaw(tone(250, 11 * 160, 160)));
    expect(Math.abs(back[0] - hidden[159])).toBeLessThan(3000);
    // past the fade the decoded signal is untouched
    expect(Array.from(back.subarray(40))).toEqual(
      Array.from(decodeAlaw(encodeAlaw(tone(250, 11 * 160, 160))).subarray(40)),
    );
  });

  it("conceals digital silence (and a fresh decoder) with silence", () => {
    const dec = new G711Decoder("pcmu");
    expect(Array.from(dec.conceal(160)).every((v) => v === 0)).toBe(true);
    for (let f = 0; f < 5; f++) dec.decode(encodeUlaw(new Int16Array(160)));
    expect(Array.from(dec.conceal(160)).every((v) => v === 0)).toBe(true);
  });
});

describe("G.711 codecs", () => {
  it("round-trip error stays within half a quantisation step (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32767 }), (x) => {
        const u = ulawToLinear(linearToUlaw(x));
        const a = alawToLinear(linearToAlaw(x));
        // step sizes in the top segment: μ-law 1024, A-law 1024 (16-bit units); clip region aside
        expect(Math.abs(u - x)).toBeLessThanOrEqual(x > 32124 || x < -32124 ? 900 : 512);
        expect(Math.abs(a - x)).toBeLessThanOrEqual(512);
      }),
    );
  });

  it("decoders and encoders behind the codec interface", () => {
    const pcm = Int16Array.from({ length: 160 }, (_, i) =>
      Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)),
    );
    for (const law of ["pcmu", "pcma"] as const) {
      const enc = new G711Encoder(law);
      const dec = new G711Decoder(law);
      const bytes = enc.encode(pcm);
      expect(bytes).toEqual(law === "pcmu" ? encodeUlaw(pcm) : encodeAlaw(pcm));
      const out = dec.decode(bytes);
      expect(out).toEqual(law === "pcmu" ? decodeUlaw(bytes) : decodeAlaw(bytes));
      expect(dec.rate).toBe(8000);
      expect(dec.conceal(160)).toEqual(new Int16Array(160));
      expect(() => dec.decode(new Uint8Array(0))).toThrow();
      dec.destroy();
      expect(() => dec.decode(bytes)).toThrow();
    }
  });
});
