// The reported latency is the true one: an impulse lands on the aligned output position, and the
// output holding it is handed out exactly `latency` output frames after its input time.

import { beforeAll, describe, expect, it } from "vitest";
import { loadResampler, type ResamplerKernel } from "../../../src/audio/resampler/index.js";
import type { SampleRate } from "../../../src/audio/resampler/types.js";
import { gcd, RATES } from "./signal.js";

let kernel: ResamplerKernel;
beforeAll(async () => {
  kernel = await loadResampler();
});

const pairs = RATES.flatMap((i) => RATES.map((o) => [i, o] as [SampleRate, SampleRate]));

/** Feed an impulse at input frame k0 one frame per call; record after each call the emission lag
 *  in*ratio - out (as the shared bench harness does) and where the output peak sits. */
function measure(kernel: ResamplerKernel, inRate: SampleRate, outRate: SampleRate, preset: "voice" | "hq") {
  const rs = kernel.createResampler({ inRate, outRate, channels: 1, preset });
  const m = inRate / gcd(inRate, outRate);
  const k0 = 5 * m; // an input frame whose output time k0*out/in is a whole output frame
  const total = k0 + 4 * m + Math.ceil((rs.latency * inRate) / outRate) + 10;
  const out: number[] = [];
  let maxLag = Number.NEGATIVE_INFINITY;
  const one = new Float32Array(1);
  for (let k = 0; k < total; k++) {
    one[0] = k === k0 ? 1 : 0;
    for (const v of rs.processF32(one)) out.push(v);
    maxLag = Math.max(maxLag, ((k + 1) * outRate) / inRate - out.length);
  }
  for (const v of rs.flushF32()) out.push(v);
  let peak = 0;
  for (let i = 1; i < out.length; i++) if (Math.abs(out[i]) > Math.abs(out[peak])) peak = i;
  const latency = rs.latency;
  rs.destroy();
  return { peak, expectedPeak: (k0 * outRate) / inRate, maxLag, latency };
}

describe("reported latency equals measured latency (impulse)", () => {
  for (const preset of ["voice", "hq"] as const) {
    it.each(pairs)(`${preset} %i -> %i`, (inRate, outRate) => {
      const r = measure(kernel, inRate, outRate, preset);
      expect(r.peak).toBe(r.expectedPeak);
      expect(r.maxLag).toBeCloseTo(r.latency, 9);
    });
  }

  it("meets the voice latency budget at 48k -> 16k (<= 3 ms) and hq's (<= 10 ms)", () => {
    const v = kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 1 });
    const h = kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 1, preset: "hq" });
    expect(v.latency / 16).toBeLessThanOrEqual(3);
    expect(h.latency / 16).toBeLessThanOrEqual(10);
    v.destroy();
    h.destroy();
  });
});
