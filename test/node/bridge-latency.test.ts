// Caller → agent latency through a real node: a node-datachannel caller sends RTP by hand (Opus
// silence, a 100 ms tone burst every 200 ms), the agent is a `ws` server on loopback, and the
// time from handing a burst's first packet to libdatachannel to the agent's first loud frame is
// measured on one clock. Packets that arrive in order must not be held behind the jitter depth:
// the receive side used to emit every slot at its end + the depth (≥ 40 ms, growing with the
// sender's jitter), so even its fastest burst took ≥ 40 ms. The bound below is half of that.
import { Encoder } from "@evan/opus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let h: Harness;
let agent: WebSocketServer;
let port: number;
/** when each binary frame reached the agent, and how loud it was */
let frames: Array<{ at: number; rms: number }> = [];

function rms(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readInt16LE(i) ** 2;
  return Math.sqrt(s / Math.max(1, b.length / 2));
}

beforeAll(async () => {
  agent = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => agent.once("listening", r));
  port = (agent.address() as { port: number }).port;
  agent.on("connection", (ws) =>
    ws.on("message", (d, isBinary) => {
      if (isBinary) frames.push({ at: now(), rms: rms(d as Buffer) });
    }),
  );
  h = await startHarness({ RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${port}/` });
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => agent.close(() => r()));
});

describe("bridge latency, caller → agent, over a real node-datachannel caller", () => {
  it("in-order packets reach the agent as they arrive (median burst onset < 20 ms; the old hold was ≥ 40 ms)", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false, autoSend: false });
    const r = await h.createSession(c.offer, {
      profile: "bridge",
      body: {
        bridgeUrl: `ws://127.0.0.1:${port}/`,
      },
    });
    const sessionId = r.sessionId;
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await c.trackOpen(5000); // sent before the track opens, a packet throws "Track is not open"
    frames = [];

    const enc = new Encoder({ channels: 1, sample_rate: 48000, application: "voip" });
    const silence = Buffer.from(enc.encode(new Int16Array(960)));
    const tone = Array.from({ length: 5 }, (_, f) =>
      Buffer.from(
        enc.encode(
          Int16Array.from({ length: 960 }, (_, i) =>
            Math.round(12000 * Math.sin((2 * Math.PI * 440 * (f * 960 + i)) / 48000)),
          ),
        ),
      ),
    );
    const BURSTS = 15;
    const PERIOD = 10; // packets: a burst every 200 ms
    const LEAD = 25; // 500 ms of silence first
    const sentAt: number[] = [];
    const start = now();
    for (let i = 0; i < LEAD + BURSTS * PERIOD; i++) {
      while (now() < start + i * 20) await sleep(1);
      const k = (i - LEAD) % PERIOD;
      const inBurst = i >= LEAD && k < 5;
      const payload = inBurst ? tone[k]! : silence;
      const rtp = Buffer.alloc(12 + payload.length);
      rtp[0] = 0x80;
      rtp[1] = 111;
      rtp.writeUInt16BE(1000 + i, 2);
      rtp.writeUInt32BE(i * 960, 4);
      rtp.writeUInt32BE(c.ssrc, 8);
      payload.copy(rtp, 12);
      if (inBurst && k === 0) sentAt.push(now());
      c.track.sendMessageBinary(rtp);
    }
    await sleep(300);
    const onsets: number[] = [];
    let loud = false;
    for (const f of frames) {
      if (f.rms > 3000 && !loud) onsets.push(f.at);
      loud = f.rms > 3000;
    }
    const lat = sentAt.flatMap((s, i) => {
      const o = onsets.find((t) => t >= s && t < (sentAt[i + 1] ?? Number.POSITIVE_INFINITY));
      return o === undefined ? [] : [o - s];
    });
    const sorted = [...lat].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `  caller → agent burst onset: median ${median.toFixed(1)} ms, min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)} (n=${lat.length})`,
    );
    expect(lat.length).toBeGreaterThanOrEqual(BURSTS - 1);
    expect(median).toBeLessThan(20);
    // the depth is still measured and shown
    const st = await h.call("GET", `/internal/sessions/${sessionId}`);
    expect(typeof st.json.bridge.jitterDepthMs).toBe("number");
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });
});
