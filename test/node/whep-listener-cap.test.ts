// RTCGW_WHEP_MAX_LISTENERS: a source session takes that many WHEP listeners, the next is refused
// 429 too-many-listeners (no session made, the source's audio still flowing), and a listener that
// ends frees its place. Each listener re-encodes the source's audio for itself: without a bound,
// one token that made one session could add listeners until the node's CPU was theirs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

let h: Harness;
let source: ClientPeer;
let sourceId: string;
const peers: ClientPeer[] = [];

beforeAll(async () => {
  h = await startHarness({ RTCGW_WHEP_MAX_LISTENERS: "2" });
  source = await ClientPeer.create();
  const r = await h.createSession(source.offer);
  expect(r.status).toBe(201);
  sourceId = r.sessionId;
  source.accept(r.json.answer);
  await source.connected(5000);
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await source?.close();
  await h?.close();
});

const listen = async () => {
  const p = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
  peers.push(p);
  return { peer: p, r: await h.createSession(p.offer, { kind: "whep", sourceSessionId: sourceId }) };
};

describe("WHEP listeners per source session", () => {
  it("takes RTCGW_WHEP_MAX_LISTENERS listeners, refuses the next 429 with the limit named, and takes one again once one ended", async () => {
    const a = await listen();
    const b = await listen();
    expect([a.r.status, b.r.status]).toEqual([201, 201]);
    const before = h.node.sessions();
    const c = await listen();
    expect(c.r.status).toBe(429);
    expect(c.r.json.error).toBe("too-many-listeners");
    expect(c.r.json.reason).toMatch(
      /has 2 WHEP listeners, the most this gateway allows \(RTCGW_WHEP_MAX_LISTENERS=2\)/,
    );
    expect(h.node.sessions()).toBe(before);
    const received = source.stats.packetsReceived;
    await source.until(
      () => source.stats.packetsReceived > received + 10,
      3000,
      "the source's echo still flowing",
    );

    expect((await h.call("DELETE", `/internal/sessions/${a.r.sessionId}`)).status).toBeLessThan(300);
    const d = await listen();
    expect(d.r.status).toBe(201);
  });
});
