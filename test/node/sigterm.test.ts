// SIGTERM drains: the node process stops taking sessions, marks itself draining in the registry,
// lets sessions finish within the grace period, closes the rest, deregisters and exits 0. Real
// processes, a real redis-server of this file's own. (The supervisor's SIGTERM: supervisor.test.ts.)
import { describe, expect, it } from "vitest";
import type { NodeRecord } from "../../src/registry/types.js";
import { ClientPeer } from "../support/client-peer.js";
import {
  connectEchoSession,
  control,
  nodeProcessFixture,
  spawnNodeProcess,
} from "../support/node-process.js";
import { newSessionId, waitFor } from "./harness.js";

const fx = nodeProcessFixture();

describe("SIGTERM", () => {
  it("a node drains: 503 for new sessions, draining in the registry, sessions closed at the grace, exit 0", {
    timeout: 30_000,
  }, async () => {
    // any free control port: a port picked here could be taken by the time the node binds it
    const { child, exit } = spawnNodeProcess(["src/node/process/worker.ts"], {
      RTCGW_REGISTRY: fx.redis.url,
      NODE_PORT: "0",
    });
    let nodes: NodeRecord[] = [];
    await waitFor(
      async () => {
        nodes = await fx.registry.listNodes();
        return nodes.length === 1; // the registry is this file's own: its one node is ours
      },
      15_000,
      "the node to register",
    );
    const node = nodes[0]!;
    const a = await connectEchoSession(node.controlUrl);
    const b = await connectEchoSession(node.controlUrl);
    expect((await fx.registry.getNode(node.id))?.load).toBeGreaterThanOrEqual(0);

    const t0 = Date.now();
    child.kill("SIGTERM");
    await waitFor(
      async () => (await fx.registry.getNode(node.id))?.draining === true,
      2000,
      "draining in the registry",
    );
    const late = await ClientPeer.create({ dataChannel: false });
    const refused = await control(node.controlUrl, "POST", "/internal/sessions", {
      sessionId: newSessionId(),
      kind: "session",
      profile: "echo",
      offer: late.offer,
    });
    await late.close();
    expect(refused.status).toBe(503);
    expect(refused.json.error).toBe("draining");
    // one session ends by itself during the grace period; the other is still flowing
    expect((await control(node.controlUrl, "DELETE", `/internal/sessions/${a.id}`)).status).toBe(204);
    const before = b.client.stats.packetsReceived;
    await b.client.until(
      () => b.client.stats.packetsReceived > before + 10,
      1500,
      "media during the grace period",
    );

    expect(await exit).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(1800); // waited for the grace period (2 s) …
    expect(took).toBeLessThan(6000); // … and no longer
    await b.client.until(
      () => b.client.state === "closed" || b.client.state === "disconnected",
      5000,
      "the client to see the close",
    );
    expect(await fx.registry.getNode(node.id)).toBeUndefined();
    await a.client.close();
    await b.client.close();
  });

  it("a SIGTERM during start is held until the node is up, then it drains: exit 0, nothing left registered", {
    timeout: 30_000,
  }, async () => {
    const { child, exit, stdout, stderr } = spawnNodeProcess(
      ["src/node/process/worker.ts"],
      { RTCGW_REGISTRY: fx.redis.url, NODE_PORT: "0" },
      { ipc: true, capture: true },
    );
    // "starting" is sent just before the node opens the registry and registers
    await new Promise<void>((resolve) =>
      child.on("message", (m: { type?: string }) => m.type === "starting" && resolve()),
    );
    child.kill("SIGTERM");
    const code = await exit;
    expect(code, `${stdout()}\n${stderr()}\nsignal ${child.signalCode}`).toBe(0);
    expect(await fx.registry.listNodes()).toEqual([]);
  });
});
