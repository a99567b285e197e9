// The fault suite: the registry frozen, not gone — redis-server stopped with SIGSTOP for 10 s (a
// paused VM, a fork stalling on a huge dataset, a swap storm). Connections stay open and nothing
// answers, so every command waits out its timeout rather than failing at once. Offers must be
// refused quickly with a retry hint, live calls must not notice, and what happened meanwhile must
// reach the registry once it answers again: a call that ended during the freeze reads "ended"
// (its tombstone), not "connected" until its record expires 60 s later.
import { afterEach, describe, expect, it } from "vitest";
import type { RedisRegistry } from "../../src/registry/redis.js";
import { type Call, Deployment } from "./deployment.js";

let d: Deployment | undefined;
let frozen = false;
afterEach(async () => {
  if (frozen) d?.redis.resume?.();
  frozen = false;
  await d?.down();
  d = undefined;
});

describe("on Redis: redis-server frozen (SIGSTOP) for 10 s", () => {
  it("offers 503 + Retry-After within ~1 s, live calls untouched, a call ended meanwhile reads ended afterwards", {
    timeout: 60_000,
  }, async () => {
    d = new Deployment();
    // a call whose client hangs up ends within the freeze: no resume window, and 2 s without RTP
    // ends it (an audio-only peer's close is not always seen sooner)
    await d.up({ nodeEnv: { RTCGW_RESUME_WINDOW: "0", RTCGW_MEDIA_TIMEOUT: "2" } });
    const calls: Call[] = [];
    for (let i = 0; i < 3; i++) calls.push(await d.call());
    const [ending, ...live] = calls as [Call, ...Call[]];
    const before = live.map((c) => c.client.stats.packetsReceived);
    // a Redis restarted or failed over lately knows none of the scripts: what was sent to it while
    // frozen is not run late (NOSCRIPT, answered to no one) — only a retry writes it
    await (d.registry as RedisRegistry).client.script("FLUSH");
    d.redis.pause!();
    frozen = true;
    const t0 = Date.now();
    const offers = [];
    for (let i = 0; i < 3; i++) offers.push(await d.offer());
    await ending.client.close(); // hangs up: the node ends the call while the registry is frozen
    await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - t0)));
    for (const [i, c] of live.entries()) {
      expect(c.client.stats.packetsReceived - before[i]!).toBeGreaterThan(400); // ~10 s of echo
      expect(c.client.state).toBe("connected");
    }
    d.redis.resume!();
    frozen = false;
    for (const o of offers) {
      expect(o.status).toBe(503);
      expect(o.retryAfter).toMatch(/^\d+$/);
      expect(o.ms).toBeLessThan(2_500);
    }
    const get = async (c: Call) =>
      (await (
        await fetch(`${d!.url}${c.location}`, { headers: { authorization: `Bearer ${c.token}` } })
      ).json()) as { state: string; endReason?: string };
    // the call that ended during the freeze: its tombstone is written once Redis answers
    await d.until(async () => (await get(ending)).state === "ended", 6_000, "the ended call to read ended");
    expect(await d.registry.getSession(ending.id)).toBeUndefined();
    // the live calls are still there and can be ended normally; nothing else is left behind
    for (const c of live) expect((await get(c)).state).toBe("connected");
    expect((await d.offer()).status).toBe(201);
    for (const c of live) expect((await d.end(c)).status).toBe(200);
    const nodes = await d.registry.listNodes();
    expect(nodes).toHaveLength(2);
    for (const n of nodes) expect(await d.registry.listSessionsByNode(n.id)).toEqual([]);
  });
});
