// The shared ticker: every subscriber ticks once per 20 ms period, sessions spread over the
// period's slices, and one throwing subscriber does not stop the others.
import { expect, it } from "vitest";
import { SharedTicker } from "../../src/node/ticker.js";

it("ticks every subscriber once per period, spread over 4 slices", async () => {
  const t = new SharedTicker(20, 4);
  const calls: number[][] = Array.from({ length: 8 }, () => []);
  const unsub = calls.map((c, i) =>
    t.subscribe(() => {
      if (i === 3) throw new Error("one bad session");
      c.push(performance.now());
    }),
  );
  expect(t.size).toBe(8);
  await new Promise((r) => setTimeout(r, 500));
  for (const u of unsub) u();
  expect(t.size).toBe(0);
  for (const [i, c] of calls.entries()) {
    if (i === 3) continue;
    // ~25 ticks in 500 ms on a busy machine: at least 15, never more than one per period
    expect(c.length).toBeGreaterThan(15);
    expect(c.length).toBeLessThanOrEqual(26);
  }
  // subscribers 0 and 1 sit in different slices: their ticks are ~5 ms apart, not simultaneous
  const offsets = calls[1]!.slice(2, 12).map((x, k) => (x - calls[0]![k + 2]! + 20) % 20);
  const median = offsets.sort((a, b) => a - b)[5]!;
  expect(median).toBeGreaterThan(2);
});
