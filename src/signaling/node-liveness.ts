// What the signaling concludes when a media node does not answer: the node is marked suspect in
// the registry (not picked for SUSPECT_TTL_MS; the mark is cleared when the node registers again)
// and, if it has also missed its heartbeat, its sessions are ended with reason "node-lost": their
// media died with it, and their clients are told so instead of "connected" until the records
// expire (60 s).
import type { Logger } from "../log/index.js";
import type { NodeRecord, SessionRecord, SessionTombstone } from "../registry/types.js";
import type { SignalingDeps } from "./deps.js";
import { SUSPECT_TTL_MS } from "./deps.js";
import { NodeTimeoutError, NodeUnreachableError } from "./errors.js";

/** A control call failed because the node did not answer at all (refused, reset, timed out). */
export const nodeDidNotAnswer = (e: unknown) =>
  e instanceof NodeUnreachableError || e instanceof NodeTimeoutError;

/** Marks the node suspect; never throws (the registry may be the thing that is down). */
export async function markSuspect(deps: SignalingDeps, node: NodeRecord, log: Logger): Promise<void> {
  try {
    await deps.registry.markNodeSuspect(node.id, SUSPECT_TTL_MS);
    log.warn({ nodeId: node.id }, "media node did not answer: marked suspect");
  } catch (e) {
    log.warn({ nodeId: node.id, err: (e as Error).message }, "could not mark a media node suspect");
  }
}

/** The node missed its heartbeat: within the stale margin of its record's expiry. */
export function missedHeartbeat(node: NodeRecord, now: number): boolean {
  return node.staleMarginMs !== undefined && node.expiresAt - now <= node.staleMarginMs;
}

/**
 * What a failed control call says about its node: when the node did not answer at all, it is
 * marked suspect, and it is gone — its sessions' media died with it — when it has also missed its
 * heartbeat (true). Any other failure (a refusal, an answer) says nothing of the kind (false).
 */
export async function nodeGone(
  deps: SignalingDeps,
  node: NodeRecord,
  e: unknown,
  log: Logger,
): Promise<boolean> {
  if (!nodeDidNotAnswer(e)) return false;
  await markSuspect(deps, node, log);
  return missedHeartbeat(node, deps.now());
}

/** Ends a session whose node is gone; the tombstone (this one, or an earlier end's) is returned. */
export async function endLostSession(
  deps: SignalingDeps,
  record: SessionRecord,
  log: Logger,
): Promise<SessionTombstone | undefined> {
  const t = await deps.registry.endSession(record.id, {
    reason: "node-lost",
    ttlMs: deps.config.RTCGW_TOMBSTONE_TTL * 1000,
  });
  log.warn({ nodeId: record.nodeId, reason: t?.reason }, "session ended: its media node is gone");
  return t;
}
