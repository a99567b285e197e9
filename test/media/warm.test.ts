// The node's start-up warm-up (src/media/warm.ts): one synthetic bridged call per agent rate
// through the real classes, so that what V8 compiles lazily (libopus' and the resampler's WASM
// functions, the packet path's JavaScript) is compiled before the first real call. Its effect on
// the first call is measured by `npm run bench:bridge` (first call vs later calls, same run).
import { describe, expect, it } from "vitest";
import { warmMedia } from "../../src/media/warm.js";

describe("warmMedia", () => {
  it("runs both directions of a bridged call at 16 and 8 kHz, once per process", async () => {
    const first = warmMedia();
    expect(warmMedia()).toBe(first); // memoised: a second node in the process finds it warm
    const r = await first;
    expect(r.rates.map((x) => x.rate)).toEqual([16000, 8000]);
    for (const x of r.rates) {
      expect(x.framesToAgent).toBeGreaterThanOrEqual(20); // 25 packets decoded to the agent side
      expect(x.packetsOut).toBeGreaterThanOrEqual(5); // the agent's audio encoded and sent
    }
    console.log(`  warm-up took ${r.ms.toFixed(0)} ms`);
  });
});
