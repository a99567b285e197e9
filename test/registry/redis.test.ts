// The registry contract against a real redis-server on a free loopback port.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryUnavailableError } from "../../src/registry/errors.js";
import { openRegistry } from "../../src/registry/open.js";
import { RedisRegistry } from "../../src/registry/redis.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { node, registryContract, session } from "./contract.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("redis registry", () => {
  // Every test gets its own key prefix: isolated data on one server.
  let n = 0;
  const prefixes = new WeakMap<RedisRegistry, string>();
  const connect = (keyPrefix: string) => {
    const r = new RedisRegistry(server.url, { keyPrefix });
    prefixes.set(r, keyPrefix);
    return r;
  };
  registryContract({
    open: async () => connect(`t${++n}:`),
    connectAgain: async (r) => connect(prefixes.get(r as RedisRegistry)!),
    // Redis expires keys in real time: keep TTLs short but above scheduling noise.
    elapse: (ms) => new Promise((res) => setTimeout(res, ms)),
    shortTtlMs: 600,
    outage: { stop: () => server.stop(), start: () => server.start() },
  });

  it("is what openRegistry returns for a redis:// URL", async () => {
    const r = await openRegistry({ kind: "redis", url: server.url }, { keyPrefix: "open:" });
    try {
      expect(r).toBeInstanceOf(RedisRegistry);
      await r.ping();
    } finally {
      await r.close();
    }
  });

  it("sets key TTLs and cleans expired members out of the node index on read", async () => {
    const r = connect("ttl:");
    try {
      await r.registerNode(node("n1"), 5000);
      await r.createSession(session("s1", "n1", { ttlMs: 300 }));
      await r.createSession(session("s2", "n1", { ttlMs: 5000 }));
      const pttl = await r.client.pttl("ttl:session:s1");
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(300);
      expect(await r.client.pttl("ttl:node:n1")).toBeGreaterThan(4000);
      expect(await r.client.pttl("ttl:node-sessions:n1")).toBeGreaterThan(4000);
      await new Promise((res) => setTimeout(res, 400));
      expect(await r.client.smembers("ttl:node-sessions:n1")).toHaveLength(2); // not yet read
      expect((await r.listSessionsByNode("n1")).map((s) => s.id)).toEqual(["s2"]);
      expect(await r.client.smembers("ttl:node-sessions:n1")).toEqual(["s2"]);
    } finally {
      await r.close();
    }
  });

  it("an unreachable server is RegistryUnavailableError within ~1 s, not a hang", async () => {
    const { freePort } = await import("../support/redis-server.js");
    const r = new RedisRegistry(`redis://127.0.0.1:${await freePort()}`, { timeoutMs: 500 });
    try {
      const t0 = performance.now();
      await expect(r.ping()).rejects.toThrow(/redis \(redis:\/\/127\.0\.0\.1:\d+\/?\) registry unavailable/);
      expect(performance.now() - t0).toBeLessThan(1500);
    } finally {
      await r.close();
    }
  });

  it("a server that stops answering (SIGSTOP) is RegistryUnavailableError within the timeout; SIGCONT recovers", async () => {
    const r = new RedisRegistry(server.url, { keyPrefix: "frozen:", timeoutMs: 500 });
    try {
      await r.registerNode(node("n1"), 60_000);
      server.pause();
      try {
        const t0 = performance.now();
        const err = await r.getNode("n1").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RegistryUnavailableError);
        expect(String((err as Error).message)).toMatch(/timed? ?out/i);
        expect(performance.now() - t0).toBeLessThan(1500);
      } finally {
        server.resume();
      }
      expect((await r.getNode("n1"))?.id).toBe("n1");
    } finally {
      await r.close();
    }
  });
});
