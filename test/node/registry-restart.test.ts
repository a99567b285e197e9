// Redis restarted empty under a live call: the node registers again by itself and writes its
// live sessions' records again, so the call can still be read and ended through the registry
// (GET/DELETE answered 404 for a call whose audio kept flowing). Real processes: this file's
// own redis-server, stopped and started again; a real media node process; a live
// node-datachannel caller.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { NodeRecord } from "../../src/registry/types.js";
import { connectEchoSession, nodeProcessFixture, spawnNodeProcess } from "../support/node-process.js";
import { newSessionId, waitFor } from "./harness.js";

const fx = nodeProcessFixture();

describe("Redis restarted empty", () => {
  it("the node re-registers and re-asserts its live session's record; the call never noticed", {
    timeout: 60_000,
  }, async () => {
    const { child, exit } = spawnNodeProcess(["src/node/process/worker.ts"], {
      RTCGW_REGISTRY: fx.redis.url,
      NODE_PORT: "0",
    });
    let nodes: NodeRecord[] = [];
    await waitFor(
      async () => {
        nodes = await fx.registry.listNodes();
        return nodes.length === 1;
      },
      15_000,
      "the node to register",
    );
    const node = nodes[0]!;
    // the record the signaling writes before it calls the node
    const id = newSessionId();
    const tokenHash = createHash("sha256").update("session-token").digest("hex");
    await fx.registry.createSession({
      id,
      nodeId: node.id,
      kind: "session",
      profile: "echo",
      tokenHash,
      state: "new",
      etag: "e1",
      ttlMs: 60_000,
    });
    const call = await connectEchoSession(node, id);
    await waitFor(async () => (await fx.registry.getSession(id))?.state === "connected", 5_000, "connected");
    const before = call.client.stats.packetsReceived;

    await fx.redis.stop();
    await fx.redis.start(); // empty: no persistence
    expect(await fx.registry.getSession(id)).toBeUndefined();
    const t0 = Date.now();
    await waitFor(
      async () =>
        (await fx.registry.getNode(node.id)) !== undefined &&
        (await fx.registry.getSession(id)) !== undefined,
      12_000,
      "the node to register and write its session again",
    );
    const tookMs = Date.now() - t0;
    // the heartbeat runs every 5 s: the record is back at the first beat after the restart
    expect(tookMs).toBeLessThan(7_000);
    const rec = (await fx.registry.getSession(id))!;
    expect(rec).toMatchObject({
      nodeId: node.id,
      kind: "session",
      profile: "echo",
      tokenHash,
      state: "connected",
    });
    // the call went on: audio still comes back from the echo
    await waitFor(() => call.client.stats.packetsReceived > before + 50, 3_000, "echoed audio");
    expect(call.client.state).toBe("connected");
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(await fx.registry.getSession(id)).toBeUndefined(); // ended with the drain, not orphaned
    await call.client.close();
  });
});
