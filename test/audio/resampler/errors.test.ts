// Bad options and bad buffers get typed errors; valid audio (empty, NaN-laced) never throws.

import { describe, expect, it } from "vitest";
import {
  BadBufferLengthError,
  BadOptionsError,
  createResampler,
  DestroyedError,
  loadResampler,
  NotLoadedError,
  UnsupportedRateError,
} from "../../../src/audio/resampler/index.js";
import type { ResamplerOptions } from "../../../src/audio/resampler/types.js";

const bad = (o: Record<string, unknown>) => o as unknown as ResamplerOptions;

describe("resampler errors", () => {
  it("createResampler before loadResampler() says so", () => {
    expect(() => createResampler({ inRate: 48000, outRate: 16000, channels: 1 })).toThrow(NotLoadedError);
  });

  it("rejects unsupported rates, channels, downmix of mono, unknown presets", async () => {
    await loadResampler();
    for (const rate of [44000, 0, -16000, Number.NaN, 96000, "48000", 16000.5]) {
      expect(() => createResampler(bad({ inRate: rate, outRate: 16000, channels: 1 }))).toThrow(
        UnsupportedRateError,
      );
      expect(() => createResampler(bad({ inRate: 16000, outRate: rate, channels: 1 }))).toThrow(
        UnsupportedRateError,
      );
    }
    for (const channels of [0, 3, 1.5, "1"]) {
      expect(() => createResampler(bad({ inRate: 48000, outRate: 16000, channels }))).toThrow(
        BadOptionsError,
      );
    }
    expect(() => createResampler({ inRate: 48000, outRate: 16000, channels: 1, downmix: true })).toThrow(
      BadOptionsError,
    );
    expect(() =>
      createResampler(bad({ inRate: 48000, outRate: 16000, channels: 1, preset: "best" })),
    ).toThrow(BadOptionsError);
  });

  it("rejects partial frames and wrong array types, and loses nothing", async () => {
    await loadResampler();
    const rs = createResampler({ inRate: 48000, outRate: 16000, channels: 2 });
    const before = rs.processI16(new Int16Array(600)).length;
    expect(() => rs.processI16(new Int16Array(3))).toThrow(BadBufferLengthError);
    expect(() => rs.processF32(new Float32Array(5))).toThrow(BadBufferLengthError);
    expect(() => rs.processI16(new Float32Array(4) as unknown as Int16Array)).toThrow(BadBufferLengthError);
    expect(() => rs.processF32([0, 0] as unknown as Float32Array)).toThrow(BadBufferLengthError);
    // the stream is untouched by the rejected calls: total stays exact
    let total = before;
    total += rs.processI16(new Int16Array(600)).length;
    total += rs.flushI16().length;
    expect(total / 2).toBe(200);
  });

  it("use after destroy throws DestroyedError; destroy is idempotent", async () => {
    await loadResampler();
    const rs = createResampler({ inRate: 16000, outRate: 48000, channels: 1 });
    rs.destroy();
    rs.destroy();
    expect(rs.destroyed).toBe(true);
    expect(() => rs.processI16(new Int16Array(10))).toThrow(DestroyedError);
    expect(() => rs.processF32(new Float32Array(10))).toThrow(DestroyedError);
    expect(() => rs.flushF32()).toThrow(DestroyedError);
    expect(() => rs.reset()).toThrow(DestroyedError);
  });

  it("valid audio never throws: empty input, NaN and infinities (treated as silence)", async () => {
    await loadResampler();
    const rs = createResampler({ inRate: 48000, outRate: 16000, channels: 1 });
    expect(rs.processF32(new Float32Array(0)).length).toBe(0);
    expect(rs.processI16(new Int16Array(0)).length).toBe(0);
    const x = new Float32Array(960).fill(0.25);
    x[100] = Number.NaN;
    x[200] = Number.POSITIVE_INFINITY;
    x[300] = Number.NEGATIVE_INFINITY;
    const y = [...rs.processF32(x), ...rs.flushF32()];
    expect(y.length).toBe(320);
    expect(y.every(Number.isFinite)).toBe(true);
    expect(rs.flushF32().length).toBe(0);
  });
});
