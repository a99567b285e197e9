// The fault suite: the registry out for 10 s under live calls — redis-server frozen with SIGSTOP
// (a paused VM, a fork stalling on a huge dataset, a swap storm: connections stay open and every
// command waits out its timeout), or dynalite's process killed and started again with its data
// (DynamoDB unreachable, its items kept). Offers must be refused quickly with a retry hint, live
// calls must not notice, and what happened meanwhile must reach the registry once it answers
// again: a call that ended during the outage reads "ended" (its tombstone), not "connected" until
// its record expires 60 s later.
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

const outages = [
  { store: "redis" as const, name: "on Redis: redis-server frozen (SIGSTOP) for 10 s" },
  { store: "dynamodb" as const, name: "on DynamoDB: dynalite killed for 10 s, started again with its data" },
];

describe.each(outages)("$name", ({ store }) => {
  it("offers 503 + Retry-After within ~2 s, live calls untouched, a call ended meanwhile reads ended afterwards", {
    timeout: 60_000,
  }, async () => {
    d = new Deployment();
    // a call whose client hangs up ends within the freeze: no resume window, and 2 s without RTP
    // ends it (an audio-only peer's close is not always seen sooner)
    await d.up({ store, nodeEnv: { RTCGW_RESUME_WINDOW: "0", RTCGW_MEDIA_TIMEOUT: "2" } });
    const calls: Call[] = [];
    for (let i = 0; i < 3; i++) calls.push(await d.call());
    const [ending, ...live] = calls as [Call, ...Call[]];
    const before = live.map((c) => c.client.stats.packetsReceived);
    // a Redis restarted or failed over lately knows none of the scripts: what was sent to it while
    // frozen is not run late (NOSCRIPT, answered to no one) — only a retry writes it
    if (store === "redis") {
      await (d.registry as RedisRegistry).client.script("FLUSH");
      d.redis.pause!();
      frozen = true;
    } else await d.redis.stop();
    const t0 = Date.now();
    const offers = [];
    for (let i = 0; i < 3; i++) offers.push(await d.offer());
    await ending.client.close(); // hangs up: the node ends the call while the registry is frozen
    await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - t0)));
    for (const [i, c] of live.entries()) {
      expect(c.client.stats.packetsReceived - before[i]!).toBeGreaterThan(400); // ~10 s of echo
      expect(c.client.state).toBe("connected");
    }
    if (store === "redis") {
      d.redis.resume!();
      frozen = false;
    } else await d.redis.start();
    for (const o of offers) {
      expect(o.status).toBe(503);
      expect(o.retryAfter).toMatch(/^\d+$/);
      expect(o.ms).toBeLessThan(2_500);
    }
    const get = async (c: Call) =>
      (await (
        await fetch(`${d!.url}${c.location}`, { headers: { authorization: `Bearer ${c.token}` } })
      ).json()) as { state: string; endReason?: string };
    const back = Date.now();
    // the call that ended during the outage: its tombstone is written once the store answers
    await d.until(async () => (await get(ending)).state === "ended", 6_000, "the ended call to read ended");
    expect(await d.registry.getSession(ending.id)).toBeUndefined();
    // the live calls are still there and can be ended normally; nothing else is left behind
    for (const c of live) expect((await get(c)).state).toBe("connected");
    // and the nodes are back in the pick within about a second (their records went stale
    // during the outage; a failed heartbeat is retried every second): offers are placed again
    await d.until(async () => (await d!.offer()).status === 201, 5_000, "an offer placed again");
    expect(Date.now() - back).toBeLessThan(3_000);
    for (const c of live) expect((await d.end(c)).status).toBe(200);
    const nodes = await d.registry.listNodes();
    expect(nodes).toHaveLength(2);
    for (const n of nodes) expect(await d.registry.listSessionsByNode(n.id)).toEqual([]);
  });
});

it("a node drained during a Redis freeze ends its calls in the registry once Redis answers, before it exits", {
  timeout: 60_000,
}, async () => {
  d = new Deployment();
  await d.up({ nodes: 1, store: "redis" });
  const call = await d.call();
  const node = d.nodes[0]!;
  await (d.registry as RedisRegistry).client.script("FLUSH");
  d.redis.pause!();
  frozen = true;
  // SIGTERM: the node drains (RTCGW_DRAIN_TIMEOUT 3 s), ends the call, and cannot write its end
  node.child.kill("SIGTERM");
  let exited = false;
  void node.exit.then(() => {
    exited = true;
  });
  await new Promise((r) => setTimeout(r, 6_000));
  // still there: it waits for the registry to take the end (at most 10 s, END_FLUSH_MS)
  expect(exited, node.out()).toBe(false);
  d.redis.resume!();
  frozen = false;
  const get = async () =>
    (await (
      await fetch(`${d!.url}${call.location}`, { headers: { authorization: `Bearer ${call.token}` } })
    ).json()) as { state: string; endReason?: string };
  await d.until(async () => (await get()).state === "ended", 6_000, "the drained call to read ended");
  // the call's own end, not the node-lost the signaling would say for a record that outlived its node
  expect((await get()).endReason).toBe("drain");
  expect(
    await Promise.race([node.exit, new Promise((r) => setTimeout(() => r("still running"), 10_000))]),
  ).toBe(0);
});
