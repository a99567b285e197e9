// A live session whose registry record was ended by someone else while the node did not answer
// (frozen, cut off: the signaling reported it "node-lost", or its client DELETEd it and was
// answered 200 from the tombstone) is not written back when the node re-asserts its sessions: the
// node ends the call too, and the tombstone keeps its reason. (With real processes and SIGSTOP:
// test/faults/stopped-node.test.ts.)
import { afterEach, describe, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("a session ended in the registry while its node was away", () => {
  it("is ended on the node at its next re-assert, not written back", { timeout: 30_000 }, async () => {
    h = await startHarness({ RTCGW_MEDIA_TIMEOUT: "60", RTCGW_DISCONNECT_TIMEOUT: "60" });
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
    const r = await h.createSession(c.offer, { profile: "echo" });
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await waitFor(
      async () => (await h!.registry.getSession(r.sessionId))?.state === "connected",
      3000,
      "connected",
    );
    // what the signaling does for a node that neither answers nor heartbeats, and what the
    // node finds when it is back: its own record expired (it re-registers and re-asserts at once)
    await h.registry.endSession(r.sessionId, { reason: "node-lost", ttlMs: 60_000 });
    await h.registry.removeNode(h.node.id);
    await waitFor(() => h!.node.sessions() === 0, 8000, "the node to end the call");
    expect(await h.registry.getSession(r.sessionId)).toBeUndefined();
    expect((await h.registry.getTombstone(r.sessionId))?.reason).toBe("node-lost");
    const metrics = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
    expect(metrics).toMatch(/rtcgw_session_teardowns_total\{[^}]*reason="ended-elsewhere"[^}]*\} 1/);
    await c.close();
  });
});
