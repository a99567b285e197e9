// Least-loaded choice among nodes, shared by every store so they all pick the same way.
import type { NodeRecord } from "./types.js";

/** True if a node may take a new session at `now`: unexpired, not draining, with a free slot. */
export function canTakeSession(n: NodeRecord, now: number): boolean {
  return n.expiresAt > now && !n.draining && n.load < n.capacity;
}

/**
 * The node with the lowest utilisation (load / capacity) among those that can take a session;
 * ties go to the node with more free slots, and nodes still tied (same load, same capacity) are
 * chosen among at random. Loads reach the registry with the heartbeat (every few seconds), so a
 * burst of offers sees the same figures: a fixed tie-break (say, the lower id) would send the
 * whole burst to one node while its twins stay idle; a random one spreads it evenly.
 *
 * `random` (0 ≤ x < 1) is injectable for tests; reservoir sampling keeps it one pass, each of
 * the k tied nodes chosen with probability 1/k.
 */
export function pickLeastLoaded(
  nodes: Iterable<NodeRecord>,
  now: number,
  random: () => number = Math.random,
): NodeRecord | undefined {
  let best: NodeRecord | undefined;
  let ties = 0;
  for (const n of nodes) {
    if (!canTakeSession(n, now)) continue;
    const c = best === undefined ? -1 : compareLoad(n, best);
    if (c < 0) {
      best = n;
      ties = 1;
    } else if (c === 0 && random() * ++ties < 1) {
      best = n;
    }
  }
  return best;
}

/** < 0: `a` is less loaded than `b`; 0: as loaded (same utilisation and free slots). */
function compareLoad(a: NodeRecord, b: NodeRecord): number {
  // Cross-multiplied to compare load/capacity without floating-point error.
  const ua = a.load * b.capacity;
  const ub = b.load * a.capacity;
  if (ua !== ub) return ua < ub ? -1 : 1;
  // more free slots first
  return b.capacity - b.load - (a.capacity - a.load);
}
