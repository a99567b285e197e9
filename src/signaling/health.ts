// GET /v1/health: liveness of the signaling and its registry, and how many media nodes can take
// sessions. 200 when the registry answers, 503 otherwise (load balancers read the status only).
import type { SignalingDeps } from "./deps.js";
import type { Result } from "./response.js";
import { json } from "./response.js";

export async function health(deps: SignalingDeps): Promise<Result> {
  const started = deps.now();
  try {
    // listing the nodes is the registry round trip (a separate ping would cost a cold start a
    // second one)
    const nodes = await deps.registry.listNodes();
    const usable = nodes.filter((n) => !n.draining && n.load < n.capacity);
    return json(200, {
      status: "ok",
      registry: { kind: deps.registry.kind, ok: true, latencyMs: deps.now() - started },
      nodes: {
        live: nodes.length,
        accepting: usable.length,
        capacity: usable.reduce((s, n) => s + n.capacity - n.load, 0),
      },
    });
  } catch (e) {
    deps.logger.warn({ err: (e as Error).message }, "health: registry unavailable");
    return json(
      503,
      { status: "unavailable", registry: { kind: deps.registry.kind, ok: false } },
      { "retry-after": "5" },
    );
  }
}
