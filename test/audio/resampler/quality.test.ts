// Tone SNR (THD+N) and alias / image rejection against the targets.

import { beforeAll, describe, expect, it } from "vitest";
import { loadResampler, type ResamplerKernel } from "../../../src/audio/resampler/index.js";
import type { SampleRate } from "../../../src/audio/resampler/types.js";
import { db, fitTone, meanSquare, runF32, sine } from "./signal.js";

let kernel: ResamplerKernel;
beforeAll(async () => {
  kernel = await loadResampler();
});

/** resample a 1 s tone in 20 ms chunks; return output and a steady-state window past the edges */
function tone(inRate: SampleRate, outRate: SampleRate, f: number, preset: "voice" | "hq") {
  const rs = kernel.createResampler({ inRate, outRate, channels: 1, preset });
  const y = runF32(rs, sine(f, inRate, inRate), Math.round(inRate / 50));
  rs.destroy();
  return { y, m0: Math.round(outRate * 0.2), m1: Math.round(outRate * 0.8) };
}

function thdn(inRate: SampleRate, outRate: SampleRate, f: number, preset: "voice" | "hq") {
  const { y, m0, m1 } = tone(inRate, outRate, f, preset);
  const fit = fitTone(y, (2 * Math.PI * f) / outRate, m0, m1);
  return { thdnDb: db(fit.power / fit.residual), gainDb: 20 * Math.log10(fit.amp / 0.5) };
}

/** output power of an above-Nyquist tone, relative to the input tone power */
function alias(inRate: SampleRate, outRate: SampleRate, f: number, preset: "voice" | "hq") {
  const { y, m0, m1 } = tone(inRate, outRate, f, preset);
  return db(meanSquare(y, m0, m1) / 0.125);
}

describe("voice preset", () => {
  it("48k -> 16k: passband tones come through clean and at unity gain", () => {
    for (const f of [100, 1000, 3400, 7000]) {
      const r = thdn(48000, 16000, f, "voice");
      expect(r.thdnDb, `${f} Hz`).toBeGreaterThan(115);
      expect(Math.abs(r.gainDb), `${f} Hz`).toBeLessThan(0.01);
    }
  });
  it("48k -> 16k: -3 dB point at >= 90 % of Nyquist", () => {
    expect(thdn(48000, 16000, 7200, "voice").gainDb).toBeGreaterThan(-3);
  });
  it("48k -> 16k: every tone at >= 8.8 kHz is rejected by >= 110 dB", () => {
    for (const f of [8800, 9500, 12000, 16000, 20000, 23760]) {
      expect(alias(48000, 16000, f, "voice"), `${f} Hz`).toBeLessThan(-110);
    }
  });
  it("16k -> 48k: THD+N at 7 kHz >= 110 dB (images rejected)", () => {
    expect(thdn(16000, 48000, 7000, "voice").thdnDb).toBeGreaterThan(110);
  });
  it("44.1k -> 16k and 48k -> 8k reject aliases too", () => {
    expect(alias(44100, 16000, 12000, "voice")).toBeLessThan(-110);
    expect(alias(48000, 8000, 6000, "voice")).toBeLessThan(-110);
    expect(thdn(44100, 48000, 1000, "voice").thdnDb).toBeGreaterThan(110);
  });
});

describe("hq preset", () => {
  it("48k -> 16k: every tone at >= 8.8 kHz rejected by >= 140 dB, even just above Nyquist by >= 130", () => {
    for (const f of [8800, 12000, 20000]) expect(alias(48000, 16000, f, "hq"), `${f} Hz`).toBeLessThan(-140);
    expect(alias(48000, 16000, 8200, "hq")).toBeLessThan(-130);
  });
  it("16k -> 48k and 44.1k -> 48k: THD+N >= 140 dB", () => {
    expect(thdn(16000, 48000, 7000, "hq").thdnDb).toBeGreaterThan(140);
    expect(thdn(44100, 48000, 15000, "hq").thdnDb).toBeGreaterThan(140);
  });
});
