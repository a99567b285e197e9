// The shared ticker: every subscriber ticks once per 20 ms period, sessions spread over the
// period's slices, and one throwing subscriber does not stop the others.
import { expect, it } from "vitest";
import { SharedTicker } from "../../src/node/process/ticker.js";

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

it("after a stall, packets that arrived meanwhile are delivered before the sessions tick", async () => {
  const { createSocket } = await import("node:dgram");
  const rx = createSocket("udp4");
  await new Promise<void>((r) => rx.bind(0, "127.0.0.1", () => r()));
  const tx = createSocket("udp4");
  const order: string[] = [];
  let stalled = false;
  rx.on("message", () => {
    if (stalled) order.push("packet");
  });
  const t = new SharedTicker(20, 1);
  const unsub = t.subscribe(() => {
    if (stalled) order.push("tick");
  });
  await new Promise((r) => setTimeout(r, 50)); // ticking normally
  // the loop stalls for 60 ms; a packet arrives during the stall
  stalled = true;
  tx.send(Buffer.from("rtp"), rx.address().port, "127.0.0.1");
  const until = performance.now() + 60;
  while (performance.now() < until) {}
  await new Promise((r) => setTimeout(r, 30));
  unsub();
  rx.close();
  tx.close();
  // the timer was due first, but the tick waited for the queued packet
  expect(order[0]).toBe("packet");
  expect(order).toContain("tick");
});
