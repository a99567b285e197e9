// The example parrots (examples/) against a real node and a node-datachannel caller: the caller
// says something (a 440 Hz tone) and pauses; the parrot says it back; the caller speaking over
// the parrot makes it stop (clear). One test per protocol, the examples' own code unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebSocketServer } from "ws";
import { startParrotRtcgw } from "../../examples/parrot-rtcgw.mjs";
import { startParrotTwilio } from "../../examples/parrot-twilio.mjs";
import { ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

let h: Harness;
const parrots: Record<string, { wss: WebSocketServer; url: string }> = {};

beforeAll(async () => {
  parrots.rtcgw = await startParrotRtcgw();
  parrots.twilio = await startParrotTwilio();
  h = await startHarness({ RTCGW_BRIDGE_ALLOW: `${parrots.rtcgw.url},${parrots.twilio.url}` });
});
afterAll(async () => {
  await h?.close();
  for (const p of Object.values(parrots)) await new Promise<void>((r) => p.wss.close(() => r()));
});

describe.each(["rtcgw", "twilio"] as const)("the parrot example (%s protocol)", (protocol) => {
  it("says back what the caller said after the caller's pause, and stops when the caller speaks over it", async () => {
    const c = await ClientPeer.create({
      direction: "sendrecv",
      toneHz: 440,
      dataChannel: false,
      autoSend: false,
    });
    const r = await h.createSession(c.offer, {
      profile: "bridge",
      body: { bridgeUrl: parrots[protocol]!.url, bridgeProtocol: protocol },
    });
    const sessionId = r.sessionId;
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await new Promise((res) => setTimeout(res, 300));
    // the caller speaks for 2 s, then pauses
    c.startSending();
    await new Promise((res) => setTimeout(res, 2000));
    c.stopSending();
    const pausedAt = Date.now();
    // the parrot answers after its 600 ms pause detection: about 2 s of the caller's tone
    await c.until(() => c.stats.packetsReceived >= 30, 4000, "the parrot's answer");
    expect(Date.now() - pausedAt).toBeGreaterThan(500);
    await new Promise((res) => setTimeout(res, 300));
    const { rate, samples } = c.receivedPcm();
    expect(toneRatio(samples.subarray(0, rate / 2), rate, 440)).toBeGreaterThan(0.7);
    // barge-in: the caller speaks again while the parrot plays; the parrot clears, its audio stops
    c.startSending();
    await new Promise((res) => setTimeout(res, 600));
    const n = c.stats.packetsReceived;
    await new Promise((res) => setTimeout(res, 300));
    c.stopSending();
    expect(c.stats.packetsReceived - n).toBeLessThanOrEqual(2); // nothing more of the answer
    expect(n).toBeLessThan(80); // it stopped well before the end of its 2 s answer (100 packets)
    await h.call("DELETE", `/internal/sessions/${sessionId}`);
    await c.close();
  });
});
