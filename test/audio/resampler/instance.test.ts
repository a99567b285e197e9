// One WASM instance hosts many streams; SIMD128 and scalar builds agree; destroy() frees memory.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { beforeAll, describe, expect, it } from "vitest";
import { loadResampler, type ResamplerKernel, simdSupported } from "../../../src/audio/resampler/index.js";
import type { SampleRate } from "../../../src/audio/resampler/types.js";
import { rng, runF32 } from "./signal.js";

let kernel: ResamplerKernel;
beforeAll(async () => {
  kernel = await loadResampler();
});

describe("kernels", () => {
  it("Node's engine runs SIMD128, and the shared instance uses it", () => {
    expect(simdSupported()).toBe(true);
    expect(kernel.simd).toBe(true);
  });

  it("the scalar build gives the same output as the SIMD128 build", async () => {
    const simd = await loadResampler({ simd: true });
    const scalar = await loadResampler({ simd: false });
    expect(simd.simd).toBe(true);
    expect(scalar.simd).toBe(false);
    const rand = rng(7);
    const cases: [SampleRate, SampleRate, "voice" | "hq"][] = [
      [48000, 16000, "voice"],
      [16000, 48000, "voice"],
      [44100, 48000, "voice"],
      [48000, 16000, "hq"],
      [8000, 44100, "hq"],
    ];
    for (const [inRate, outRate, preset] of cases) {
      const x = new Float32Array(inRate / 2).map(() => rand() - 0.5);
      const a = runF32(simd.createResampler({ inRate, outRate, channels: 1, preset }), x, 480);
      const b = runF32(scalar.createResampler({ inRate, outRate, channels: 1, preset }), x, 480);
      expect(b.length).toBe(a.length);
      let maxErr = 0;
      for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
      expect(maxErr, `${inRate}->${outRate} ${preset}`).toBeLessThan(1e-6);
      // stronger: same lane structure and summation order and no FMA, so the bits are equal
      expect(b, `${inRate}->${outRate} ${preset}`).toEqual(a);
    }
  });
});

describe("one instance, many streams", () => {
  it("200 interleaved streams each give what a lone stream gives", () => {
    const rand = rng(11);
    const n = 200;
    const inputs = Array.from({ length: n }, () => new Float32Array(4800).map(() => rand() - 0.5));
    const pairs: [SampleRate, SampleRate][] = [
      [48000, 16000],
      [16000, 48000],
      [44100, 16000],
      [8000, 48000],
    ];
    const streams = inputs.map((_, i) => {
      const [inRate, outRate] = pairs[i % pairs.length];
      return kernel.createResampler({ inRate, outRate, channels: 1 });
    });
    const outs: number[][] = inputs.map(() => []);
    for (let off = 0; off < 4800; off += 480) {
      streams.forEach((s, i) => {
        outs[i].push(...s.processF32(inputs[i].subarray(off, off + 480)));
      });
    }
    streams.forEach((s, i) => {
      outs[i].push(...s.flushF32());
      s.destroy();
    });
    for (let i = 0; i < n; i += 37) {
      const [inRate, outRate] = pairs[i % pairs.length];
      const alone = runF32(kernel.createResampler({ inRate, outRate, channels: 1 }), inputs[i], 480);
      expect(Float32Array.from(outs[i])).toEqual(alone);
    }
  });

  it("10k create/use/destroy cycles do not grow WASM memory", async () => {
    const k = await loadResampler({ simd: true });
    const x = new Float32Array(1920).fill(0.1);
    const cycle = (i: number) => {
      const rs = k.createResampler({
        inRate: 48000,
        outRate: i % 2 ? 16000 : 44100,
        channels: 2,
        preset: i % 3 ? "voice" : "hq",
      });
      rs.processF32(x);
      rs.flushF32();
      rs.destroy();
    };
    for (let i = 0; i < 100; i++) cycle(i); // warm-up: tables, allocator
    const before = k.memoryBytes;
    for (let i = 0; i < 10_000; i++) cycle(i);
    expect(k.memoryBytes).toBe(before);
  });
});

describe("FinalizationRegistry safety net", () => {
  it("frees the WASM memory of resamplers dropped without destroy()", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const k = await loadResampler({ simd: true });
    const x = new Float32Array(9600).fill(0.1);
    const leakRound = () => {
      // 300 hq stereo streams with 0.2 s staged: ~40 MB if nothing were ever freed
      for (let i = 0; i < 300; i++) {
        k.createResampler({ inRate: 48000, outRate: 16000, channels: 2, preset: "hq" }).processF32(x);
      }
    };
    const collect = async () => {
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    leakRound();
    await collect();
    leakRound();
    await collect();
    const settled = k.memoryBytes;
    for (let round = 0; round < 8; round++) {
      leakRound();
      await collect();
    }
    // without the registry each round would add ~8 MB; with it the freed blocks are reused
    expect(k.memoryBytes).toBeLessThanOrEqual(settled + 2 * 1024 * 1024);
  });
});

describe("large inputs", () => {
  it("10 s of stereo in one call: same output as 20 ms chunks, staging memory stays bounded", async () => {
    const k = await loadResampler({ simd: true });
    const rand = rng(5);
    const x = new Float32Array(480_000 * 2).map(() => rand() - 0.5);
    const chunked = runF32(k.createResampler({ inRate: 48000, outRate: 16000, channels: 2 }), x, 960);
    const before = k.memoryBytes;
    const rs = k.createResampler({ inRate: 48000, outRate: 16000, channels: 2 });
    const whole = runF32(rs, x, x.length);
    expect(whole).toEqual(chunked);
    // 10 s staged at once would need 3.8 MB in the module; sliced staging needs ~ 0.2 MB
    expect(k.memoryBytes - before).toBeLessThan(1024 * 1024);
  });
});
