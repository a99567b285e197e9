import { beforeAll, describe, expect, it } from "vitest";
import { loadResampler } from "../../src/audio/resampler/index.js";
import type { AudioFrame } from "../../src/media/frame.js";
import { ResampleStage } from "../../src/media/resample-stage.js";
import { ToneSource } from "../../src/media/sources/tone.js";
import { dominantHz } from "./sinks/wav.js";

beforeAll(async () => {
  await loadResampler();
});

function run(inRate: 48000 | 8000, inCh: 1 | 2, outRate: number, outCh: 1 | 2, frames: number) {
  const out: AudioFrame[] = [];
  let ended = "";
  const stage = new ResampleStage({
    inRate,
    inChannels: inCh,
    outRate,
    outChannels: outCh,
    next: {
      onFrame: (f) => void out.push(f),
      onEnd: (r) => {
        ended = r;
      },
    },
  });
  const tone = new ToneSource({ rate: inRate, channels: inCh, frequency: 440 });
  for (let i = 0; i < frames; i++) stage.onFrame(tone.nextFrame());
  stage.onEnd("done");
  return { out, ended };
}

describe("ResampleStage", () => {
  it.each([
    [48000, 1, 16000, 1],
    [48000, 2, 16000, 1],
    [48000, 2, 44100, 2],
    [8000, 1, 48000, 1],
    [48000, 1, 48000, 1],
  ] as const)(
    "%i Hz × %i → %i Hz × %i: contiguous pts, exact total length after the tail, tone kept",
    (ir, ic, or, oc) => {
      const frames = 100; // 2 s
      const { out, ended } = run(ir, ic, or, oc, frames);
      expect(ended).toBe("done");
      let pts = 0;
      for (const f of out) {
        expect(f.pts).toBe(pts);
        expect(f.rate).toBe(or);
        expect(f.channels).toBe(oc);
        pts += f.samples.length / oc;
      }
      expect(pts).toBe(Math.round(frames * 0.02 * or));
      const all = new Int16Array(out.reduce((n, f) => n + f.samples.length, 0));
      let o = 0;
      for (const f of out) {
        all.set(f.samples, o);
        o += f.samples.length;
      }
      expect(dominantHz(all.subarray(Math.round(or / 2) * oc, or * oc), or, oc)).toBe(440);
    },
  );

  it("hands out copies: a frame kept by a consumer is not overwritten by the next call", () => {
    const { out } = run(48000, 1, 16000, 1, 10);
    expect(new Set(out.map((f) => f.samples.buffer)).size).toBe(out.length);
  });
});
