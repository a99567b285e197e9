// Exact output length after flush for every rate pair, and output independent of chunking.

import { beforeAll, describe, expect, it } from "vitest";
import { loadResampler, type ResamplerKernel } from "../../../src/audio/resampler/index.js";
import type { SampleRate } from "../../../src/audio/resampler/types.js";
import { RATES, rng, runF32 } from "./signal.js";

let kernel: ResamplerKernel;
beforeAll(async () => {
  kernel = await loadResampler();
});

const pairs = RATES.flatMap((i) => RATES.map((o) => [i, o] as [SampleRate, SampleRate]));

describe("output length after flush is round(in * out / in) frames", () => {
  for (const preset of ["voice", "hq"] as const) {
    it.each(pairs)(`${preset} %i -> %i`, (inRate, outRate) => {
      const rs = kernel.createResampler({ inRate, outRate, channels: 2, preset });
      const rand = rng(inRate + outRate);
      for (const frames of [0, 1, 2, 7, 159, 960, 4410 + 13]) {
        const x = new Float32Array(frames * 2).map(() => rand() - 0.5);
        const y = runF32(rs, x, 333);
        expect(y.length / 2).toBe(Math.round((frames * outRate) / inRate));
      }
      // the same stream object, reused after flush, starts over with the same result
      const x = new Float32Array(2000).map(() => rand() - 0.5);
      expect(runF32(rs, x, 160)).toEqual(runF32(rs, x, 160));
      rs.destroy();
    });
  }
});

describe("output does not depend on how the input is chunked", () => {
  const cases: [SampleRate, SampleRate, "voice" | "hq"][] = [
    [48000, 16000, "voice"],
    [16000, 48000, "voice"],
    [44100, 16000, "voice"],
    [8000, 44100, "voice"],
    [48000, 44100, "hq"],
    [24000, 32000, "hq"],
  ];
  it.each(cases)("%i -> %i %s: random chunk sizes give bit-identical output", (inRate, outRate, preset) => {
    const rand = rng(42);
    const frames = inRate; // one second
    const x = new Float32Array(frames).map((_, n) => 0.4 * Math.sin(n * 0.03) + 0.2 * (rand() - 0.5));
    const ref = runF32(kernel.createResampler({ inRate, outRate, channels: 1, preset }), x, 960);
    for (let trial = 0; trial < 3; trial++) {
      const menu = [0, 1, 2, 3, 7, 13, 64, 100, 333, 1024, 1025, 4096];
      const sizes = Array.from({ length: 500 }, () => menu[Math.floor(rand() * menu.length)]);
      if (!sizes.some((s) => s > 0)) sizes.push(1);
      const y = runF32(kernel.createResampler({ inRate, outRate, channels: 1, preset }), x, sizes);
      expect(y.length).toBe(ref.length);
      expect(y).toEqual(ref);
    }
  });
});
