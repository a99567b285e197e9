// A Twilio Media Streams agent, written from Twilio's documentation of the WebSocket messages
// (https://www.twilio.com/docs/voice/media-streams/websocket-messages) and nothing of rtcgw's code:
// it checks the messages' shapes and order as documented, decodes the caller's μ-law (G.711, its
// own decoder below) and hears the caller's 440 Hz, answers with 600 Hz that a node-datachannel
// caller hears, and times its marks and a clear against what the caller receives.
import twilio from "twilio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

// ---------------------------------------------------------------- the agent, from the docs

/** G.711 μ-law byte → linear sample (ITU-T G.711; the textbook expansion) */
function ulawDecode(u: number): number {
  const x = ~u & 0xff;
  const sign = x & 0x80;
  const exponent = (x >> 4) & 0x07;
  const mantissa = x & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

/** linear sample → μ-law byte (ITU-T G.711; the textbook compression) */
function ulawEncode(sample: number): number {
  const BIAS = 0x84;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), 32635) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  s = ~(sign | (exponent << 4) | mantissa) & 0xff;
  return s;
}

function tonePayload(hz: number, ms: number, startSample = 0): string {
  const n = (8000 * ms) / 1000;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++)
    b[i] = ulawEncode(Math.round(8000 * Math.sin((2 * Math.PI * hz * (startSample + i)) / 8000)));
  return b.toString("base64");
}

interface TwilioMessage {
  event: string;
  sequenceNumber?: string;
  streamSid?: string;
  [k: string]: unknown;
}

/** one stream as the agent saw it, every message with its arrival time */
interface Stream {
  ws: WebSocket;
  messages: Array<{ at: number; msg: TwilioMessage }>;
  binary: number;
  closed?: number;
}

const now = () => performance.timeOrigin + performance.now();

let h: Harness;
let agent: WebSocketServer;
let port: number;
const streams: Stream[] = [];

beforeAll(async () => {
  agent = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => agent.once("listening", r));
  port = (agent.address() as { port: number }).port;
  agent.on("connection", (ws) => {
    const s: Stream = { ws, messages: [], binary: 0 };
    streams.push(s);
    ws.on("message", (data, isBinary) => {
      if (isBinary) s.binary++;
      else s.messages.push({ at: now(), msg: JSON.parse(String(data)) });
    });
    ws.on("close", (code) => {
      s.closed = code;
    });
  });
  h = await startHarness({ RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${port}/` });
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => agent.close(() => r()));
});

async function call(params: Record<string, string> = {}) {
  const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false, dtmf: true });
  const before = streams.length;
  const r = await h.createSession(c.offer, {
    profile: "bridge",
    body: { bridgeUrl: `ws://127.0.0.1:${port}/twilio`, bridgeProtocol: "twilio", bridgeParams: params },
  });
  const sessionId = r.sessionId;
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  await waitFor(() => streams.length > before, 3000, "the agent's connection");
  return { c, sessionId, s: streams[before]! };
}

const of = (s: Stream, event: string) => s.messages.filter((m) => m.msg.event === event);

/** the caller's packets that carry sound (not DTX, not near-silence), by arrival */
function audibleArrivals(c: ClientPeer, from = 0): Array<{ at: number; i: number }> {
  const { samples } = c.receivedPcm();
  const out: Array<{ at: number; i: number }> = [];
  for (let i = from; i < c.arrivals.length; i++) {
    const a = c.arrivals[i]!;
    const end = c.arrivals[i + 1]?.pcmOffset ?? samples.length;
    let peak = 0;
    for (let k = a.pcmOffset; k < end; k++) peak = Math.max(peak, Math.abs(samples[k]!));
    if (peak > 1500) out.push({ at: a.at, i });
  }
  return out;
}

describe("Twilio Media Streams agent (written from Twilio's docs) against rtcgw", () => {
  it("connected, then start (streamSid, callSid, tracks, customParameters, mediaFormat), then media every 20 ms with string counters; μ-law of the caller's 440 Hz; stop at the end", async () => {
    const { c, sessionId, s } = await call({ language: "en", caller: "+15550100" });
    await waitFor(() => of(s, "media").length >= 100, 8000, "2 s of media");
    const first = s.messages[0]!.msg;
    expect(first).toEqual({ event: "connected", protocol: "Call", version: "1.0.0" });
    const start = s.messages[1]!.msg as TwilioMessage & { start: Record<string, unknown> };
    expect(start.event).toBe("start");
    expect(start.sequenceNumber).toBe("1");
    expect(start.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(start.start).toMatchObject({
      streamSid: start.streamSid,
      callSid: sessionId,
      accountSid: expect.stringMatching(/^AC[0-9a-f]{32}$/),
      tracks: ["inbound"],
      customParameters: { language: "en", caller: "+15550100" },
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
    });
    expect(s.binary).toBe(0); // JSON text only
    const media = of(s, "media").map((m) => m.msg as TwilioMessage & { media: Record<string, string> });
    media.forEach((m, i) => {
      expect(m.streamSid).toBe(start.streamSid);
      expect(m.sequenceNumber).toBe(String(i + 2)); // start was "1"
      expect(m.media.track).toBe("inbound");
      expect(m.media.chunk).toBe(String(i + 1));
      expect(typeof m.media.timestamp).toBe("string");
      if (i > 0) expect(Number(m.media.timestamp) - Number(media[i - 1]!.media.timestamp)).toBe(20);
      expect(Buffer.from(m.media.payload, "base64").length).toBe(160); // 20 ms of 8 kHz μ-law
    });
    const pcm = Int16Array.from(
      Buffer.concat(media.slice(10, 100).map((m) => Buffer.from(m.media.payload, "base64"))),
      ulawDecode,
    );
    expect(toneRatio(pcm, 8000, 440)).toBeGreaterThan(0.8);

    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await waitFor(() => s.closed !== undefined, 3000, "the socket to close");
    const stop = s.messages.at(-1)!.msg as TwilioMessage & { stop: Record<string, string> };
    expect(stop.event).toBe("stop");
    expect(stop.streamSid).toBe(start.streamSid);
    expect(stop.stop).toMatchObject({ callSid: sessionId, accountSid: start.start.accountSid });
    expect(Number(stop.sequenceNumber)).toBe(Number(s.messages.at(-2)!.msg.sequenceNumber) + 1);
    expect(s.closed).toBe(1000);
    await c.close();
  });

  it("600 Hz sent back is heard by the caller; a mark comes back within 20 ms of its last audio reaching the caller, not when it was queued", async () => {
    const { c, sessionId, s } = await call();
    await waitFor(() => of(s, "media").length >= 10, 3000, "media");
    const streamSid = s.messages[1]!.msg.streamSid;
    const from = c.arrivals.length;
    // 1 s of 600 Hz in 100 ms messages (any length is allowed), all at once, then a mark
    for (let k = 0; k < 10; k++)
      s.ws.send(
        JSON.stringify({ event: "media", streamSid, media: { payload: tonePayload(600, 100, k * 800) } }),
      );
    s.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "utterance-1" } }));
    const sentAt = now();
    await waitFor(() => of(s, "mark").length === 1, 3000, "the mark");
    const mark = of(s, "mark")[0]!;
    expect(mark.msg).toMatchObject({ event: "mark", streamSid, mark: { name: "utterance-1" } });
    expect(typeof mark.msg.sequenceNumber).toBe("string");
    // it played for about as long as the audio lasts (not echoed when queued)
    expect(mark.at - sentAt).toBeGreaterThan(900);
    await new Promise((r) => setTimeout(r, 200));
    const audible = audibleArrivals(c, from);
    expect(audible.length).toBeGreaterThanOrEqual(45);
    const lastAudio = audible.at(-1)!.at;
    expect(Math.abs(mark.at - lastAudio)).toBeLessThanOrEqual(20);
    const { rate, samples } = c.receivedPcm();
    const heard = samples.subarray(
      c.arrivals[audible[5]!.i]!.pcmOffset,
      c.arrivals[audible.at(-5)!.i]!.pcmOffset,
    );
    expect(toneRatio(heard, rate, 600)).toBeGreaterThan(0.8);
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });

  it("a 30 s prompt sent at once is queued whole, as Twilio buffers up to 10 minutes (nothing dropped; the oldest 10 s went when the queue held 20 s)", async () => {
    const { c, sessionId, s } = await call();
    await waitFor(() => of(s, "media").length >= 5, 3000, "media");
    const streamSid = s.messages[1]!.msg.streamSid;
    for (let k = 0; k < 30; k++)
      s.ws.send(
        JSON.stringify({ event: "media", streamSid, media: { payload: tonePayload(600, 1000, k * 8000) } }),
      );
    s.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "prompt" } }));
    await new Promise((r) => setTimeout(r, 1500));
    const st = (await h.call("GET", `/internal/sessions/${sessionId}`)).json;
    expect(st.bridge.audioLostMs.toCaller.queueFull).toBe(0);
    expect(of(s, "mark")).toEqual([]); // 28 s of it still to play
    // the caller hears it meanwhile
    expect(audibleArrivals(c).length).toBeGreaterThanOrEqual(40);
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });

  it("a mark after every 50 ms of a 150 s answer queued at once (3000 marks, as OpenAI's Twilio transport marks each delta): none refused; a clear answers them all, in order, within a few ticks", async () => {
    const { c, sessionId, s } = await call();
    await waitFor(() => of(s, "media").length >= 5, 3000, "media");
    const streamSid = s.messages[1]!.msg.streamSid;
    const chunk = tonePayload(600, 50);
    for (let i = 0; i < 3000; i++) {
      s.ws.send(JSON.stringify({ event: "media", streamSid, media: { payload: chunk } }));
      s.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: `d${i}` } }));
    }
    // every mark is in (each one answered as it comes, or pending); then the barge-in
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${sessionId}`)).json.bridge.marks === 3000,
      5000,
      "the 3000 marks read",
    );
    expect((await h.call("GET", `/internal/sessions/${sessionId}`)).json.bridge.protocolErrors).toBe(0);
    const clearedAt = now();
    s.ws.send(JSON.stringify({ event: "clear", streamSid }));
    await waitFor(() => of(s, "mark").length === 3000, 2000, "every mark answered");
    expect(of(s, "mark").map((m) => (m.msg.mark as { name: string }).name)).toEqual(
      Array.from({ length: 3000 }, (_, i) => `d${i}`),
    );
    // 250 a tick: the last within ~12 ticks of the clear
    expect(of(s, "mark")[2999]!.at - clearedAt).toBeLessThan(600);
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });

  it("clear: every pending mark answered at once, the queued audio stops at the caller, and the agent's next audio is the next thing heard", async () => {
    const { c, sessionId, s } = await call();
    await waitFor(() => of(s, "media").length >= 10, 3000, "media");
    const streamSid = s.messages[1]!.msg.streamSid;
    s.ws.send(JSON.stringify({ event: "media", streamSid, media: { payload: tonePayload(600, 3000) } }));
    s.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "a" } }));
    s.ws.send(JSON.stringify({ event: "media", streamSid, media: { payload: tonePayload(600, 1000) } }));
    s.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "b" } }));
    await new Promise((r) => setTimeout(r, 600));
    expect(of(s, "mark")).toHaveLength(0);
    const from = c.arrivals.length;
    s.ws.send(JSON.stringify({ event: "clear", streamSid }));
    const clearedAt = now();
    // barge-in over: the agent speaks again at once (1000 Hz)
    s.ws.send(JSON.stringify({ event: "media", streamSid, media: { payload: tonePayload(1000, 400) } }));
    await waitFor(() => of(s, "mark").length === 2, 1000, "both marks");
    expect(of(s, "mark").map((m) => (m.msg.mark as { name: string }).name)).toEqual(["a", "b"]);
    expect(of(s, "mark")[1]!.at - clearedAt).toBeLessThan(20);
    await new Promise((r) => setTimeout(r, 1000));
    // the RTP the caller got after the clear: continuous sequence numbers, nothing of the 600 Hz
    // past the fade, the 1000 Hz from the first packet after the clear
    const after = c.arrivals.slice(from);
    for (let i = 1; i < after.length; i++) expect(after[i]!.seq).toBe((after[i - 1]!.seq + 1) & 0xffff);
    const audible = audibleArrivals(c, from);
    const { rate, samples } = c.receivedPcm();
    const pcmOf = (i: number) =>
      samples.subarray(c.arrivals[i]!.pcmOffset, c.arrivals[i + 1]?.pcmOffset ?? samples.length);
    // the agent's next audio (1000 Hz): the first packet that carries any of it (it also carries
    // the 5 ms fade, and the decoder's look-ahead blends the two, so "any" is a share of the
    // packet) comes right after what was in flight at the clear — nothing of the old queue between.
    // How soon it is heard: the next test.
    const new1000 = audible.filter((a) => toneRatio(pcmOf(a.i), rate, 1000) > 0.2);
    expect(new1000.length).toBeGreaterThan(0);
    const between = audible.filter(
      (a) => a.at - clearedAt > 20 && a.at < new1000[0]!.at && toneRatio(pcmOf(a.i), rate, 600) > 0.5,
    );
    expect(between).toEqual([]);
    console.log(
      `  clear → the agent's next audio heard at the caller after ${new1000[0]!.at - clearedAt} ms`,
    );
    const next = samples.subarray(
      c.arrivals[new1000[1]!.i]!.pcmOffset,
      c.arrivals[new1000.at(-2)!.i]!.pcmOffset,
    );
    expect(toneRatio(next, rate, 1000)).toBeGreaterThan(0.8);
    expect(toneRatio(next, rate, 600)).toBeLessThan(0.05);
    // none of the 3.4 s left: past what was already on its way when the clear was sent (20 ms),
    // no packet the caller hears is the old 600 Hz; the new 1000 Hz is 400 ms: 20 packets (+1 fade)
    const afterClear = audible.filter((a) => a.at - clearedAt > 20);
    expect(afterClear.filter((a) => toneRatio(pcmOf(a.i), rate, 600) > 0.5)).toEqual([]);
    expect(afterClear.length).toBeLessThanOrEqual(21);
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });

  // Issue 15's target, measured at the caller: from the agent's `clear` (ws.send) to the arrival
  // of the first RTP packet in which the agent's next audio is heard. "Heard": a 5 ms stretch of
  // the packet's decoded audio that is the new 1000 Hz (Goertzel share > 0.8; 5 ms holds whole
  // periods of both 600 and 1000 Hz, so the old tone does not leak into it). Three clears at
  // different phases of the pacer's 20 ms grid. Before the fix this took 25–41 ms: the first
  // packet after the clear left at once but held the 5 ms fade, then the new audio, and Opus'
  // 6.5 ms look-ahead left only its last ~3 ms to the new tone; the next packet came one to two
  // ticks later. Now the new audio is cross-faded into the fade (PcmPushSource.clear) and fills
  // that first packet.
  it("clear: the agent's next audio is heard at the caller within 20 ms of the clear", async () => {
    const { c, sessionId, s } = await call();
    await waitFor(() => of(s, "media").length >= 10, 3000, "media");
    const streamSid = s.messages[1]!.msg.streamSid;
    const took: number[] = [];
    for (let round = 0; round < 3; round++) {
      s.ws.send(JSON.stringify({ event: "media", streamSid, media: { payload: tonePayload(600, 2000) } }));
      await new Promise((r) => setTimeout(r, 300 + round * 37));
      const from = c.arrivals.length;
      s.ws.send(JSON.stringify({ event: "clear", streamSid }));
      const clearedAt = now();
      s.ws.send(JSON.stringify({ event: "media", streamSid, media: { payload: tonePayload(1000, 200) } }));
      await new Promise((r) => setTimeout(r, 400));
      const { rate, samples } = c.receivedPcm();
      const win = (rate * 5) / 1000;
      const heard = c.arrivals.slice(from).find((a, k) => {
        const end = c.arrivals[from + k + 1]?.pcmOffset ?? samples.length;
        for (let at = a.pcmOffset; at + win <= end; at += win / 5)
          if (toneRatio(samples.subarray(at, at + win), rate, 1000) > 0.8) return true;
        return false;
      });
      expect(heard, "a packet carrying the agent's next audio").toBeDefined();
      took.push(heard!.at - clearedAt);
    }
    console.log(
      `  clear → the agent's next audio heard at the caller after ${took.map((t) => t.toFixed(1)).join(", ")} ms`,
    );
    for (const t of took) expect(t).toBeLessThanOrEqual(20);
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });

  it("a caller's key press arrives as a dtmf event (inbound_track, the digit)", async () => {
    const { c, sessionId, s } = await call();
    await waitFor(() => of(s, "media").length >= 10, 3000, "media");
    c.sendDigit("7");
    await waitFor(() => of(s, "dtmf").length === 1, 3000, "the dtmf event");
    const d = of(s, "dtmf")[0]!.msg;
    expect(d).toMatchObject({
      event: "dtmf",
      streamSid: s.messages[1]!.msg.streamSid,
      dtmf: { track: "inbound_track", digit: "7" },
    });
    expect(typeof d.sequenceNumber).toBe("string");
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });

  it("an agent slow to accept: the caller's first words come after connected and start, numbered in order", async () => {
    const slow = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      verifyClient: (_i, done) => setTimeout(() => done(true), 1000),
    });
    await new Promise<void>((r) => slow.once("listening", r));
    const msgs: TwilioMessage[] = [];
    slow.on("connection", (ws) => ws.on("message", (d) => msgs.push(JSON.parse(String(d)))));
    const slowUrl = `ws://127.0.0.1:${(slow.address() as { port: number }).port}/`;
    const h2 = await startHarness({ RTCGW_BRIDGE_ALLOW: slowUrl });
    const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
    const r = await h2.createSession(c.offer, {
      profile: "bridge",
      body: { bridgeUrl: slowUrl, bridgeProtocol: "twilio" },
    });
    const sessionId = r.sessionId;
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await waitFor(() => msgs.filter((m) => m.event === "media").length >= 60, 6000, "media");
    expect(msgs[0]!.event).toBe("connected");
    expect(msgs[1]!.event).toBe("start");
    const sid = msgs[1]!.streamSid;
    msgs.slice(1).forEach((m, i) => {
      expect(m.sequenceNumber).toBe(String(i + 1));
      expect(m.streamSid).toBe(sid);
    });
    const st = (await h2.call("GET", `/internal/sessions/${sessionId}`)).json;
    expect(st.bridge.earlyFrames).toBeGreaterThan(20);
    await h2.call("DELETE", `/internal/sessions/${sessionId}`);
    await c.close();
    await h2.close();
    await new Promise<void>((r) => slow.close(() => r()));
  });

  it("an agent that sends Twilio's own connected (as agents built on Twilio libraries may) breaks nothing; an unknown event is still a protocol error", async () => {
    const { c, sessionId, s } = await call();
    await waitFor(() => of(s, "start").length === 1, 3000, "start");
    const streamSid = of(s, "start")[0]!.msg.streamSid;
    s.ws.send(JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }));
    s.ws.send(JSON.stringify({ event: "connected", streamSid }));
    s.ws.send(JSON.stringify({ event: "dance", streamSid }));
    // a mark after them, answered at once (nothing queued): every message before it has been read
    s.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "sync" } }));
    await waitFor(() => of(s, "mark").length === 1, 3000, "the sync mark");
    const st = (await h.call("GET", `/internal/sessions/${sessionId}`)).json;
    expect(st.bridge).toMatchObject({ state: "open", protocolErrors: 1, reconnects: 0 });
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });

  it.each([
    ["1000", (ws: WebSocket) => ws.close(1000)],
    // Node's ws close() without arguments: a close frame with no status code (the node reads 1005)
    ["no status code", (ws: WebSocket) => ws.close()],
  ])("the agent closing its socket (%s) ends the call (a Twilio stream ends so)", async (_, close) => {
    const { c, sessionId, s } = await call();
    await waitFor(() => of(s, "media").length >= 5, 3000, "media");
    const dials = streams.length;
    close(s.ws);
    // this session ends (whatever another test left behind)
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${sessionId}`)).status === 404,
      3000,
      "the session to end",
    );
    expect((await h.call("GET", `/internal/sessions/${sessionId}`)).status).toBe(404);
    // not redialed
    expect(streams.length).toBe(dials);
    await c.close();
  });
});

describe("a Twilio agent that checks X-Twilio-Signature (Twilio's own validateRequest)", () => {
  it("with RTCGW_BRIDGE_SECRET as its auth token it takes the dial; with another token it refuses it (403), as OpenAI's Twilio example does", async () => {
    const SECRET = "the-agents-twilio-auth-token-0123";
    let accepted = 0;
    let refused = 0;
    // the agent: it validates the upgrade before accepting, with the twilio package (its own
    // library, not rtcgw's idea of it); the URL it validates is the one it knows itself by
    const checked = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      verifyClient: ({ req }, done) => {
        const url = `ws://${req.headers.host}${req.url}`;
        const token = req.url?.startsWith("/wrong-token") ? "not-the-secret-0123456789" : SECRET;
        const ok = twilio.validateRequest(token, String(req.headers["x-twilio-signature"] ?? ""), url, {});
        if (ok) accepted++;
        else refused++;
        done(ok, 403);
      },
    });
    await new Promise<void>((r) => checked.once("listening", r));
    const p = (checked.address() as { port: number }).port;
    const starts: unknown[] = [];
    checked.on("connection", (ws) =>
      ws.on("message", (d) => {
        const m = JSON.parse(String(d));
        if (m.event === "start") starts.push(m);
      }),
    );
    const h2 = await startHarness({
      RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${p}/`,
      RTCGW_BRIDGE_SECRET: SECRET,
      RTCGW_BRIDGE_RECONNECT_S: "1",
    });
    try {
      for (const path of ["/twilio?call=1", "/wrong-token"]) {
        const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
        const r = await h2.createSession(c.offer, {
          profile: "bridge",
          body: { bridgeUrl: `ws://127.0.0.1:${p}${path}`, bridgeProtocol: "twilio" },
        });
        expect(r.status).toBe(201);
        c.accept(r.json.answer);
        await c.connected(5000);
        if (path === "/wrong-token") {
          // refused every time: the call ends agent-gone at the window
          await waitFor(
            async () => (await h2.call("GET", `/internal/sessions/${r.sessionId}`)).status === 404,
            5000,
            "the refused call to end",
          );
          expect(refused).toBeGreaterThan(0);
          expect(accepted).toBe(1);
        } else {
          await waitFor(() => starts.length === 1, 3000, "start at the checking agent");
          expect(refused).toBe(0);
          expect((await h2.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);
        }
        await c.close();
      }
    } finally {
      await h2.close();
      for (const ws of checked.clients) ws.terminate();
      await new Promise<void>((r) => checked.close(() => r()));
    }
  });
});
