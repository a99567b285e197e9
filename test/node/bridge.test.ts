// The bridge profile end to end: a real node-datachannel client sends a 440 Hz Opus tone, the
// node carries it to a real `ws` server on loopback (the "application"), the application answers
// with a 600 Hz tone that reaches the client as RTP. Protocol: docs/pipeline.md, "Bridge protocol".
import { createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { createLogger } from "../../src/log/index.js";
import { AppSocket, type AppSocketOptions } from "../../src/node/bridge/app-socket.js";
import { RtcgwProtocol } from "../../src/node/bridge/rtcgw.js";
import { ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, newSessionId, startHarness, waitFor } from "./harness.js";

/** what the application saw on one connection */
interface AppConnection {
  ws: WebSocket;
  texts: Array<Record<string, unknown>>;
  frames: Buffer[];
  closed?: { code: number; reason: string };
}

let h: Harness;
let app: WebSocketServer;
let appPort: number;
let downPort: number;
const conns: AppConnection[] = [];
const RECONNECT_S = 4;

/** a loopback port nobody listens on (bound, read, released) */
async function unusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  app = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => app.once("listening", r));
  appPort = (app.address() as { port: number }).port;
  app.on("connection", (ws) => {
    const c: AppConnection = { ws, texts: [], frames: [] };
    conns.push(c);
    ws.on("message", (data, isBinary) => {
      if (isBinary) c.frames.push(Buffer.from(data as Buffer));
      else c.texts.push(JSON.parse(String(data)));
    });
    ws.on("close", (code, reason) => {
      c.closed = { code, reason: reason.toString() };
    });
  });
  downPort = await unusedPort();
  h = await startHarness({
    RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${appPort}/,ws://127.0.0.1:${downPort}/`,
    RTCGW_BRIDGE_RECONNECT_S: String(RECONNECT_S),
  });
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => app.close(() => r()));
});

/** as the signaling does: the session record first, then the node's control API */
async function createBridge(offer: string, bridgeUrl: string, kind: "session" | "whip" = "session") {
  const sessionId = newSessionId();
  await h.registry.createSession({
    id: sessionId,
    nodeId: h.node.id,
    kind,
    profile: "bridge",
    tokenHash: "a".repeat(64),
    state: "new",
    etag: "e0",
    ttlMs: 60_000,
  });
  const r = await h.call("POST", "/internal/sessions", {
    sessionId,
    kind,
    profile: "bridge",
    offer,
    bridgeUrl,
  });
  return { ...r, sessionId };
}

function tone16k(hz: number, ms: number, amplitude = 8000): Buffer {
  const n = (16000 * ms) / 1000;
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    b.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 16000)), i * 2);
  return b;
}

function pcmOf(frames: Buffer[]): Int16Array {
  const all = Buffer.concat(frames);
  const out = new Int16Array(all.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = all.readInt16LE(i * 2);
  return out;
}

describe("bridge profile over a real WebSocket", () => {
  it("start message, 20 ms 16 kHz frames of the caller's 440 Hz, the application's 600 Hz back as RTP, stop + close 1000", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
    const r = await createBridge(c.offer, `ws://127.0.0.1:${appPort}/agent?token=t0`);
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await waitFor(
      () => conns.length === 1 && conns[0]!.frames.length >= 60,
      8000,
      "1.2 s of frames at the application",
    );
    const conn = conns[0]!;
    expect(conn.texts[0]).toEqual({
      type: "start",
      sessionId: r.sessionId,
      streamId: expect.stringMatching(/^MZ[0-9a-f]{32}$/),
      format: "s16le",
      rate: 16000,
      channels: 1,
      frameMs: 20,
      params: {},
    });
    expect(conn.frames.every((f) => f.length === 640)).toBe(true);
    // past the decoder's start-up, the frames carry the caller's tone
    const heard = pcmOf(conn.frames.slice(10, 60));
    expect(toneRatio(heard, 16000, 440)).toBeGreaterThan(0.8);
    expect(toneRatio(heard, 16000, 1000)).toBeLessThan(0.05);

    // the application answers: 1 s of 600 Hz in uneven chunks, as fast as it has them
    const reply = tone16k(600, 1000);
    for (let i = 0; i < reply.length; i += 3200) conn.ws.send(reply.subarray(i, i + 3200));
    await c.until(() => c.stats.packetsReceived >= 45, 5000, "the application's audio at the client");
    const { rate, samples } = c.receivedPcm();
    const back = samples.subarray(rate / 10, (rate * 9) / 10);
    expect(toneRatio(back, rate, 600)).toBeGreaterThan(0.8);
    expect(toneRatio(back, rate, 440)).toBeLessThan(0.05);

    // the session's status shows the leg; /metrics counts it once the session ends
    const st = await h.call("GET", `/internal/sessions/${r.sessionId}`);
    expect(st.json.bridge).toMatchObject({
      state: "open",
      failed: false,
      framesDropped: 0,
      protocolErrors: 0,
    });
    expect(st.json.bridge.framesSent).toBeGreaterThanOrEqual(60);
    // how long the caller's audio waits before the agent gets it (the receive side's depth)
    expect(st.json.bridge.jitterDepthMs).toBeGreaterThanOrEqual(0);
    expect(st.json.bridge.jitterDepthMs).toBeLessThan(500);
    expect((await h.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);
    await waitFor(() => conn.closed !== undefined, 3000, "the application's socket to close");
    expect(conn.texts.at(-1)).toMatchObject({ type: "stop", reason: expect.any(String) });
    expect(conn.closed!.code).toBe(1000);
    expect(h.node.sessions()).toBe(0);
    const metrics = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
    expect(metrics).toMatch(/rtcgw_bridge_sessions_total\{[^}]*outcome="ok"[^}]*\} 1\b/);
    expect(
      Number(/rtcgw_bridge_frames_total\{[^}]*fate="sent"[^}]*\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(60);
    expect(metrics).toMatch(/rtcgw_bridge_jitter_depth_seconds_count\{[^}]*\} 1\b/);
    await c.close();
  });

  it("barge-in: the application's clear stops its queued audio at the caller", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
    const before = conns.length;
    const r = await createBridge(c.offer, `ws://127.0.0.1:${appPort}/`);
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await waitFor(() => conns.length > before && conns[before]!.texts.length > 0, 3000, "the start message");
    const conn = conns[before]!;
    conn.ws.send(tone16k(600, 3000)); // 3 s queued at once, as TTS does
    await c.until(() => c.stats.packetsReceived >= 10, 3000, "the application's audio starting");
    conn.ws.send(JSON.stringify({ type: "clear" }));
    await new Promise((res) => setTimeout(res, 1500));
    // 3 s of audio would be 150 packets; cleared, only what played before the clear (and at
    // most a few DTX packets of silence after it) reached the caller (without the clear: ~85)
    expect(c.stats.packetsReceived).toBeLessThan(40);
    expect((await h.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);
    await c.close();
  });

  it("a bridge URL outside RTCGW_BRIDGE_ALLOW is refused 403, one it could not dial 400, each with a reason, nothing dialed, no session left", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false, autoSend: false });
    const before = conns.length;
    const cases: Array<[string, number, RegExp]> = [
      [`ws://localhost:${appPort}/`, 403, /RTCGW_BRIDGE_ALLOW/], // another host spelling
      [`ws://127.0.0.1:${downPort === 22 ? 23 : 22}/`, 403, /RTCGW_BRIDGE_ALLOW/], // another port of the host
      [`wss://127.0.0.1:${appPort}/`, 403, /RTCGW_BRIDGE_ALLOW/], // another scheme
      [`wss://agent.example.com/`, 403, /RTCGW_BRIDGE_ALLOW/],
      [`ws://127.0.0.1:${appPort}@127.0.0.2:${appPort}/`, 400, /credentials/], // the entry smuggled as userinfo
      [`ws://127.0.0.1:${appPort}/agent#x`, 400, /fragment/], // used to be 201 and never dialed
      [`ws://127.0.0.1:${appPort}/a,ws://127.0.0.1:${downPort}/`, 400, /comma/], // used to dial its first half
    ];
    for (const [url, status, reason] of cases) {
      const r = await createBridge(c.offer, url);
      expect(r.status, url).toBe(status);
      expect(r.json.error, url).toBe(status === 403 ? "bridge-url-not-allowed" : "bad-bridge-url");
      expect(r.json.reason, url).toMatch(reason);
      expect((await h.call("GET", `/internal/sessions/${r.sessionId}`)).status).toBe(404);
    }
    expect(h.node.sessions()).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(conns.length).toBe(before); // nothing was dialed
    await c.close();
  });

  it("an application that is down: the caller is heard by a WHEP listener while the node redials, and after RTCGW_BRIDGE_RECONNECT_S the session ends with the reason", async () => {
    const src = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
    const r = await createBridge(src.offer, `ws://127.0.0.1:${downPort}/`);
    expect(r.status).toBe(201);
    const t0 = Date.now();
    src.accept(r.json.answer);
    await src.connected(5000);
    const listener = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
    const listenerId = newSessionId();
    const rl = await h.call("POST", "/internal/sessions", {
      sessionId: listenerId,
      kind: "whep",
      profile: "echo",
      offer: listener.offer,
      sourceSessionId: r.sessionId,
    });
    expect(rl.status).toBe(201);
    listener.accept(rl.json.answer);
    await listener.connected(5000);
    await listener.until(() => listener.stats.packetsReceived >= 50, 5000, "50 relayed packets");
    const { rate, samples } = listener.receivedPcm();
    expect(toneRatio(samples.subarray(rate / 5), rate, 440)).toBeGreaterThan(0.8);
    const st = await h.call("GET", `/internal/sessions/${r.sessionId}`);
    expect(st.status).toBe(200);
    expect(st.json.state).toBe("connected");
    // still redialing inside the window
    expect(st.json.bridge).toMatchObject({ state: "connecting", failed: false, framesSent: 0 });
    // the window passes: the session ends (its listener with it), with the reason in /metrics
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${r.sessionId}`)).status === 404,
      RECONNECT_S * 1000 + 4000,
      "the session to end after the window",
    );
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${listenerId}`)).status === 404,
      3000,
      "its listener to end with it",
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(RECONNECT_S * 1000 - 100);
    // a closing session already answers 404; its figures are counted when its teardown completes
    const failedLeg = /rtcgw_bridge_sessions_total\{[^}]*outcome="failed"[^}]*\} 1\b/;
    let metrics = "";
    await waitFor(
      async () => {
        metrics = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
        return failedLeg.test(metrics);
      },
      3000,
      "the failed leg counted",
    );
    expect(metrics).toMatch(/rtcgw_session_teardowns_total\{[^}]*reason="agent-gone"[^}]*\} 1\b/);
    await src.close();
    await listener.close();
  });
});

describe("AppSocket (rtcgw protocol) against a misbehaving application", () => {
  const log = createLogger({ level: "silent" });
  const sock = (o: Partial<AppSocketOptions> & { url: string }) =>
    new AppSocket({
      sessionId: "s1",
      log,
      protocol: new RtcgwProtocol({ rate: 16000 }),
      onCommand: () => {},
      ...o,
    });

  async function server(onConn: (ws: WebSocket) => void): Promise<{ wss: WebSocketServer; url: string }> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => wss.once("listening", r));
    wss.on("connection", onConn);
    return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/` };
  }

  it("odd-length audio and unknown text are counted and ignored; clear reaches the session; audio arrives whole", async () => {
    const { wss, url } = await server((ws) => {
      ws.send(Buffer.alloc(641)); // odd: not whole samples
      ws.send("not json");
      ws.send(JSON.stringify({ type: "dance" }));
      ws.send(JSON.stringify({ type: "clear" }));
      ws.send(tone16k(600, 100)); // 3200 bytes
    });
    const audio: Int16Array[] = [];
    let clears = 0;
    const s = sock({
      url,
      onCommand: (c) => {
        if (c.type === "audio") audio.push(c.samples);
        if (c.type === "clear") clears++;
      },
    });
    await waitFor(() => s.stats().audioIn === 1, 3000, "the good audio message");
    const st = s.stats();
    expect(st.protocolErrors).toBe(3);
    expect(clears).toBe(1);
    expect(audio.length).toBe(1);
    expect(audio[0]!.length).toBe(1600);
    expect(toneRatio(audio[0]!, 16000, 600)).toBeGreaterThan(0.9);
    expect(st.failed).toBe(false);
    s.close("test over");
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it("backpressure: an application that stops reading gets frames dropped and counted, the buffer stays bounded", async () => {
    const { wss, url } = await server((ws) => ws.pause()); // never reads: TCP fills up
    const s = sock({ url });
    await waitFor(() => s.state === "open", 3000, "open");
    const frame = new Int16Array(320).fill(1000);
    const N = 20_000; // 400 s of audio, 12.8 MB: far more than the kernel's socket buffers
    for (let i = 0; i < N; i++) s.sendFrame(frame, i * 20);
    const st = s.stats();
    expect(st.framesDropped).toBeGreaterThan(0);
    expect(st.framesSent + st.framesDropped).toBe(N);
    // what did go out fits the kernel's buffers plus the ~1 s bound, not the 12.8 MB offered
    expect(st.framesSent * 640).toBeLessThan(N * 640 * 0.75);
    s.close("test over");
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it("an application that accepts TCP but never answers the upgrade is redialed, then given up at the end of the window (its first frame was kept for it)", async () => {
    const held = new Set<Socket>();
    const silent = createServer((sock) => held.add(sock)); // accepts, says nothing
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const url = `ws://127.0.0.1:${(silent.address() as { port: number }).port}/`;
    let ended: string | undefined;
    const s = sock({
      url,
      openTimeoutMs: 300,
      reconnectMs: 1000,
      onLeg: (e) => {
        if (e.type === "ended") ended = e.reason;
      },
    });
    s.sendFrame(new Int16Array(320), 0);
    const t0 = Date.now();
    await waitFor(() => s.stats().failed, 4000, "the end of the window");
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(s.state).toBe("closed");
    expect(s.stats().earlyFrames).toBe(1);
    expect(held.size).toBeGreaterThanOrEqual(2); // dialed more than once
    expect(ended).toMatch(/could not be opened within 1 s/);
    for (const sock of held) sock.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });
});
