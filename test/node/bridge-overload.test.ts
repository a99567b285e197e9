// Which direction of a bridged call lost audio (issue 15: "under overload a counter says which
// direction lost audio"): each cause provoked for real, and seen where an operator looks — the
// session's status (`bridge.audioLostMs`) and the node's /metrics
// (rtcgw_bridge_audio_lost_seconds_total{direction,cause}), while the call is still live.
//   to-caller queue-full  an agent that sends 25 s of audio at once, beyond the 20 s queue
//   to-agent socket-closed  an agent whose socket drops and is refused for a while (redial gap)
//   to-agent backpressure  an agent that stops reading (ws bufferedAmount beyond ~1 s)
//   to-caller late  the node's pacer stalled while the agent's audio waited (virtual clock)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { loadResampler } from "../../src/audio/resampler/index.js";
import { createLogger } from "../../src/log/index.js";
import { VirtualClock } from "../../src/media/clock.js";
import { PcmPushSource } from "../../src/media/sources/pcm-push.js";
import { AppSocket } from "../../src/node/bridge/app-socket.js";
import { bridgeAudioLost } from "../../src/node/bridge/audio-lost.js";
import { RtcgwProtocol } from "../../src/node/bridge/rtcgw.js";
import { NodeMetrics } from "../../src/node/metrics.js";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

/** rtcgw_bridge_audio_lost_seconds_total for one direction and cause, from a /metrics text, in
 *  ms (the status' unit; every loss is whole ms) */
function lostIn(text: string, direction: string, cause: string): number {
  for (const m of text.matchAll(/^rtcgw_bridge_audio_lost_seconds_total\{([^}]*)\} ([\d.e+-]+)$/gm))
    if (m[1]!.includes(`direction="${direction}"`) && m[1]!.includes(`cause="${cause}"`))
      return Math.round(Number(m[2]) * 1000);
  return Number.NaN;
}

describe("a live bridged call: status and /metrics say which direction lost audio", () => {
  let h: Harness;
  let wss: WebSocketServer;
  let port: number;
  /** upgrades are refused until then (a redial that fails: the gap grows) */
  let refuseUntil = 0;
  const conns: Array<{ ws: WebSocket; texts: Array<Record<string, unknown>> }> = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0, verifyClient: () => Date.now() >= refuseUntil });
    await new Promise<void>((r) => wss.once("listening", r));
    port = (wss.address() as { port: number }).port;
    wss.on("connection", (ws) => {
      const c = { ws, texts: [] as Array<Record<string, unknown>> };
      conns.push(c);
      ws.on("message", (d, isBinary) => {
        if (!isBinary) c.texts.push(JSON.parse(String(d)));
      });
    });
    h = await startHarness({ RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${port}/`, RTCGW_BRIDGE_RECONNECT_S: "10" });
  });
  afterAll(async () => {
    await h?.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it("an agent that sends 25 s at once loses 5 s toward the caller (queue-full); a dropped socket loses the caller's frames toward the agent (socket-closed)", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
    const r = await h.createSession(c.offer, {
      profile: "bridge",
      body: {
        bridgeUrl: `ws://127.0.0.1:${port}/agent`,
        bridgeRate: 8000,
      },
    });
    const sessionId = r.sessionId;
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await waitFor(() => conns[0]?.texts[0]?.type === "start", 5000, "the agent's start");
    const status = async () => (await h.call("GET", `/internal/sessions/${sessionId}`)).json.bridge;
    const metrics = async () => (await fetch(`${h.node.controlUrl}/metrics`)).text();
    const m0 = await metrics();

    // 25 s of 8 kHz audio in one message (400 kB): the queue holds 20 s, the oldest 5 s go
    conns[0]!.ws.send(Buffer.alloc(25 * 8000 * 2, 0x10));
    await waitFor(async () => (await status()).audioIn === 1, 5000, "the agent's audio at the node");
    const st = await status();
    expect(st.audioLostMs.toCaller.queueFull).toBeGreaterThanOrEqual(4900);
    expect(st.audioLostMs.toCaller.queueFull).toBeLessThanOrEqual(5000);
    expect(st.audioLostMs.toAgent).toEqual({ backpressure: 0, socketClosed: 0 });
    // the counter shows it while the call is live, in its direction only
    const m1 = await metrics();
    expect(lostIn(m1, "to-caller", "queue-full") - lostIn(m0, "to-caller", "queue-full")).toBe(
      st.audioLostMs.toCaller.queueFull,
    );
    expect(lostIn(m1, "to-agent", "backpressure")).toBe(lostIn(m0, "to-agent", "backpressure"));
    expect(lostIn(m1, "to-agent", "socket-closed")).toBe(lostIn(m0, "to-agent", "socket-closed"));

    // the agent's socket drops (no stop): redials are refused for 600 ms, the caller's frames of
    // the gap are dropped toward the agent (and a refused redial is retried: it used to leave the
    // call reconnecting for ever)
    refuseUntil = Date.now() + 600;
    conns[0]!.ws.terminate();
    await waitFor(() => conns.length === 2 && conns[1]!.texts[0]?.resumed === true, 8000, "the socket back");
    const st2 = await status();
    expect(st2.gapFrames).toBeGreaterThanOrEqual(20); // ≥ 400 ms of the caller's 50 frames/s
    expect(st2.audioLostMs.toAgent.socketClosed).toBe((st2.gapFrames + st2.framesNotOpen) * 20);
    const m2 = await metrics();
    expect(lostIn(m2, "to-agent", "socket-closed") - lostIn(m0, "to-agent", "socket-closed")).toBe(
      st2.audioLostMs.toAgent.socketClosed,
    );

    // at the end nothing is counted twice: the live counts plus the rest of the call
    await h.call("DELETE", `/internal/sessions/${sessionId}`);
    const m3 = await metrics();
    expect(lostIn(m3, "to-caller", "queue-full") - lostIn(m0, "to-caller", "queue-full")).toBe(
      st.audioLostMs.toCaller.queueFull,
    );
    expect(
      lostIn(m3, "to-agent", "socket-closed") - lostIn(m0, "to-agent", "socket-closed"),
    ).toBeGreaterThanOrEqual(st2.audioLostMs.toAgent.socketClosed);
    await c.close();
  });
});

describe("the causes provoked one by one", () => {
  it("an agent that stops reading: frames dropped toward the agent (backpressure), counted live by the node's counter", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => wss.once("listening", r));
    wss.on("connection", (ws) => ws.pause()); // never reads: TCP fills up, then ws buffers
    const s = new AppSocket({
      url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`,
      sessionId: "s1",
      log: createLogger({ level: "silent" }),
      protocol: new RtcgwProtocol({ rate: 16000 }),
      onCommand: () => {},
    });
    await waitFor(() => s.state === "open", 3000, "open");
    const frame = new Int16Array(320).fill(1000);
    const N = 20_000; // 400 s of audio, 12.8 MB: more than the kernel's socket buffers hold
    for (let i = 0; i < N; i++) s.sendFrame(frame, i * 20);
    const st = s.stats();
    expect(st.framesDropped).toBeGreaterThan(0);
    const lost = bridgeAudioLost(st, undefined);
    expect(lost.toAgent.backpressure).toBe(st.framesDropped * 20);
    expect(lost.toCaller).toEqual({ queueFull: 0, late: 0 });

    const metrics = new NodeMetrics("n1", () => ({}));
    metrics.watchBridges(() => [{ id: "s1", lost: bridgeAudioLost(s.stats(), undefined) }]);
    const text = await metrics.text();
    expect(lostIn(text, "to-agent", "backpressure")).toBe(st.framesDropped * 20);
    expect(lostIn(text, "to-caller", "queue-full")).toBe(0);
    // a second scrape and the call's end add nothing already counted
    await metrics.text();
    metrics.bridgeEnded({ ...s.stats(), audioLostMs: bridgeAudioLost(s.stats(), undefined) }, "s1");
    metrics.watchBridges(() => []);
    expect(lostIn(await metrics.text(), "to-agent", "backpressure")).toBe(st.framesDropped * 20);
    metrics.close();
    s.close("test over");
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it("the pacer stalls while the agent's audio waits: the ticks it skipped count as late audio toward the caller", async () => {
    await loadResampler();
    const clock = new VirtualClock(0);
    const src = new PcmPushSource({ rate: 16000, maxBufferMs: 20_000, clock });
    src.subscribe({ onFrame: () => {}, onEnd: () => {} });
    src.push(new Int16Array(16000).fill(500), 16000, 1); // 1 s queued
    clock.advance(100); // five ticks on time
    expect(src.stats().lateMs).toBe(0);
    // the wake-up scheduled at 120 ms for the tick due at 140 comes 200 ms late (a stalled loop)
    clock.lateness = () => 200;
    clock.advance(20);
    clock.lateness = undefined;
    clock.advance(220);
    // at 340 ms the ticks due at 140…340 (11) fall due at once: 3 are caught up, 8 skipped, with
    // audio waiting: 160 ms late
    expect(src.stats().lateMs).toBe(160);
    // a stall with nothing queued loses nothing
    const idle = new PcmPushSource({ rate: 16000, clock });
    idle.subscribe({ onFrame: () => {}, onEnd: () => {} });
    clock.advance(100);
    clock.lateness = () => 200;
    clock.advance(20);
    clock.lateness = undefined;
    clock.advance(220);
    expect(idle.stats().lateMs).toBe(0);
    src.end();
    idle.end();
  });
});
