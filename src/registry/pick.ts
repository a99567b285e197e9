// Least-loaded choice among nodes, shared by every store so they all pick the same way.
import type { NodeRecord } from "./types.js";

/** True if a node may take a new session at `now`: unexpired, not draining, with a free slot. */
export function canTakeSession(n: NodeRecord, now: number): boolean {
  return n.expiresAt > now && !n.draining && n.load < n.capacity;
}

/**
 * The node with the lowest utilisation (load / capacity) among those that can take a session;
 * ties go to the node with more free slots, then to the lower id (deterministic).
 */
export function pickLeastLoaded(nodes: Iterable<NodeRecord>, now: number): NodeRecord | undefined {
  let best: NodeRecord | undefined;
  for (const n of nodes) {
    if (!canTakeSession(n, now)) continue;
    if (best === undefined || isLessLoaded(n, best)) best = n;
  }
  return best;
}

function isLessLoaded(a: NodeRecord, b: NodeRecord): boolean {
  // Cross-multiplied to compare load/capacity without floating-point error.
  const ua = a.load * b.capacity;
  const ub = b.load * a.capacity;
  if (ua !== ub) return ua < ub;
  const fa = a.capacity - a.load;
  const fb = b.capacity - b.load;
  if (fa !== fb) return fa > fb;
  return a.id < b.id;
}
