// The node's heartbeat after a registry outage. A beat the registry does not take is tried again
// within a fifth of the interval (at most 1 s), not at the next interval: an outage of a few
// seconds leaves the node's record stale (no beat within 1.5 intervals takes it out of the pick),
// and every offer was answered 503 "no media node" for up to a whole interval (5 s) after the
// registry was back, until the next regular beat.
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/index.js";
import { NodeHeartbeat } from "../../src/node/heartbeat.js";
import { RegistryUnavailableError } from "../../src/registry/errors.js";
import { MemoryRegistry } from "../../src/registry/memory.js";
import type { Registry } from "../../src/registry/types.js";

const beats: NodeHeartbeat[] = [];
afterEach(async () => {
  for (const b of beats.splice(0)) await b.stop();
});

/** a memory registry that refuses every call (as an unreachable store) while `down` */
function flaky(): { registry: Registry; memory: MemoryRegistry; set(down: boolean): void } {
  const memory = new MemoryRegistry();
  let down = false;
  const registry = new Proxy(memory, {
    get(target, key) {
      const v = Reflect.get(target, key);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) =>
        down
          ? Promise.reject(new RegistryUnavailableError("test", new Error("down")))
          : v.apply(target, args);
    },
  }) as Registry;
  return { registry, memory, set: (d) => (down = d) };
}

describe("NodeHeartbeat after a registry outage", () => {
  it("is back in the registry within a fifth of an interval of the store answering again", {
    timeout: 20_000,
  }, async () => {
    const r = flaky();
    const intervalMs = 2_500;
    const ttlMs = 7_500;
    const hb = new NodeHeartbeat({
      registry: r.registry,
      node: { id: "node-heartbeat-test", controlUrl: "http://127.0.0.1:9", capacity: 10 },
      load: () => 0,
      touchSessions: async () => {},
      log: createLogger({ level: "silent" }),
      intervalMs,
      ttlMs,
    });
    beats.push(hb);
    await hb.start();
    r.set(true);
    // one regular beat (at 2.5 s) fails; the store answers again at 3.1 s
    await new Promise((res) => setTimeout(res, 3_100));
    r.set(false);
    const back = Date.now();
    let beatAt: number | undefined;
    while (Date.now() - back < 2_500) {
      const n = await r.memory.getNode("node-heartbeat-test");
      // a beat after the store came back: the record's expiry was pushed past back + ttl
      if (n && n.expiresAt >= back + ttlMs) {
        beatAt = Date.now();
        break;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(beatAt, "a heartbeat landed before the next regular beat (at 5 s)").toBeDefined();
    expect(beatAt! - back).toBeLessThan(intervalMs / 5 + 200);
  });
});
