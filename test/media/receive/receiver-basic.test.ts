import { describe, expect, it } from "vitest";
import { expectWallClockTrue, rms, runScenario } from "./harness.js";

describe("RtpAudioReceiver: clean and lossy Opus streams on a virtual clock", () => {
  it("a clean 10 s stream comes out as 500 contiguous frames of the tone", () => {
    const run = runScenario({ seed: 1, durationMs: 10_000 });
    expectWallClockTrue(run);
    expect(run.frames).toHaveLength(500);
    expect(run.receiver.counters).toMatchObject({
      lost: 0,
      late: 0,
      concealedMs: 0,
      silenceMs: 0,
      duplicate: 0,
    });
    // 8000-peak sine → RMS ≈ 5657 (Opus keeps the level within ~1 dB)
    expect(rms(run.frames, 10)).toBeGreaterThan(5000);
    expect(run.packets.filter((p) => p.payload === null)).toHaveLength(0);
  });

  it("5 % random loss is concealed, never collapsed", () => {
    const run = runScenario({ seed: 2, durationMs: 20_000, loss: 0.05, jitterMs: 20 });
    expectWallClockTrue(run);
    const c = run.receiver.counters;
    expect(c.lost).toBeGreaterThan(0);
    expect(c.concealedMs).toBeGreaterThanOrEqual(c.lost * 20 - 100);
    expect(c.silenceMs).toBe(0);
    expect(run.packets.filter((p) => p.payload === null).length).toBe(c.concealedMs / 20);
  });

  it("a 5 s outage becomes 120 ms of PLC then silence at its true position", () => {
    const run = runScenario({ seed: 3, durationMs: 15_000, outages: [{ fromMs: 5000, toMs: 10_000 }] });
    expectWallClockTrue(run);
    const c = run.receiver.counters;
    expect(c.concealedMs).toBe(120);
    expect(c.silenceMs).toBe(5000 - 120);
    // the tone is back right after the outage, at the same place on the timeline
    const slot = (ms: number) => Math.round(ms / 20);
    expect(rms(run.frames, slot(7000), slot(9900))).toBe(0);
    expect(rms(run.frames, slot(10_100), slot(14_000))).toBeGreaterThan(5000);
  });
});
