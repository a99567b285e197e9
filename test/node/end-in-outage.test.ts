// A call that ends while the registry does not answer (Redis frozen with SIGSTOP): the node could
// not replace the session's record by its tombstone then, and the record went on saying
// "connected" until its TTL ran out (60 s; GET answered "connected" for a call long over, then
// 404 instead of "ended" with its reason). The node retries the end until the registry takes it.
// Real processes: this file's own redis-server, frozen and thawed; a real media node process; a
// live node-datachannel caller.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RedisRegistry } from "../../src/registry/redis.js";
import {
  connectEchoSession,
  control,
  nodeProcessFixture,
  spawnNodeProcess,
} from "../support/node-process.js";
import { newSessionId, waitFor } from "./harness.js";

const fx = nodeProcessFixture();

describe("a call ended while Redis is frozen (SIGSTOP)", () => {
  it("its record becomes its tombstone once Redis answers again, not 'connected' until it expires", {
    timeout: 60_000,
  }, async () => {
    const { child, exit } = spawnNodeProcess(["src/node/process/worker.ts"], {
      RTCGW_REGISTRY: fx.redis.url,
      NODE_PORT: "0",
    });
    const [node] = await fx.nodesRegistered(1);
    const id = newSessionId();
    await fx.registry.createSession({
      id,
      nodeId: node!.id,
      kind: "session",
      profile: "echo",
      tokenHash: createHash("sha256").update("session-token").digest("hex"),
      state: "new",
      etag: "e1",
      ttlMs: 60_000,
    });
    const call = await connectEchoSession(node!, id);
    await waitFor(async () => (await fx.registry.getSession(id))?.state === "connected", 5_000, "connected");

    // a freshly started Redis knows none of the node's scripts: the end the node sent while it
    // was frozen is not run late by the thawed server either (NOSCRIPT, answered to nobody)
    await (fx.registry as RedisRegistry).client.script("FLUSH");
    fx.redis.pause();
    try {
      // the call ends (its client's DELETE, through the control API); the node cannot write it
      const del = await control(node!, "DELETE", `/internal/sessions/${id}`);
      expect(del.status).toBe(204);
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      fx.redis.resume();
    }
    const t0 = Date.now();
    await waitFor(
      async () => (await fx.registry.getTombstone(id)) !== undefined,
      10_000,
      "the session's tombstone once Redis answers again",
    );
    console.log(`the tombstone was written ${Date.now() - t0} ms after SIGCONT`);
    expect(await fx.registry.getSession(id)).toBeUndefined();
    expect((await fx.registry.getTombstone(id))?.reason).toBe("deleted");
    expect((await fx.registry.listSessionsByNode(node!.id)).map((s) => s.id)).not.toContain(id);
    await call.client.close();
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  });
});
