// How a store turns validated input into the records it keeps: one definition, so every store
// starts a session at version 1 and computes expiry the same way (the contract suite relies on it).
import type { NewSession, NodeRecord, SessionEnd, SessionRecord, SessionTombstone } from "./types.js";

export function newNodeRecord(node: Omit<NodeRecord, "expiresAt">, ttlMs: number, now: number): NodeRecord {
  return {
    id: node.id,
    controlUrl: node.controlUrl,
    capacity: node.capacity,
    load: node.load,
    expiresAt: now + ttlMs,
    ...(node.draining ? { draining: true } : {}),
    ...(node.staleMarginMs !== undefined ? { staleMarginMs: node.staleMarginMs } : {}),
    ...(node.turnUrls && node.turnUrls.length > 0 ? { turnUrls: [...node.turnUrls] } : {}),
    ...(node.recordUnavailable !== undefined ? { recordUnavailable: node.recordUnavailable } : {}),
  };
}

export function newTombstone(s: SessionRecord, end: SessionEnd, now: number): SessionTombstone {
  return {
    id: s.id,
    nodeId: s.nodeId,
    kind: s.kind,
    tokenHash: s.tokenHash,
    reason: end.reason,
    endedAt: now,
    expiresAt: now + end.ttlMs,
  };
}

export function newSessionRecord(s: NewSession, now: number): SessionRecord {
  return {
    id: s.id,
    nodeId: s.nodeId,
    kind: s.kind,
    profile: s.profile,
    tokenHash: s.tokenHash,
    state: s.state,
    etag: s.etag,
    ...(s.sourceSessionId !== undefined ? { sourceSessionId: s.sourceSessionId } : {}),
    createdAt: now,
    version: 1,
    expiresAt: now + s.ttlMs,
  };
}
