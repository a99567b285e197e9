// PcmPushSource with earlyStart (the bridge's audio back): an application that streams in real
// time, whose 20 ms frames sometimes arrive just after their tick (WebSocket jitter), is heard
// without holes — the tick that finds less than a frame mid-stream owes its slot, and the slot
// leaves the moment the frame comes, at its own pts. Without it each such tick sent 20 ms of
// silence and the audio went on one slot later. Virtual clock, 48 kHz in = out.
import { describe, expect, it } from "vitest";
import { loadResampler } from "../../../src/audio/resampler/index.js";
import { VirtualClock } from "../../../src/media/clock.js";
import type { AudioFrame } from "../../../src/media/frame.js";
import { PcmPushSource } from "../../../src/media/sources/pcm-push.js";
import { ClockTicks } from "../../support/clock-ticks.js";

const FRAME = 960; // 20 ms at 48 kHz

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
  const off = src.subscribe({ onFrame: (f) => void frames.push({ at: clock.now(), f }) });
  return { clock, src, frames, off };
}

/** frame i of a stream: every sample says which frame it is (1-based, never silence) */
const frame = (i: number) => new Int16Array(FRAME).fill(i + 1);

describe.each(["timer", "ticker"] as const)(
  "PcmPushSource: a real-time stream with jitter (paced by %s)",
  (pacing) => {
    it("a frame that arrives just after its tick leaves on arrival in its own slot: no silence inserted, pts contiguous", async () => {
      const { clock, src, frames, off } = await source(pacing);
      // frames pushed every 20 ms; each fourth one 3 ms after its tick instead of 3 ms before
      const at = (i: number) => 17 + 20 * i + (i % 4 === 3 ? 6 : 0);
      for (let i = 0; i < 40; i++) {
        clock.advance(at(i) - clock.now());
        src.push(frame(i), 48000, 1);
      }
      clock.advance(at(40) - clock.now());
      // every frame's audio out exactly once, in order, with no silent frame between
      const levels = frames.map((x) => x.f.samples[0]);
      const firstAudio = levels.findIndex((v) => v !== 0);
      const stream = levels.slice(firstAudio, firstAudio + 40);
      expect(stream).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      // pts on the grid: one frame per slot, contiguous
      for (let k = 1; k < frames.length; k++) expect(frames[k]!.f.pts - frames[k - 1]!.f.pts).toBe(FRAME);
      // a late frame left when it was pushed (not 20 ms later at the next tick)
      const late = frames.find((x) => x.f.samples[0] === 4)!;
      expect(late.at).toBe(at(3));
      expect(src.stats().slotsWaited).toBe(10); // frames 3, 7, …, 39
      expect(src.stats().underruns).toBe(firstAudio); // only the silence before the stream
      off();
    });

    it("the stream's end: the owed slot leaves as it is at the next tick, with that tick's frame — the grid stays on wall time", async () => {
      const { clock, src, frames, off } = await source(pacing);
      clock.advance(5);
      src.push(new Int16Array(FRAME * 2 + 480).fill(7), 48000, 1); // 50 ms, then nothing more
      clock.advance(200);
      // ticks at 20, 40, …, 200 → 10 slots; plus the early first frame at 5 (its tick skipped)
      const total = Math.floor(205 / 20);
      expect(frames.length).toBe(total);
      const audio = frames.flatMap((x) => Array.from(x.f.samples)).filter((v) => v === 7).length;
      expect(audio).toBe(FRAME * 2 + 480); // nothing lost, nothing twice
      for (let k = 1; k < frames.length; k++) expect(frames[k]!.f.pts - frames[k - 1]!.f.pts).toBe(FRAME);
      off();
    });
  },
);
