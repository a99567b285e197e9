// pickLeastLoaded on its own (injected random source): nodes clearly busier than the least
// loaded are never chosen; among those within LOAD_BAND of it, the choice is random, weighted
// by free slots, so a burst of offers that all see the same heartbeat-reported loads spreads
// over them instead of piling onto one.
import { describe, expect, it } from "vitest";
import { LOAD_BAND, pickLeastLoaded } from "../../src/registry/pick.js";
import type { NodeRecord } from "../../src/registry/types.js";

const NOW = 1_000_000;
const n = (id: string, load: number, capacity = 100, over: Partial<NodeRecord> = {}): NodeRecord => ({
  id,
  controlUrl: `http://127.0.0.1:9090/${id}`,
  capacity,
  load,
  expiresAt: NOW + 10_000,
  ...over,
});

/** how often each node is picked over an even grid of `steps` random values */
function shares(nodes: NodeRecord[], steps = 1000): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < steps; i++) {
    const id = pickLeastLoaded(nodes, NOW, () => (i + 0.5) / steps)!.id;
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

describe("pickLeastLoaded", () => {
  it("takes the least-utilised node when the others are clearly busier, whatever the random source", () => {
    const nodes = [n("a", 20), n("b", 2), n("c", 9), n("d", 30, 200)];
    expect(shares(nodes)).toEqual({ b: 1000 });
  });

  it("skips expired, draining and full nodes", () => {
    const nodes = [
      n("expired", 0, 100, { expiresAt: NOW }),
      n("draining", 0, 100, { draining: true }),
      n("full", 10, 10),
      n("ok", 50),
    ];
    expect(pickLeastLoaded(nodes, NOW)?.id).toBe("ok");
    expect(pickLeastLoaded(nodes.slice(0, 3), NOW)).toBeUndefined();
    expect(pickLeastLoaded([], NOW)).toBeUndefined();
  });

  it("spreads over the nodes within the band, in proportion to their free slots", () => {
    // 0 %, 4 % and 5 % are within LOAD_BAND (5 %) of the lowest; 6 % is not
    expect(LOAD_BAND).toBe(0.05);
    const nodes = [n("w0", 0), n("w1", 4), n("w2", 5), n("out", 6)];
    // free slots 100 : 96 : 95 of 291
    expect(shares(nodes, 2910)).toEqual({ w0: 1000, w1: 960, w2: 950 });
    // capacities differ: twice the headroom, twice the share
    expect(shares([n("small", 0, 100), n("big", 0, 200)], 300)).toEqual({ small: 100, big: 200 });
  });

  it("splits 20 simultaneous offers 10 / 10 over two idle workers (what a burst sees)", () => {
    expect(shares([n("w0", 0, 400), n("w1", 0, 400)], 20)).toEqual({ w0: 10, w1: 10 });
  });

  it("never picks a node above the band, even with the extreme random values", () => {
    const nodes = [n("light", 10), n("heavy", 16)];
    for (const r of [0, 0.999999]) expect(pickLeastLoaded(nodes, NOW, () => r)?.id).toBe("light");
  });
});
