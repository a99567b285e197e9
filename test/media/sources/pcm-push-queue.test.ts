// PcmPushSource's queue against a plain array model: whatever the pushes (any length, past the
// bound), ticks and clears, every frame carries exactly the samples the model says — the oldest
// dropped first when full, nothing lost, repeated or reordered. The queue is moved down lazily
// (PcmPushSource #take: only once the space before it is as large as itself), so this is what
// pins its indexing. Virtual clock, 8 kHz in = out (no resampler), a 100 ms bound and a 1 s one (the FIFO starts at 200 ms and grows).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadResampler } from "../../../src/audio/resampler/index.js";
import { VirtualClock } from "../../../src/media/clock.js";
import { PcmPushSource } from "../../../src/media/sources/pcm-push.js";
import { ClockTicks } from "../../support/clock-ticks.js";

const FRAME = 160; // 20 ms at 8 kHz

type Op = { push: number } | { advance: number } | { clear: true };

describe.each(["timer", "ticker"] as const)("PcmPushSource queue (paced by %s)", (pacing) => {
  // 100 ms: below the FIFO's first size; 1 s: it grows (doubling) while the pushes come
  it.each([100, 1000])(
    "property: frames hold exactly what a plain FIFO of the pushed samples says (bound %i ms)",
    async (boundMs) => {
      const CAPACITY = boundMs * 8;
      await loadResampler();
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              { weight: 5, arbitrary: fc.integer({ min: 0, max: CAPACITY * 1.5 }).map((push) => ({ push })) },
              { weight: 5, arbitrary: fc.integer({ min: 0, max: 90 }).map((advance) => ({ advance })) },
              { weight: 1, arbitrary: fc.constant({ clear: true as const }) },
            ),
            { minLength: 1, maxLength: 60 },
          ),
          (ops: Op[]) => {
            const clock = new VirtualClock(0);
            const src = new PcmPushSource({
              rate: 8000,
              maxBufferMs: boundMs,
              clock,
              ...(pacing === "ticker" ? { ticks: new ClockTicks(clock) } : {}),
            });
            const model: number[] = [];
            let next = 1; // every sample pushed is distinct (1..30000, never 0 = silence)
            let frames = 0;
            let bad: string | undefined;
            src.subscribe({
              onFrame: (f) => {
                const want = model.splice(0, FRAME);
                while (want.length < FRAME) want.push(0);
                frames++;
                if (!bad && !want.every((v, i) => v === f.samples[i]))
                  bad = `frame ${frames}: got ${Array.from(f.samples.slice(0, 4))}…, want ${want.slice(0, 4)}…`;
              },
            });
            for (const op of ops) {
              if ("push" in op) {
                const pcm = new Int16Array(op.push);
                for (let i = 0; i < pcm.length; i++) {
                  pcm[i] = next;
                  next = (next % 30000) + 1;
                }
                model.push(...pcm);
                if (model.length > CAPACITY) model.splice(0, model.length - CAPACITY);
                src.push(pcm, 8000, 1);
              } else if ("advance" in op) clock.advance(op.advance);
              else {
                src.clear(0);
                model.length = 0;
              }
              if (src.stats().bufferedMs !== (model.length / 8000) * 1000) bad ??= "bufferedMs differs";
            }
            clock.advance(200); // the rest of the queue out (two frames at most)
            src.end("done");
            if (bad) throw new Error(bad);
            return true;
          },
        ),
        { numRuns: 300 },
      );
    },
  );

  it("a queue 1 s long (an agent far ahead) plays out in order, frame by frame", async () => {
    await loadResampler();
    const clock = new VirtualClock(0);
    const src = new PcmPushSource({
      rate: 8000,
      maxBufferMs: 2000,
      clock,
      ...(pacing === "ticker" ? { ticks: new ClockTicks(clock) } : {}),
    });
    const got: number[] = [];
    src.subscribe({ onFrame: (f) => void got.push(...f.samples) });
    const pcm = Int16Array.from({ length: 8000 }, (_, i) => (i % 30000) + 1);
    src.push(pcm, 8000, 1);
    for (let k = 0; k < 25; k++) {
      clock.advance(20);
      // a frame more pushed now and then while the long queue plays
      if (k % 5 === 0)
        src.push(
          Int16Array.from({ length: FRAME }, () => 31000 + k),
          8000,
          1,
        );
    }
    clock.advance(1200);
    const audio = got.filter((v) => v !== 0);
    const want = [...pcm];
    for (let k = 0; k < 25; k += 5) want.push(...new Array(FRAME).fill(31000 + k));
    expect(audio).toEqual(want);
    src.end("done");
  });
});
