// SIGTERM drains: the node process (and the supervisor with two workers) stops taking sessions,
// marks itself draining in the registry, lets sessions finish within the grace period, closes
// the rest, deregisters and exits 0. Real processes, real redis-server.
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRegistryUrl } from "../../src/config/index.js";
import { signRequest } from "../../src/control/hmac.js";
import { openRegistry } from "../../src/registry/open.js";
import type { NodeRecord, Registry } from "../../src/registry/types.js";
import { ClientPeer } from "../support/client-peer.js";
import { freePort, type RedisServer, startRedisServer } from "../support/redis-server.js";
import { newSessionId, waitFor } from "./harness.js";

const SECRET = "sigterm-test-secret-0123456789";
let redis: RedisServer;
let registry: Registry;

beforeAll(async () => {
  redis = await startRedisServer();
  registry = await openRegistry(parseRegistryUrl(redis.url));
});
afterAll(async () => {
  await registry?.close();
  await redis?.stop();
});

function spawnNode(
  entry: string,
  env: Record<string, string>,
): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    env: {
      ...process.env,
      RTCGW_REGISTRY: redis.url,
      RTCGW_NODE_SECRET: SECRET,
      RTCGW_DRAIN_TIMEOUT: "2",
      RTCGW_CONNECT_TIMEOUT: "5",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, exit };
}

async function control(url: string, method: string, path: string, body?: unknown) {
  const text = body === undefined ? "" : JSON.stringify(body);
  const res = await fetch(url + path, {
    method,
    headers: signRequest(SECRET, method, path, text),
    ...(text ? { body: text } : {}),
  });
  return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
}

async function connectSession(url: string): Promise<{ client: ClientPeer; id: string }> {
  const client = await ClientPeer.create({ decode: false });
  const id = newSessionId();
  const r = await control(url, "POST", "/internal/sessions", {
    sessionId: id,
    kind: "session",
    profile: "echo",
    offer: client.offer,
  });
  expect(r.status).toBe(201);
  client.accept(r.json.answer);
  await client.connected(5000);
  return { client, id };
}

describe("SIGTERM", () => {
  it("a node drains: 503 for new sessions, draining in the registry, sessions closed at the grace, exit 0", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    const { child, exit } = spawnNode("src/node/worker.ts", { NODE_PORT: String(port) });
    let nodes: NodeRecord[] = [];
    await waitFor(
      async () => {
        nodes = await registry.listNodes();
        return nodes.some((n) => n.controlUrl.endsWith(`:${port}`));
      },
      15_000,
      "the node to register",
    );
    const node = nodes.find((n) => n.controlUrl.endsWith(`:${port}`))!;
    const a = await connectSession(node.controlUrl);
    const b = await connectSession(node.controlUrl);
    expect((await registry.getNode(node.id))?.load).toBeGreaterThanOrEqual(0);

    const t0 = Date.now();
    child.kill("SIGTERM");
    await waitFor(
      async () => (await registry.getNode(node.id))?.draining === true,
      2000,
      "draining in the registry",
    );
    const refused = await control(node.controlUrl, "POST", "/internal/sessions", {
      sessionId: newSessionId(),
      kind: "session",
      profile: "echo",
      offer: (await ClientPeer.create({ dataChannel: false })).offer,
    });
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
    expect(await registry.getNode(node.id)).toBeUndefined();
    await a.client.close();
    await b.client.close();
  });

  it("the supervisor runs 2 workers with their own ports and stops them all", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    const { child, exit } = spawnNode("src/node/main.ts", { NODE_PORT: String(port), RTCGW_WORKERS: "2" });
    let mine: NodeRecord[] = [];
    const ours = (n: NodeRecord) =>
      n.controlUrl.endsWith(`:${port}`) || n.controlUrl.endsWith(`:${port + 1}`);
    await waitFor(
      async () => {
        mine = (await registry.listNodes()).filter(ours);
        return mine.length === 2;
      },
      20_000,
      "2 workers to register",
    );
    expect(new Set(mine.map((n) => n.id)).size).toBe(2);
    const s = await connectSession(mine[1]!.controlUrl);
    const t0 = Date.now();
    child.kill("SIGTERM");
    await s.client.until(() => s.client.state !== "connected", 8000, "the session to be closed by the drain");
    expect(await exit).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await registry.listNodes()).filter(ours)).toEqual([]);
    await s.client.close();
  });
});
