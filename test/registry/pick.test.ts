// pickLeastLoaded on its own: the least-utilised node wins, and nodes tied at the least load are
// chosen among uniformly (injected random source), so a burst of offers that all see the same
// heartbeat-reported loads spreads over the tied nodes instead of piling onto one.
import { describe, expect, it } from "vitest";
import { pickLeastLoaded } from "../../src/registry/pick.js";
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

/** a deterministic random source: the given values in turn */
const sequence = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};

describe("pickLeastLoaded", () => {
  it("takes the least-utilised node whatever the random source says", () => {
    const nodes = [n("a", 5), n("b", 2), n("c", 9), n("d", 30, 200)];
    for (const r of [0, 0.5, 0.999]) expect(pickLeastLoaded(nodes, NOW, () => r)?.id).toBe("b");
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
  });

  it("prefers more free slots at equal utilisation", () => {
    expect(pickLeastLoaded([n("small", 1, 10), n("big", 10, 100)], NOW, () => 0)?.id).toBe("big");
  });

  it("chooses each of k tied nodes with probability 1/k (reservoir sampling)", () => {
    const tied = [n("t1", 3), n("t2", 3), n("t3", 3), n("heavier", 4)];
    // the second tie replaces the first when random·2 < 1, the third when random·3 < 1
    expect(pickLeastLoaded(tied, NOW, sequence(0.9, 0.9))?.id).toBe("t1");
    expect(pickLeastLoaded(tied, NOW, sequence(0.4, 0.9))?.id).toBe("t2");
    expect(pickLeastLoaded(tied, NOW, sequence(0.9, 0.3))?.id).toBe("t3");
    // over an even grid of random values, the three twins come out equally often
    const counts: Record<string, number> = {};
    const steps = 30;
    for (let i = 0; i < steps; i++)
      for (let j = 0; j < steps; j++) {
        const id = pickLeastLoaded(tied, NOW, sequence((i + 0.5) / steps, (j + 0.5) / steps))!.id;
        counts[id] = (counts[id] ?? 0) + 1;
      }
    expect(counts).toEqual({ t1: 300, t2: 300, t3: 300 });
  });

  it("spreads 20 simultaneous picks over two idle nodes (what a burst of offers sees)", () => {
    const nodes = [n("w0", 0), n("w1", 0)];
    const picks = Array.from(
      { length: 20 },
      (_, i) => pickLeastLoaded(nodes, NOW, () => (i % 2) * 0.5 + 0.25)!.id,
    );
    expect(picks.filter((id) => id === "w0")).toHaveLength(10);
    expect(picks.filter((id) => id === "w1")).toHaveLength(10);
  });
});
