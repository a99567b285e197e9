// PcmPushSource.clear(fade) followed at once by new audio (a barge-in answered right away): the new
// audio is cross-faded into the fade, so it starts in the very frame that carries the fade (not
// 5 ms later, behind the codec's look-ahead), the frame count stays on the pacer's grid, and queue
// positions (what marks are answered by) stay exact. Virtual clock, 48 kHz in = out (no resampler).
import { describe, expect, it } from "vitest";
import { loadResampler } from "../../../src/audio/resampler/index.js";
import { VirtualClock } from "../../../src/media/clock.js";
import type { AudioFrame } from "../../../src/media/frame.js";
import { PcmPushSource } from "../../../src/media/sources/pcm-push.js";
import { ClockTicks } from "../../support/clock-ticks.js";

const FADE = 240; // 5 ms at 48 kHz

/** paced by a timer of its own, or driven by a shared 20 ms tick source (the node's ticker) */
type Pacing = "timer" | "ticker";

async function source(pacing: Pacing) {
  await loadResampler();
  const clock = new VirtualClock(0);
  const src = new PcmPushSource({
    clock,
    earlyStart: true,
    maxBufferMs: 5000,
    ...(pacing === "ticker" ? { ticks: new ClockTicks(clock) } : {}),
  });
  const frames: Array<{ at: number; f: AudioFrame }> = [];
  const off = src.subscribe({
    onFrame: (f) => {
      frames.push({ at: clock.now(), f });
    },
  });
  return { clock, src, frames, off };
}

describe.each(["timer", "ticker"] as const)("PcmPushSource: clear then new audio (paced by %s)", (pacing) => {
  it("the new audio is cross-faded into the clear's fade: old × (n−i)/(n+1) + new × (i+1)/(n+1), then the new audio as pushed", async () => {
    const { clock, src, frames, off } = await source(pacing);
    src.push(new Int16Array(48000).fill(10000), 48000, 1); // 1 s of a constant "old" level
    clock.advance(105); // 5 frames out, 5 ms into the next period
    const n = frames.length;
    src.clear(5);
    src.push(new Int16Array(4800).fill(-6000), 48000, 1); // 100 ms of "new", at once
    // the first frame after the clear left with the push (early start), on the grid's next slot
    expect(frames.length).toBe(n + 1);
    expect(frames[n]!.at).toBe(105);
    const s = frames[n]!.f.samples;
    for (let i = 0; i < FADE; i++) {
      const want = Math.round((10000 * (FADE - i)) / (FADE + 1)) + Math.round((-6000 * (i + 1)) / (FADE + 1));
      if (s[i] !== want) expect.fail(`sample ${i}: ${s[i]} ≠ ${want}`);
    }
    expect(Array.from(s.subarray(FADE))).toEqual(new Array(960 - FADE).fill(-6000));
    // positions: everything pushed after the clear (4800 samples) leaves, nothing twice, and the
    // queue is empty exactly when the last of it has gone
    const at = src.queuedPosition;
    clock.advance(200);
    const after = frames.slice(n).flatMap((x) => Array.from(x.f.samples));
    expect(after.filter((v) => v === -6000).length).toBe(4800 - FADE);
    expect(src.takenPosition).toBe(at);
    expect(src.stats().bufferedMs).toBe(0);
    off();
  });

  it("full-scale old and new audio of the same sign: the cross-fade clips at ±32767/−32768, never wraps to the other sign", async () => {
    for (const level of [32767, -32768]) {
      const { clock, src, frames, off } = await source(pacing);
      src.push(new Int16Array(48000).fill(level), 48000, 1);
      clock.advance(105);
      const n = frames.length;
      // a fade of 241 samples (5.02 ms): with an even n + 1, both gains × full scale can end in
      // exactly .5 at the same i, both round up, and the sum is one over full scale
      src.clear(5.02);
      src.push(new Int16Array(4800).fill(level), 48000, 1);
      const s = frames[n]!.f.samples;
      for (let i = 0; i < 241; i++)
        if (Math.sign(s[i]!) !== Math.sign(level)) expect.fail(`sample ${i}: ${s[i]} wrapped from ${level}`);
      off();
    }
  });

  it("the fade already gone: the new audio is queued as is (nothing mixed into silence)", async () => {
    const { clock, src, frames, off } = await source(pacing);
    src.push(new Int16Array(9600).fill(10000), 48000, 1);
    clock.advance(45);
    src.clear(5);
    clock.advance(20); // the fade left in this tick
    const n = frames.length;
    src.push(new Int16Array(960).fill(-6000), 48000, 1);
    clock.advance(20);
    expect(Array.from(frames[n]!.f.samples)).toEqual(new Array(960).fill(-6000));
    expect(src.takenPosition).toBe(src.queuedPosition);
    off();
  });
});
