// JumpDetector alone: what proves a jump (packets that keep one offset while wall time passes,
// however much the network scatters them) and what does not (one packet, a burst that drains).
import { describe, expect, it } from "vitest";
import { JumpDetector } from "../../../src/media/receive/jump-detector.js";
import { prng } from "../../support/rtp-stream.js";

/** feed (arrival, offset) pairs; the index of the packet that proved a jump and the jump's packets */
function feed(pairs: [number, number][], jitterMs = 0) {
  const d = new JumpDetector<number>();
  let dropped = 0;
  for (let i = 0; i < pairs.length; i++) {
    const [arrivalMs, offsetMs] = pairs[i]!;
    const r = d.add({ packet: i, arrivalMs, offsetMs }, jitterMs);
    dropped += r.dropped;
    if (r.jump) return { at: i, jump: r.jump.map((x) => x.packet), dropped };
  }
  return { at: undefined, jump: undefined, dropped, pending: d.pending };
}

describe("JumpDetector", () => {
  it("a constant offset over 100 ms of arrivals is a jump; a shorter run is not yet", () => {
    const pairs: [number, number][] = Array.from({ length: 10 }, (_, i) => [i * 20, 500]);
    const r = feed(pairs);
    expect(r.at).toBe(5); // arrivals 0 … 100 ms
    expect(r.jump).toEqual([0, 1, 2, 3, 4, 5]);
    expect(feed(pairs.slice(0, 5)).at).toBeUndefined();
  });

  it("a burst flushed at once, or draining at twice real time, is never a jump", () => {
    // a router releases 40 packets at once: lateness 800, 780, … as it drains
    expect(feed(Array.from({ length: 40 }, (_, i) => [1000 + i * 0.01, 800 - i * 20])).at).toBeUndefined();
    // the backlog leaves at 2× real time: a packet every 10 ms, 10 ms less late each — also when
    // the receiver's depth has grown to its 200 ms maximum (the band stays ≤ 120 ms wide)
    const draining: [number, number][] = Array.from({ length: 80 }, (_, i) => [1000 + i * 10, 800 - i * 10]);
    expect(feed(draining).at).toBeUndefined();
    expect(feed(draining, 200).at).toBeUndefined();
  });

  it("packets scattered over 120 ms around one offset prove a jump within 300 ms; outliers are dropped, not replayed", () => {
    let worst = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rand = prng(seed);
      const pairs: [number, number][] = Array.from({ length: 60 }, (_, i) => {
        const jitter = rand() * 118;
        return [i * 20 + jitter, 400 + jitter];
      });
      pairs.sort((a, b) => a[0] - b[0]);
      const r = feed(pairs);
      expect(r.at, `seed ${seed}`).toBeDefined();
      worst = Math.max(worst, pairs[r.at!]![0]);
      // the replayed packets lie within twice the band (±60 ms) of the newest one's offset
      const newest = pairs[r.at!]![1];
      for (const i of r.jump!) expect(Math.abs(pairs[i]![1] - newest)).toBeLessThanOrEqual(60);
      expect(r.jump!.length + r.dropped).toBe(r.at! + 1);
    }
    console.log(`a jump proved at most ${worst.toFixed(0)} ms after its first packet (20 seeds)`);
    expect(worst).toBeLessThanOrEqual(300);
  });

  it("the band widens to the network's scatter the caller reports (its depth), up to 120 ms", () => {
    // offsets alternate 400 / 450 ms: within ±30 ms only every other packet agrees (arrivals 0,
    // 40, 80, 120 ms: proved at the 7th packet); a band 100 ms wide takes them all (the 6th)
    const pairs: [number, number][] = Array.from({ length: 12 }, (_, i) => [i * 20, 400 + (i % 2) * 50]);
    expect(feed(pairs).at).toBe(6);
    expect(feed(pairs, 100).at).toBe(5);
    // 100 ms apart: together in no band, however large the depth the caller reports
    const apart: [number, number][] = Array.from({ length: 12 }, (_, i) => [i * 20, 400 + (i % 2) * 100]);
    expect(feed(apart, 200).at).toBe(6);
  });

  it("a usable packet ends the run: its packets are counted, a flood cannot grow memory", () => {
    const d = new JumpDetector<number>();
    for (let i = 0; i < 200; i++) d.add({ packet: i, arrivalMs: 0, offsetMs: 500 });
    expect(d.pending).toBe(64);
    expect(d.reset()).toBe(64);
    expect(d.pending).toBe(0);
  });
});
