// Property: for any supported configuration and any sequence of valid calls (chunks of any size, any
// mix of i16 and f32 paths), nothing throws, every sample is finite and in range, and the total after
// flush is exactly round(in * out / in).

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadResampler, type ResamplerKernel } from "../../../src/audio/resampler/index.js";
import type { SampleRate } from "../../../src/audio/resampler/types.js";
import { RATES } from "./signal.js";

let kernel: ResamplerKernel;
beforeAll(async () => {
  kernel = await loadResampler();
});

const rate = fc.constantFrom(...RATES) as fc.Arbitrary<SampleRate>;
const call = fc.record({
  frames: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 3000 })),
  path: fc.constantFrom("f32", "i16", "i16f32", "f32i16"),
  level: fc.constantFrom(0, 0.5, 1, 4), // 4: f32 far beyond full scale (clipped on i16 output)
});

describe("any valid call sequence", () => {
  it("never throws, stays finite, ends at the exact length", () => {
    fc.assert(
      fc.property(
        rate,
        rate,
        fc.constantFrom("mono", "stereo", "downmix"),
        fc.constantFrom("voice", "hq"),
        fc.array(call, { maxLength: 12 }),
        fc.constantFrom("f32", "i16"),
        (inRate, outRate, layout, preset, calls, flushAs) => {
          const channels = layout === "mono" ? 1 : 2;
          const rs = kernel.createResampler({
            inRate,
            outRate,
            channels,
            downmix: layout === "downmix",
            preset,
          });
          let inFrames = 0;
          let outSamples = 0;
          const check = (y: Float32Array | Int16Array) => {
            for (const v of y) if (!Number.isFinite(v)) throw new Error(`non-finite sample ${v}`);
            outSamples += y.length;
          };
          for (const [k, c] of calls.entries()) {
            const n = c.frames * channels;
            inFrames += c.frames;
            const f = new Float32Array(n).map((_, i) => c.level * Math.sin(i * 0.37 + k));
            const s = Int16Array.from(f, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32767))));
            if (c.path === "f32") check(rs.processF32(f));
            else if (c.path === "i16") check(rs.processI16(s));
            else if (c.path === "i16f32") check(rs.processI16ToF32(s));
            else check(rs.processF32ToI16(f));
          }
          check(flushAs === "f32" ? rs.flushF32() : rs.flushI16());
          rs.destroy();
          expect(outSamples).toBe(Math.round((inFrames * outRate) / inRate) * rs.outChannels);
        },
      ),
      { numRuns: 150 },
    );
  });
});
