// A call begins when the caller's peer connects, not when its offer is answered. A bridged
// session dials its agent at the answer (the caller's first words are kept while it opens), and
// agents greet the moment they get `start` — seconds before a browser's ICE and DTLS are done.
// That greeting is queued and heard whole once the caller is connected, and its mark comes back
// when it has left as RTP; a recording's timeline starts with the call (no made-up caller
// silence sent to the agent). A session whose peer never connects leaves no recording behind.
// Real node, node-datachannel callers, `ws` agents on loopback.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

interface Leg {
  ws: WebSocket;
  frames: number;
  markAt?: number;
  greetingSentAt?: number;
}

const GREETING_MS = 1000;
const GREETING_HZ = 600;

let h: Harness;
let wss: WebSocketServer;
let url: string;
const legs: Leg[] = [];

function tone16k(ms: number, hz: number): Buffer {
  const n = (16000 * ms) / 1000;
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 16000)), i * 2);
  return b;
}

beforeAll(async () => {
  // an agent that greets as soon as it is told of the call: 1 s of 600 Hz, then a mark
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => wss.once("listening", r));
  wss.on("connection", (ws) => {
    const leg: Leg = { ws, frames: 0 };
    legs.push(leg);
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        leg.frames++;
        return;
      }
      const m = JSON.parse(String(data));
      if (m.type === "start") {
        ws.send(tone16k(GREETING_MS, GREETING_HZ));
        ws.send(JSON.stringify({ type: "mark", name: "greeting" }));
        leg.greetingSentAt = Date.now();
      } else if (m.type === "mark" && m.name === "greeting") leg.markAt = Date.now();
    });
  });
  url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
  h = await startHarness({ RTCGW_BRIDGE_ALLOW: url, RTCGW_CONNECT_TIMEOUT: "2" });
});
afterAll(async () => {
  await h?.close();
  for (const c of wss.clients) c.terminate();
  await new Promise<void>((r) => wss.close(() => r()));
});

const filesOf = (sessionId: string) =>
  readdirSync(h.config.RECORDINGS_DIR).filter((f) => f.startsWith(sessionId));

describe("before the caller's peer connects", () => {
  it("an agent's greeting sent at `start`, 1.2 s before the caller connects, is heard whole after it; its mark comes back when it has played", async () => {
    const before = legs.length;
    const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
    const r = await h.createSession(c.offer, { profile: "bridge", body: { bridgeUrl: url } });
    expect(r.status).toBe(201);
    await waitFor(() => legs[before]?.greetingSentAt !== undefined, 5000, "the agent's greeting");
    // a browser's ICE and DTLS over the Internet
    await new Promise((res) => setTimeout(res, 1200));
    const leg = legs[before]!;
    expect(leg.markAt).toBeUndefined(); // nothing has played: nobody is connected to hear it
    c.accept(r.json.answer);
    await c.connected(5000);
    const connectedAt = Date.now();
    await waitFor(() => leg.markAt !== undefined, 4000, "the greeting's mark");
    // played from the connection on: the mark is a second of audio after it, not before
    expect(leg.markAt! - connectedAt).toBeGreaterThanOrEqual(GREETING_MS - 100);
    await new Promise((res) => setTimeout(res, 300)); // the last packets' way to the caller
    // the whole second reached the caller (50 packets of 20 ms), and it is the agent's tone
    expect(c.stats.packetsReceived).toBeGreaterThanOrEqual(49);
    const { rate, samples } = c.receivedPcm();
    expect(toneRatio(samples, rate, GREETING_HZ)).toBeGreaterThan(0.5);
    // nothing of it dropped (its pacing may run late on a loaded machine: counted as late, not lost)
    const st = (await h.call("GET", `/internal/sessions/${r.sessionId}`)).json;
    expect(st.bridge.audioLostMs.toCaller.queueFull).toBe(0);
    await h.call("DELETE", `/internal/sessions/${r.sessionId}`);
    await c.close();
  });

  it("a record session whose peer never connects leaves no file (connect timeout)", async () => {
    const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false });
    const r = await h.createSession(c.offer, { profile: "record" });
    expect(r.status).toBe(201);
    // the files are opened at the answer (a disk that refuses them refuses the session) …
    expect(filesOf(r.sessionId).length).toBeGreaterThan(0);
    await c.close(); // … and the client gives up without connecting
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${r.sessionId}`)).status === 404,
      8000,
      "the connect timeout",
    );
    expect(filesOf(r.sessionId)).toEqual([]);
  });

  it("a recorded bridge whose caller never connects sends the agent no caller audio and leaves no file", async () => {
    const before = legs.length;
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
    const r = await h.createSession(c.offer, {
      profile: "bridge",
      body: { bridgeUrl: url, bridgeRecord: true },
    });
    expect(r.status).toBe(201);
    await waitFor(() => legs[before]?.greetingSentAt !== undefined, 5000, "the agent's socket");
    await c.close();
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${r.sessionId}`)).status === 404,
      8000,
      "the connect timeout",
    );
    expect(legs[before]!.frames).toBe(0);
    expect(filesOf(r.sessionId)).toEqual([]);
    expect(existsSync(join(h.config.RECORDINGS_DIR, `${r.sessionId}.wav`))).toBe(false);
  });
});
