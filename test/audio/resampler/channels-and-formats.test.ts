// Stereo, stereo -> mono downmix, and the i16 paths (conversion, rounding, saturation).

import { beforeAll, describe, expect, it } from "vitest";
import { loadResampler, type ResamplerKernel } from "../../../src/audio/resampler/index.js";
import { db, fitTone, runF32, runI16, sine } from "./signal.js";

let kernel: ResamplerKernel;
beforeAll(async () => {
  kernel = await loadResampler();
});

function stereo(left: Float32Array, right: Float32Array): Float32Array {
  const x = new Float32Array(left.length * 2);
  for (let i = 0; i < left.length; i++) {
    x[2 * i] = left[i];
    x[2 * i + 1] = right[i];
  }
  return x;
}

describe("stereo", () => {
  it("keeps the channels apart: each equals its own mono resampling, no crosstalk", () => {
    const l = sine(1000, 48000, 48000, 0.5);
    const r = sine(3000, 48000, 48000, 0.3);
    const st = kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 2 });
    expect(st.outChannels).toBe(2);
    const y = runF32(st, stereo(l, r), 960);
    const mono = (x: Float32Array) =>
      runF32(kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 1 }), x, 960);
    const yl = mono(l);
    const yr = mono(r);
    expect(y.length).toBe(yl.length * 2);
    for (let i = 0; i < yl.length; i++) {
      expect(y[2 * i]).toBe(yl[i]);
      expect(y[2 * i + 1]).toBe(yr[i]);
    }
    // crosstalk: the right tone's frequency is absent from the left channel
    const w3 = (2 * Math.PI * 3000) / 16000;
    const leak = fitTone(y, w3, 3200, 12800, 2, 0);
    expect(db(leak.power / 0.125)).toBeLessThan(-140);
  });

  it("downmix gives mono (L + R) / 2", () => {
    const l = sine(1000, 48000, 24000, 0.5);
    const r = sine(2500, 48000, 24000, 0.5);
    const dm = kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 2, downmix: true });
    expect(dm.inChannels).toBe(2);
    expect(dm.outChannels).toBe(1);
    const y = runF32(dm, stereo(l, r), 960);
    const avg = l.map((v, i) => (v + r[i]) / 2);
    const ref = runF32(kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 1 }), avg, 960);
    expect(y.length).toBe(ref.length);
    let maxErr = 0;
    for (let i = 0; i < y.length; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - ref[i]));
    expect(maxErr).toBeLessThan(1e-6);
  });

  it("downmix of i16 stereo 48k to 16k mono i16", () => {
    const dm = kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 2, downmix: true });
    const x = new Int16Array(960 * 2);
    for (let i = 0; i < 960; i++) {
      x[2 * i] = 10000;
      x[2 * i + 1] = -2000;
    }
    const y = runI16(dm, x, 960);
    expect(y.length).toBe(320);
    // DC settles to (10000 - 2000) / 2 once the filter has filled
    expect(y[200]).toBe(4000);
  });
});

describe("i16", () => {
  it("16k -> 48k i16 round trip of a tone keeps level and shape", () => {
    const rs = kernel.createResampler({ inRate: 16000, outRate: 48000, channels: 1 });
    const f = sine(440, 16000, 16000, 0.5);
    const x = Int16Array.from(f, (v) => Math.round(v * 32768));
    const y = runI16(rs, x, 320);
    expect(y.length).toBe(48000);
    const yf = Float32Array.from(y, (v) => v / 32768);
    const fit = fitTone(yf, (2 * Math.PI * 440) / 48000, 4800, 43200);
    expect(20 * Math.log10(fit.amp / 0.5)).toBeCloseTo(0, 2);
    // i16 quantisation twice (input and output) of a half-scale tone bounds the SNR near
    // 98.1 - 6 - 3 = 89 dB; the resampler must add nothing audible on top
    expect(db(fit.power / fit.residual)).toBeGreaterThan(88);
  });

  it("saturates instead of wrapping when the filter overshoots full scale", () => {
    // a full-scale square wave: Gibbs overshoot exceeds 32767 after filtering
    const x = new Int16Array(4800).map((_, i) => (Math.floor(i / 60) % 2 ? -32768 : 32767));
    const rs = kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 1 });
    const y = runI16(rs, x, 960);
    const yf = runF32(
      kernel.createResampler({ inRate: 48000, outRate: 16000, channels: 1 }),
      Float32Array.from(x, (v) => v / 32768),
      960,
    );
    let clipped = 0;
    for (let i = 0; i < y.length; i++) {
      const expected = Math.max(-32768, Math.min(32767, Math.round(yf[i] * 32768)));
      expect(Math.abs(y[i] - expected)).toBeLessThanOrEqual(1);
      if (yf[i] * 32768 > 32767) clipped++;
    }
    expect(clipped).toBeGreaterThan(0);
  });

  it("f32 -> i16 rounds half away from zero and clamps", () => {
    const rs = kernel.createResampler({ inRate: 16000, outRate: 16000, channels: 1 });
    const y = rs.processF32ToI16(Float32Array.of(0, 0.5 / 32768, -0.5 / 32768, 1.5, -1.5, 1 / 32768, -1));
    expect(Array.from(y)).toEqual([0, 1, -1, 32767, -32768, 1, -32768]);
    const z = rs.processI16ToF32(Int16Array.of(-32768, 16384, 0));
    expect(Array.from(z)).toEqual([-1, 0.5, 0]);
  });
});
