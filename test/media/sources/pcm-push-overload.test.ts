// Overload, agent → caller: PcmPushSource counts the frames of queued audio that did not leave in
// time (a tick that fired more than one period late, or ticks the pacer skipped after a stall) —
// what `rtcgw_bridge_overload_frames_total{direction="agent-to-caller"}` reports. A stall with
// nothing queued (the agent silent) loses no audio and counts nothing.
import { describe, expect, it } from "vitest";
import { loadResampler } from "../../../src/audio/resampler/index.js";
import { VirtualClock } from "../../../src/media/clock.js";
import { PcmPushSource } from "../../../src/media/sources/pcm-push.js";

async function source() {
  await loadResampler();
  const clock = new VirtualClock(0);
  const src = new PcmPushSource({ clock, maxBufferMs: 5000 });
  const off = src.subscribe({ onFrame: () => {} });
  return { clock, src, off };
}

describe("PcmPushSource: frames not sent in time", () => {
  it("on time: none; a 150 ms stall while audio is queued: the late catch-up ticks and the skipped ones", async () => {
    const { clock, src, off } = await source();
    src.push(new Int16Array(48000), 48000, 1); // 1 s queued
    clock.advance(200);
    expect(src.stats().lateFrames).toBe(0);
    // the next timer fires 150 ms late (a blocked event loop): 8 ticks are due at once; the
    // pacer skips the 5 oldest (their audio leaves 100 ms later than it should) and catches up 3,
    // 50, 30 and 10 ms past their targets: two of them more than a period late. 5 + 2.
    let stalls = 1;
    clock.lateness = () => (stalls-- > 0 ? 150 : 0);
    clock.advance(20); // the timer set before the stall fires on time: its successor stalls
    clock.advance(200);
    clock.lateness = undefined;
    const st = src.stats();
    expect(st.lateFrames).toBe(5 + 2);
    off();
  });

  it("the same stall with nothing queued counts nothing", async () => {
    const { clock, src, off } = await source();
    clock.advance(200);
    let stalls = 1;
    clock.lateness = () => (stalls-- > 0 ? 150 : 0);
    clock.advance(20);
    clock.advance(200);
    expect(src.stats().lateFrames).toBe(0);
    off();
  });
});
