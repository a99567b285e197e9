// Plugs rtcgw's WASM resampler (wasm/resampler/pkg, committed, so no build step) into the shared
// harness ../shared/bench/resampler (contract: top of harness/resampler-bench.mjs).
//
// `latency` is the resampler's own report: the delay, in output frames, between an input frame's time
// and the moment its output is handed out. The output timeline itself is aligned with the input (the
// harness's "align" shows ~0 and its "buffered" shows this delay); compare it with the harness's
// "total" column.
import { load } from "../../wasm/resampler/pkg/rtcgw_resampler.js";

export const name = "rtcgw";
export const variants = {
  voice: { preset: "voice" },
  hq: { preset: "hq" },
};

const modules = new Map();
function moduleFor(simd) {
  const key = simd ?? "auto";
  if (!modules.has(key)) modules.set(key, load(simd === undefined ? {} : { simd }));
  return modules.get(key);
}

export async function createResampler(inRate, outRate, channels, options = {}) {
  const mod = await moduleFor(options.simd);
  const rs = mod.create(inRate, outRate, channels, { preset: options.preset ?? "voice" });
  return {
    latency: rs.latency,
    process: (x) => rs.processF32(x),
    flush: () => rs.flushF32(),
    reset: () => rs.reset(),
    destroy: () => rs.free(),
  };
}
