// The rtcgw bridge protocol's extensions end to end, with a real node-datachannel caller and real
// `ws` agents on loopback: the agent's rate, the session's parameters in `start`, the caller's
// datachannel both ways, marks and the played position, hangup, a socket that drops and comes
// back (resumed, gap counted, the caller told), a slow accept that keeps the caller's first words,
// and the dial's signature checked as docs/bridge.md tells an agent to.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { parseWav } from "../media/sinks/wav.js";
import { ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

const SECRET = "agent-shared-secret-0123456789";

interface Conn {
  ws: WebSocket;
  req: IncomingMessage;
  texts: Array<Record<string, unknown>>;
  frames: Buffer[];
  at: number;
  closed?: number;
}

/** an agent server: every connection recorded; `accept` may hold the upgrade (a slow agent) */
async function agentServer(o: { acceptDelayMs?: () => number } = {}) {
  const conns: Conn[] = [];
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    verifyClient: (_info, done) => {
      const d = o.acceptDelayMs?.() ?? 0;
      if (d > 0) setTimeout(() => done(true), d);
      else done(true);
    },
  });
  await new Promise<void>((r) => wss.once("listening", r));
  wss.on("connection", (ws, req) => {
    const c: Conn = { ws, req, texts: [], frames: [], at: Date.now() };
    conns.push(c);
    ws.on("message", (data, isBinary) => {
      if (isBinary) c.frames.push(Buffer.from(data as Buffer));
      else c.texts.push(JSON.parse(String(data)));
    });
    ws.on("close", (code) => {
      c.closed = code;
    });
  });
  const port = (wss.address() as { port: number }).port;
  return { wss, conns, port, url: (path = "/") => `ws://127.0.0.1:${port}${path}` };
}

let h: Harness;
let agent: Awaited<ReturnType<typeof agentServer>>;
let slow: Awaited<ReturnType<typeof agentServer>>;
let slowDelay = 0;

beforeAll(async () => {
  agent = await agentServer();
  slow = await agentServer({ acceptDelayMs: () => slowDelay });
  h = await startHarness({
    RTCGW_BRIDGE_ALLOW: `${agent.url()},${slow.url()}`,
    RTCGW_BRIDGE_SECRET: SECRET,
    RTCGW_BRIDGE_RECONNECT_S: "3",
  });
});
afterAll(async () => {
  await h?.close();
  for (const s of [agent, slow]) {
    for (const c of s.wss.clients) c.terminate();
    await new Promise<void>((r) => s.wss.close(() => r()));
  }
});

async function bridged(
  url: string,
  o: {
    rate?: number;
    params?: Record<string, string>;
    dataChannel?: boolean;
    dtmf?: boolean;
    record?: boolean;
  } = {},
) {
  const c = await ClientPeer.create({
    direction: "sendrecv",
    toneHz: 440,
    dataChannel: o.dataChannel ? "chat" : false,
    ...(o.dtmf ? { dtmf: true } : {}),
  });
  const r = await h.createSession(c.offer, {
    profile: "bridge",
    body: {
      bridgeUrl: url,
      ...(o.rate ? { bridgeRate: o.rate } : {}),
      ...(o.params ? { bridgeParams: o.params } : {}),
      ...(o.record ? { bridgeRecord: true } : {}),
    },
  });
  const sessionId = r.sessionId;
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  if (o.dataChannel) await c.channelOpen(5000);
  return { c, sessionId };
}

const end = async (sessionId: string, c: ClientPeer) => {
  await h.call("DELETE", `/internal/sessions/${sessionId}`);
  await c.close();
};

function pcm(frames: Buffer[]): Int16Array {
  const all = Buffer.concat(frames);
  return new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + all.length));
}

function tone(rate: number, hz: number, ms: number): Buffer {
  const n = (rate * ms) / 1000;
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  return b;
}

describe("rtcgw protocol: rates and parameters", () => {
  it.each([8000, 24000, 48000])(
    "bridge_rate %i: announced in start with the parameters, frames of rate/50 samples holding the caller's 440 Hz, audio back at that rate heard",
    async (rate) => {
      const before = agent.conns.length;
      const { c, sessionId } = await bridged(agent.url("/r"), { rate, params: { lang: "de" } });
      await waitFor(() => (agent.conns[before]?.frames.length ?? 0) >= 60, 5000, "frames");
      const a = agent.conns[before]!;
      expect(a.texts[0]).toMatchObject({
        type: "start",
        sessionId,
        rate,
        frameMs: 20,
        params: { lang: "de" },
      });
      expect(a.frames.every((f) => f.length === (rate / 50) * 2)).toBe(true);
      expect(toneRatio(pcm(a.frames.slice(10, 60)), rate, 440)).toBeGreaterThan(0.8);
      const from = c.stats.packetsReceived;
      a.ws.send(tone(rate, 600, 1000));
      await c.until(() => c.stats.packetsReceived - from >= 45, 4000, "the agent's audio");
      const { rate: r, samples } = c.receivedPcm();
      const heard = samples.subarray(c.arrivals[from + 5]!.pcmOffset, c.arrivals[from + 40]!.pcmOffset);
      expect(toneRatio(heard, r, 600)).toBeGreaterThan(0.8);
      await end(sessionId, c);
    },
  );
});

describe("rtcgw protocol: the call's side channels", () => {
  it("the caller's datachannel text reaches the agent as message, and the agent's message reaches the caller", async () => {
    const before = agent.conns.length;
    const { c, sessionId } = await bridged(agent.url("/dc"), { dataChannel: true });
    await waitFor(() => agent.conns.length > before, 3000, "the agent's connection");
    const a = agent.conns[before]!;
    c.sendText("hello agent");
    await waitFor(() => a.texts.some((t) => t.type === "message"), 3000, "the caller's text");
    expect(a.texts.find((t) => t.type === "message")).toEqual({ type: "message", data: "hello agent" });
    a.ws.send(JSON.stringify({ type: "message", data: "hello caller" }));
    expect(await c.message(0)).toBe("hello caller");
    await end(sessionId, c);
  });

  it("mark answered after its audio played; played reports the agent's audio that has left, every second", async () => {
    const before = agent.conns.length;
    const { c, sessionId } = await bridged(agent.url("/m"));
    await waitFor(() => agent.conns.length > before, 3000, "the agent's connection");
    const a = agent.conns[before]!;
    a.ws.send(tone(16000, 600, 1500));
    a.ws.send(JSON.stringify({ type: "mark", name: "m1" }));
    const sent = Date.now();
    await waitFor(() => a.texts.some((t) => t.type === "mark"), 4000, "the mark");
    expect(Date.now() - sent).toBeGreaterThan(1400);
    expect(a.texts.find((t) => t.type === "mark")).toEqual({ type: "mark", name: "m1" });
    await waitFor(() => a.texts.filter((t) => t.type === "played").length >= 2, 3000, "played");
    const played = a.texts.filter((t) => t.type === "played").map((t) => t.ms as number);
    for (let i = 1; i < played.length; i++) expect(played[i]!).toBeGreaterThanOrEqual(played[i - 1]!);
    expect(played.at(-1)).toBe(1500);
    await end(sessionId, c);
  });

  it("the caller's keys (RFC 4733 telephone-event, offered and answered) reach the agent as dtmf, once per press, the audio unharmed", async () => {
    const before = agent.conns.length;
    const { c, sessionId } = await bridged(agent.url("/dtmf"), { dtmf: true });
    await waitFor(() => (agent.conns[before]?.frames.length ?? 0) >= 20, 3000, "frames");
    const a = agent.conns[before]!;
    const lostBefore = (await h.call("GET", `/internal/sessions/${sessionId}`)).json.stats.lost;
    c.sendDigit("5", 120);
    await new Promise((r) => setTimeout(r, 150));
    c.sendDigit("#", 60);
    await waitFor(() => a.texts.filter((t) => t.type === "dtmf").length >= 2, 3000, "two digits");
    await new Promise((r) => setTimeout(r, 200)); // a repeated end packet would show up here
    expect(a.texts.filter((t) => t.type === "dtmf")).toEqual([
      { type: "dtmf", digit: "5", durationMs: 120 },
      { type: "dtmf", digit: "#", durationMs: 60 },
    ]);
    const st = (await h.call("GET", `/internal/sessions/${sessionId}`)).json;
    // the events' sequence numbers are not audio the decoder lost (nor concealed)
    expect(st.stats.lost - lostBefore).toBe(0);
    expect(toneRatio(pcm(a.frames.slice(10)), 16000, 440)).toBeGreaterThan(0.8);
    await end(sessionId, c);
  });

  it("hangup from the agent ends the call", async () => {
    const before = agent.conns.length;
    const { c, sessionId } = await bridged(agent.url("/h"));
    await waitFor(() => agent.conns.length > before, 3000, "the agent's connection");
    agent.conns[before]!.ws.send(JSON.stringify({ type: "hangup", reason: "goodbye" }));
    // this session ends (whatever another test left behind)
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${sessionId}`)).status === 404,
      3000,
      "the session to end",
    );
    expect((await h.call("GET", `/internal/sessions/${sessionId}`)).status).toBe(404);
    // counted when the teardown completes (a closing session already answers 404)
    const hungUp = /rtcgw_session_teardowns_total\{[^}]*reason="agent-hangup"[^}]*\} 1\b/;
    await waitFor(
      async () => hungUp.test(await (await fetch(`${h.node.controlUrl}/metrics`)).text()),
      3000,
      "the teardown counted as agent-hangup",
    );
    await c.close();
  });
});

describe("record=1: the bridged call on two channels", () => {
  it("one stereo WAV in RECORDINGS_DIR: the caller's 440 Hz left, the agent's 600 Hz right", async () => {
    const before = agent.conns.length;
    const { c, sessionId } = await bridged(agent.url("/rec"), { record: true });
    await waitFor(() => (agent.conns[before]?.frames.length ?? 0) >= 25, 3000, "frames");
    agent.conns[before]!.ws.send(tone(16000, 600, 1000));
    await new Promise((r) => setTimeout(r, 1500));
    await end(sessionId, c);
    const w = parseWav(join(h.config.RECORDINGS_DIR, `${sessionId}.wav`));
    expect(w.channels).toBe(2);
    expect(w.rate).toBe(16000);
    const n = w.samples.length / 2;
    const left = Int16Array.from({ length: n }, (_, k) => w.samples[2 * k]!);
    const right = Int16Array.from({ length: n }, (_, k) => w.samples[2 * k + 1]!);
    expect(n / 16000).toBeGreaterThan(1.8);
    expect(toneRatio(left.subarray(8000), 16000, 440)).toBeGreaterThan(0.7);
    // the agent spoke for 1 s somewhere in the call: find it on the right, pure 600 Hz
    let first = -1;
    for (let k = 0; k < n; k++)
      if (Math.abs(right[k]!) > 3000) {
        first = k;
        break;
      }
    expect(first).toBeGreaterThan(0);
    const spoken = right.subarray(first + 800, first + 15200);
    expect(toneRatio(spoken, 16000, 600)).toBeGreaterThan(0.8);
    expect(toneRatio(spoken, 16000, 440)).toBeLessThan(0.05);
  });
});

describe("an agent socket that comes back", () => {
  it("dropped without stop: redialed, start again with the same ids and resumed, the gap's frames dropped and counted, the caller told gone and back", async () => {
    const before = agent.conns.length;
    const { c, sessionId } = await bridged(agent.url("/re"), { dataChannel: true });
    await waitFor(() => (agent.conns[before]?.frames.length ?? 0) >= 25, 3000, "frames on the first socket");
    const first = agent.conns[before]!;
    first.ws.terminate(); // the agent's process died: no close frame
    await waitFor(() => agent.conns.length > before + 1, 3000, "the redial");
    const second = agent.conns[before + 1]!;
    await waitFor(() => second.frames.length >= 10, 3000, "frames on the second socket");
    const s1 = first.texts[0]!;
    const s2 = second.texts[0]!;
    expect(s2).toMatchObject({ type: "start", sessionId, streamId: s1.streamId, resumed: true });
    expect(s1.resumed).toBeUndefined();
    const notices = c.messages.map((m) => JSON.parse(String(m)));
    expect(notices[0]).toEqual({ type: "rtcgw.agent", state: "gone" });
    expect(notices[1]).toMatchObject({ type: "rtcgw.agent", state: "back", gapMs: expect.any(Number) });
    const st = (await h.call("GET", `/internal/sessions/${sessionId}`)).json;
    expect(st.bridge).toMatchObject({ state: "open", reconnects: 1, failed: false });
    expect(st.bridge.gapFrames).toBeGreaterThan(0);
    // the gap's audio is never replayed late: the second socket starts with the present
    expect(second.frames.length).toBeLessThan(20);
    await end(sessionId, c);
  });
});

describe("slow accept and signature", () => {
  it("an agent that takes 2 s to accept still gets the caller's first words, in order, then the live audio", async () => {
    slowDelay = 2000;
    const before = slow.conns.length;
    const { c, sessionId } = await bridged(slow.url("/slow"));
    const connectedAt = Date.now();
    await waitFor(() => slow.conns.length > before, 5000, "the slow accept");
    const a = slow.conns[before]!;
    await new Promise((r) => setTimeout(r, 500));
    const elapsed = Date.now() - connectedAt;
    // every 20 ms since the call connected is there (less what the jitter buffer holds)
    expect(a.frames.length).toBeGreaterThanOrEqual(Math.floor(elapsed / 20) - 10);
    expect(toneRatio(pcm(a.frames.slice(5, 50)), 16000, 440)).toBeGreaterThan(0.8);
    const st = (await h.call("GET", `/internal/sessions/${sessionId}`)).json;
    expect(st.bridge.earlyFrames).toBeGreaterThanOrEqual(80);
    expect(st.bridge.framesNotOpen).toBe(0);
    slowDelay = 0;
    await end(sessionId, c);
  });

  it("every dial is signed: HMAC-SHA256 over the URL and the time, checked as docs/bridge.md shows", async () => {
    const before = agent.conns.length;
    const url = agent.url("/signed?token=abc");
    const { c, sessionId } = await bridged(url);
    await waitFor(() => agent.conns.length > before, 3000, "the agent's connection");
    const req = agent.conns[before]!.req;
    // the agent's side, as documented
    const verify = (fullUrl: string, headers: IncomingMessage["headers"], secret: string): boolean => {
      const ts = Number(headers["x-rtcgw-timestamp"]);
      const sig = String(headers["x-rtcgw-signature"] ?? "");
      if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return false;
      const expected = createHmac("sha256", secret).update(`${fullUrl}\n${ts}`).digest();
      const got = Buffer.from(sig, "base64");
      return got.length === expected.length && timingSafeEqual(got, expected);
    };
    const full = `ws://${req.headers.host}${req.url}`;
    expect(full).toBe(url);
    expect(verify(full, req.headers, SECRET)).toBe(true);
    // Twilio's own header is for Twilio agents only
    expect(req.headers["x-twilio-signature"]).toBeUndefined();
    expect(verify(full, req.headers, "another-secret-0123456789")).toBe(false);
    expect(verify(agent.url("/signed?token=abd"), req.headers, SECRET)).toBe(false);
    await end(sessionId, c);
  });
});
