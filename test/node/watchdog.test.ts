// The watchdog (docs/design.md rule 3): sessions that never connect, that vanish, or that go silent
// are torn down within their timeout, counted, and their registry records removed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientPeer, VanishingClients } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    RTCGW_CONNECT_TIMEOUT: "2",
    RTCGW_DISCONNECT_TIMEOUT: "1",
    RTCGW_MEDIA_TIMEOUT: "1.5",
  });
});
afterAll(async () => {
  await h?.close();
});

async function metric(name: string): Promise<string> {
  return (await (await fetch(`${h.node.controlUrl}/metrics`)).text())
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("\n");
}

describe("watchdog", () => {
  it("reaps a client that never completes ICE within the connect timeout, and its registry record", async () => {
    const c = await ClientPeer.create();
    const r = await h.createSession(c.offer);
    expect(r.status).toBe(201);
    // the record moves to "connecting" just after the answer has gone out
    await waitFor(
      async () => (await h.registry.getSession(r.sessionId))?.state === "connecting",
      1000,
      "the record to say connecting",
    );
    const t0 = Date.now();
    // the client never applies the answer: ICE can never complete
    await waitFor(() => h.node.sessions() === 0, 5000, "the session to be reaped");
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(1800);
    expect(took).toBeLessThan(3500);
    expect(await h.registry.getSession(r.sessionId)).toBeUndefined();
    expect(await metric("rtcgw_session_teardowns_total")).toMatch(/reason="connect-timeout"[^\n]* 1/);
    expect(await metric("rtcgw_ghost_sessions_total")).toMatch(/ 1$/m);
    await c.close();
  });

  it("reaps a connected client that goes silent (media timeout)", async () => {
    const c = await ClientPeer.create({ autoSend: false });
    const r = await h.createSession(c.offer);
    c.accept(r.json.answer);
    await c.connected(5000);
    await waitFor(
      async () => (await h.registry.getSession(r.sessionId))?.state === "connected",
      2000,
      "connected record",
    );
    await waitFor(() => h.node.sessions() === 0, 4000, "the silent session to be reaped");
    expect(await metric("rtcgw_session_teardowns_total")).toMatch(/reason="media-timeout"[^\n]* 1/);
    expect(await h.registry.getSession(r.sessionId)).toBeUndefined();
    await c.close();
  });

  it("reaps clients that vanish without closing (process killed)", async () => {
    const v = new VanishingClients();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await v.create();
      const r = await h.createSession(p.offer);
      expect(r.status).toBe(201);
      await v.accept(p.id, r.json.answer);
      await v.connected(p.id, 5000);
      ids.push(r.sessionId);
    }
    await waitFor(() => h.node.sessions() === 3, 2000, "3 sessions");
    await v.kill();
    const t0 = Date.now();
    await waitFor(() => h.node.sessions() === 0, 6000, "vanished sessions to be reaped");
    expect(Date.now() - t0).toBeLessThan(4000);
    for (const id of ids) expect(await h.registry.getSession(id)).toBeUndefined();
    expect(await metric("rtcgw_session_teardowns_total")).toMatch(/reason="(media|disconnect)-timeout"/);
  });
});
