// GET /v1/health: liveness of the signaling and its registry, and how many media nodes can take
// sessions. 200 when the registry answers and at least one node can take a session; 503 with the
// reason and Retry-After otherwise (load balancers read the status only; people read the reason).
// A 200 is "degraded", with a reason, when an accepting node cannot record (its recordings disk
// below its free-space floor, full or unwritable, as its heartbeat reports): sessions that write
// no file still go everywhere, recordings only to the others (and nowhere when none can record).
import { canTakeSession } from "../registry/pick.js";
import type { SignalingDeps } from "./deps.js";
import { retryAfter } from "./errors.js";
import type { Result } from "./response.js";
import { json } from "./response.js";

/** what each of a node's recordUnavailable reasons means (src/node/recordings-probe.ts): which of
 *  its two checks tripped. A reason not listed (a newer node's) is shown as it is. */
const CANNOT_RECORD = new Map([
  [
    "disk-low",
    "disk-low: free space on its recordings disk is below its floor, RTCGW_RECORDINGS_MIN_FREE_MB",
  ],
  ["disk-full", "disk-full: its write probe was refused for want of room"],
  ["unwritable", "unwritable: its write probe failed"],
]);

export async function health(deps: SignalingDeps): Promise<Result> {
  const started = deps.now();
  try {
    // listing the nodes is the registry round trip (a separate ping would cost a cold start a
    // second one)
    const nodes = await deps.registry.listNodes();
    const now = deps.now();
    const usable = nodes.filter((n) => canTakeSession(n, now));
    const cannotRecord = usable.filter((n) => n.recordUnavailable !== undefined);
    const body = {
      registry: { kind: deps.registry.kind, ok: true, latencyMs: now - started },
      nodes: {
        live: nodes.length,
        accepting: usable.length,
        capacity: usable.reduce((s, n) => s + n.capacity - n.load, 0),
        recording: usable.length - cannotRecord.length,
      },
    };
    if (usable.length === 0)
      return json(
        503,
        {
          status: "unavailable",
          reason:
            nodes.length === 0
              ? "no media node is registered"
              : `none of the ${nodes.length} live media node(s) can take a session (full, draining, not answering or missing heartbeats)`,
          ...body,
        },
        retryAfter(),
      );
    if (cannotRecord.length > 0) {
      const why = [...new Set(cannotRecord.map((n) => n.recordUnavailable!))]
        .map((r) => CANNOT_RECORD.get(r) ?? r)
        .join("; ");
      return json(200, {
        status: "degraded",
        reason:
          cannotRecord.length === usable.length
            ? `none of the ${usable.length} accepting media node(s) can record (${why}): sessions that record are refused 503`
            : `${cannotRecord.length} of the ${usable.length} accepting media node(s) cannot record (${why}): recordings go to the others`,
        ...body,
        cannotRecord: cannotRecord.map((n) => ({ nodeId: n.id, reason: n.recordUnavailable })),
      });
    }
    return json(200, { status: "ok", ...body });
  } catch (e) {
    deps.logger.warn({ err: (e as Error).message }, "health: registry unavailable");
    return json(
      503,
      {
        status: "unavailable",
        reason: "the session registry is unavailable",
        registry: { kind: deps.registry.kind, ok: false },
      },
      retryAfter(),
    );
  }
}
