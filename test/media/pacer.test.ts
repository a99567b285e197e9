import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { realClock, VirtualClock } from "../../src/media/clock.js";
import { Pacer } from "../../src/media/send/pacer.js";
import { ClockTicks } from "../support/clock-ticks.js";

describe("pacer", () => {
  it("no drift over a virtual hour with a late, jittery event loop", () => {
    const clock = new VirtualClock(12_345.678);
    // every timer fires 0..7 ms late (deterministic pseudo-random)
    let seed = 42;
    clock.lateness = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed % 7000) / 1000;
    };
    const start = clock.now();
    let ticks = 0;
    let lastTarget = 0;
    let lastIndex = -1;
    let maxLag = 0;
    const pacer = new Pacer(
      (index, target) => {
        expect(index).toBe(lastIndex + 1);
        lastIndex = index;
        ticks++;
        lastTarget = target;
        maxLag = Math.max(maxLag, clock.now() - target);
      },
      { clock },
    );
    pacer.start();
    clock.advance(3_600_000 + 10); // +10: room for the last tick's timer lateness
    // exactly one tick per 20 ms of virtual time: 180 000 (nothing lost, nothing extra)
    expect(ticks).toBe(180_000);
    expect(lastTarget - start).toBeCloseTo(3_600_000, 6);
    // lateness never accumulates: each tick is at most one timer-lateness behind its target
    expect(maxLag).toBeLessThan(7);
    expect(pacer.stats().skipped).toBe(0);
    pacer.stop();
    expect(clock.pending).toBe(0);
  });

  it("a naive now+period scheduler on the same loop drifts (the test can fail)", () => {
    const clock = new VirtualClock();
    clock.lateness = () => 1;
    let ticks = 0;
    const naive = () => {
      ticks++;
      clock.setTimeout(naive, 20);
    };
    clock.setTimeout(naive, 20);
    clock.advance(3_600_000);
    expect(ticks).toBeLessThan(180_000 * 0.96); // 1 ms lost per tick
  });

  it("after a stall it catches up a few ticks, skips older ones and counts them", () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const pacer = new Pacer((i) => seen.push(i), { clock, maxCatchUp: 3 });
    pacer.start();
    clock.advance(120); // ticks 0..5
    let stall = true;
    clock.lateness = () => {
      // the next wake-up comes 500 ms late, later ones on time
      const late = stall ? 500 : 0;
      stall = false;
      return late;
    };
    clock.advance(680);
    const st = pacer.stats();
    expect(st.skipped).toBeGreaterThan(0);
    expect(st.ticks + st.skipped).toBe(40); // 800 ms of targets, every one either emitted or skipped
    expect(st.lateWakeups).toBe(1);
    pacer.stop();
  });

  it("stop() clears its timer; start() again begins a new time line", () => {
    const clock = new VirtualClock();
    let n = 0;
    const pacer = new Pacer(() => n++, { clock });
    pacer.start();
    clock.advance(200);
    pacer.stop();
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(n).toBe(10);
    pacer.start();
    clock.advance(200);
    expect(n).toBe(20);
  });

  it("real time: 1 s on the real clock gives 50 ticks and little drift", async () => {
    // keyed by tick index, not by arrival: under load a stall longer than maxCatchUp periods
    // makes the pacer skip ticks (counted), and the n-th tick emitted is then not tick n
    const ticks = new Map<number, { target: number; fired: number }>();
    const pacer = new Pacer((i, target) => ticks.set(i, { target, fired: realClock.now() }), {
      clock: realClock,
    });
    const t0 = realClock.now();
    pacer.start();
    await new Promise((r) => setTimeout(r, 1010));
    const stoppedAt = realClock.now(); // under load later than 1010 ms: the test's own timer is late too
    pacer.stop();
    const st = pacer.stats();
    const emitted = [...ticks.keys()];
    const last = emitted.at(-1)!;
    // every 20 ms target up to the stop was either emitted, in order, or counted as skipped:
    // 50 on a quiet machine (stop at 1010 ms), one per 20 ms up to the stop on a busy one (the
    // last may still have been waiting for its wake-up)
    expect(emitted).toEqual([...emitted].sort((a, b) => a - b));
    expect(st.ticks).toBe(emitted.length);
    expect(emitted.length + st.skipped).toBe(last + 1);
    const passed = Math.floor((stoppedAt - t0) / 20);
    expect(passed).toBeGreaterThanOrEqual(50);
    expect(last + 1).toBeGreaterThanOrEqual(passed - 1);
    expect(last + 1).toBeLessThanOrEqual(passed);
    // no drift: tick i's target is t0 + (i + 1) · 20 ms on the absolute time line, whatever the
    // wake-ups did — the 50th (index 49) exactly 1000 ms after start
    for (const [i, { target }] of ticks) {
      expect(target - t0).toBeGreaterThanOrEqual((i + 1) * 20 - 0.1);
      expect(target - t0).toBeLessThanOrEqual((i + 1) * 20 + 0.1);
    }
    const fiftieth = ticks.get(49);
    if (fiftieth) {
      // the real wake-up is close to it (busy machine: 40 ms)
      expect(fiftieth.fired - fiftieth.target).toBeLessThan(40);
    } else {
      // skipped: only a wake-up more than maxCatchUp (3) periods late skips, and it is counted
      expect(st.skipped).toBeGreaterThan(0);
      expect(st.maxLateMs).toBeGreaterThanOrEqual(60);
    }
    // and no emitted tick is older than maxCatchUp (3) periods at the wake-up that emits it: stale
    // audio is skipped, not sent (+5 ms: the pacer reads the clock before the handler does, and a
    // GC pause may fall between)
    for (const { target, fired } of ticks.values()) expect(fired - target).toBeLessThan(3 * 20 + 5);
  });

  it("property: whatever the timer lateness, every 20 ms target up to now is emitted or counted as skipped, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 200, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 20_000 }),
        (lates, runMs) => {
          const clock = new VirtualClock(1000);
          let k = 0;
          clock.lateness = () => lates[k++ % lates.length]!;
          const seen: number[] = [];
          const pacer = new Pacer((i) => seen.push(i), { clock });
          pacer.start();
          clock.advance(runMs + 250); // room for the last wake-up's lateness
          const st = pacer.stats();
          pacer.stop();
          const increasing = seen.every((v, i) => i === 0 || v > seen[i - 1]!);
          const targets = Math.floor((runMs + 250) / 20);
          // every target passed is either emitted or skipped, except those still waiting for a late wake-up
          return (
            increasing &&
            st.ticks === seen.length &&
            st.ticks + st.skipped <= targets &&
            st.ticks + st.skipped >= targets - 11
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

// Driven by the node's shared ticker (src/node/process/ticker.ts) instead of a timer of its own:
// the same grid, one tick per call of the source, the same catch-up and skip after a stall.
describe("pacer on a shared tick source", () => {
  it.each([
    ["gives its due times (the node's ticker)", true],
    ["gives none", false],
  ])(
    "a virtual hour, the source 0..7 ms late at random and %s: one tick per call, in order, no timer of its own",
    (_, giveDue) => {
      const clock = new VirtualClock(12_345.678);
      const ticks = new ClockTicks(clock, 20, 3.25, giveDue); // its slice: 3.25 ms into each period
      let seed = 7;
      clock.lateness = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return (seed % 7000) / 1000;
      };
      const seen: number[] = [];
      const pacer = new Pacer((i) => seen.push(i), { clock, ticks });
      clock.advance(9); // started between two calls of the source
      pacer.start();
      const pendingWithPacer = clock.pending;
      const calls0 = ticks.calls;
      clock.advance(3_600_000);
      const calls = ticks.calls - calls0;
      expect(calls).toBeGreaterThanOrEqual(179_999);
      // exactly one tick per call of the source, consecutive: nothing skipped, nothing doubled
      expect(seen.length).toBe(calls);
      expect(seen.every((v, i) => v === i)).toBe(true);
      expect(pacer.stats().skipped).toBe(0);
      // the pacer armed no timer: the only one pending is the source's own
      expect(pendingWithPacer).toBe(1);
      pacer.stop();
      expect(ticks.size).toBe(0); // unsubscribed
    },
  );

  it("after a 500 ms stall of the source it catches up 3 ticks, skips the older ones and counts them", () => {
    const clock = new VirtualClock();
    const ticks = new ClockTicks(clock);
    const seen: number[] = [];
    const pacer = new Pacer((i) => seen.push(i), { clock, ticks, maxCatchUp: 3 });
    pacer.start();
    clock.advance(120); // calls at 20 … 120: ticks 0..5
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    let stall = true;
    clock.lateness = () => {
      const late = stall ? 500 : 0; // the next call comes 500 ms late, later ones on time
      stall = false;
      return late;
    };
    clock.advance(680); // to 800 ms
    const st = pacer.stats();
    // the grid is anchored half a period before the first call (20 ms): tick i is due at
    // 10 + 20·i ms. The call at 140 (armed before the stall) emitted tick 6; the next one came at
    // 660 instead of 160 and found ticks 7..32 due: it emitted the newest 3 and skipped 23
    expect(seen.slice(6, 10)).toEqual([6, 30, 31, 32]);
    expect(st.skipped).toBe(23);
    // every 20 ms of the grid up to the last call either emitted or skipped
    expect(st.ticks + st.skipped).toBe(seen.at(-1)! + 1);
    expect(seen.at(-1)! + 1).toBeGreaterThanOrEqual(39);
    expect(st.lateWakeups).toBe(1);
    pacer.stop();
  });

  it("on the source's due times a late call is a late timer: 55 ms late catches up 3 ticks, 65 ms late skips one (counted)", () => {
    for (const [lateMs, skipped] of [
      [55, 0],
      [65, 1],
    ] as const) {
      const clock = new VirtualClock();
      const ticks = new ClockTicks(clock, 20, 0, true);
      const seen: number[] = [];
      const pacer = new Pacer((i) => seen.push(i), { clock, ticks, maxCatchUp: 3 });
      pacer.start();
      clock.advance(100); // calls at 20 … 100: ticks 0..4
      let once = true;
      clock.lateness = () => {
        const late = once ? lateMs : 0;
        once = false;
        return late;
      };
      clock.advance(200); // the call due at 140 comes lateMs late
      expect(pacer.stats().skipped).toBe(skipped);
      // every tick up to the last call emitted or skipped, in order
      expect(seen.every((v, i) => i === 0 || v > seen[i - 1]!)).toBe(true);
      expect(seen.length + skipped).toBe(seen.at(-1)! + 1);
      pacer.stop();
    }
  });

  it("stop() unsubscribes; start() again anchors a new grid at the next call", () => {
    const clock = new VirtualClock();
    const ticks = new ClockTicks(clock);
    let n = 0;
    const pacer = new Pacer(() => n++, { clock, ticks });
    pacer.start();
    clock.advance(200);
    expect(n).toBe(10);
    pacer.stop();
    expect(ticks.size).toBe(0);
    clock.advance(1000);
    expect(n).toBe(10);
    pacer.start();
    clock.advance(200);
    expect(n).toBe(20);
    expect(pacer.stats().skipped).toBe(0);
    pacer.stop();
  });
});
