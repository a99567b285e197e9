import { describe, expect, it } from "vitest";
import { RegistryError } from "../../src/registry/errors.js";
import { MemoryRegistry } from "../../src/registry/memory.js";
import { openRegistry } from "../../src/registry/open.js";
import { registryContract, session } from "./contract.js";

describe("memory registry", () => {
  // One fake clock per suite: expiry is tested by moving time, not by waiting.
  let now = Date.now();
  registryContract({
    open: async () => new MemoryRegistry({ now: () => now }),
    elapse: async (ms) => {
      now += ms;
    },
    shortTtlMs: 1000,
  });

  it("is what openRegistry returns for RTCGW_REGISTRY=memory", async () => {
    const r = await openRegistry({ kind: "memory" });
    expect(r).toBeInstanceOf(MemoryRegistry);
    expect(r.kind).toBe("memory");
  });

  it("a bundle built for one store refuses another with a clear RegistryError", async () => {
    // Unbundled, the build-time constant is read from the environment, so this runs the same branch.
    const before = process.env.RTCGW_BUNDLE_REGISTRY;
    process.env.RTCGW_BUNDLE_REGISTRY = "memory";
    try {
      const p = openRegistry({ kind: "redis", url: "redis://127.0.0.1:1" });
      await expect(p).rejects.toBeInstanceOf(RegistryError);
      await expect(p).rejects.toThrow(
        /built with only the memory store: rebuild it with RTCGW_BUNDLE_REGISTRY=redis/,
      );
      expect(await openRegistry({ kind: "memory" })).toBeInstanceOf(MemoryRegistry);
    } finally {
      if (before === undefined) delete process.env.RTCGW_BUNDLE_REGISTRY;
      else process.env.RTCGW_BUNDLE_REGISTRY = before;
    }
  });

  it("purges expired records without timers (lazily, and by a sweep every N writes)", async () => {
    let t = 0;
    const r = new MemoryRegistry({ now: () => t, sweepEvery: 10 });
    for (let i = 0; i < 5; i++) await r.createSession(session(`old-${i}`, "n1", { ttlMs: 100 }));
    expect(r.size().sessions).toBe(5);
    t = 200;
    for (let i = 0; i < 5; i++) await r.createSession(session(`new-${i}`, "n1", { ttlMs: 100 }));
    // the 10th write swept the five expired records away, no read needed
    expect(r.size().sessions).toBe(5);
  });

  it("returns copies: mutating a result does not change the store", async () => {
    const r = new MemoryRegistry();
    const s = await r.createSession(session("s1", "n1"));
    s.state = "closed";
    expect((await r.getSession("s1"))?.state).toBe("new");
  });
});
