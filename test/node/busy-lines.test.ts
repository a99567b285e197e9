// A worker process draws its admission lines from the environment (RTCGW_BUSY_AT,
// RTCGW_BUSY_LAG_MS): a line set below what an idle worker uses refuses the first offer with
// 503 node-busy and says which line. Real process, this file's own redis-server.
import { expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { control, nodeProcessFixture, spawnNodeProcess } from "../support/node-process.js";
import { newSessionId } from "./harness.js";

const fx = nodeProcessFixture();

it("RTCGW_BUSY_AT=0.0001: a worker idling above it refuses the first offer 503 node-busy, naming the line", {
  timeout: 30_000,
}, async () => {
  const { child, exit } = spawnNodeProcess(["src/node/process/worker.ts"], {
    RTCGW_REGISTRY: fx.redis.url,
    NODE_PORT: "0",
    RTCGW_BUSY_AT: "0.0001",
    RTCGW_BUSY_LAG_MS: "0",
  });
  const nodes = await fx.nodesRegistered(1);
  // the guard's first samples (every 500 ms) measure an idle worker: well above 0.01 % of a core
  await new Promise((r) => setTimeout(r, 1200));
  const c = await ClientPeer.create({ dataChannel: false });
  const r = await control(nodes[0]!, "POST", "/internal/sessions", {
    sessionId: newSessionId(),
    kind: "session",
    profile: "echo",
    offer: c.offer,
  });
  await c.close();
  expect(r.status).toBe(503);
  expect(r.json.error).toBe("node-busy");
  expect(JSON.stringify(r.json)).toMatch(/line 0\.0 %/);
  child.kill("SIGTERM");
  expect(await exit).toBe(0);
});
