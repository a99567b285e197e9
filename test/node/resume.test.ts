// Resume (issue 17) on a real node with real node-datachannel callers: a caller drops its peer
// mid-call without DELETE (its network "changes": it stops sending and never closes), then
// resumes the same session with a brand-new peer (new ICE, DTLS, SSRC, random seq/ts).
//   record: the WAV is as long as the call from the first packet sent to the last (±40 ms), the
//           gap sits at its true position (±40 ms), tone on both sides, silence inside;
//   echo:   the echo is heard again on the new peer, under the same SSRC, without a burst;
//   bridge: the application's socket is the same socket, gets {"type":"resumed","gapMs"} and
//           keeps receiving the caller's frames;
//   window: a silent peer interrupts the session (status "interrupted" with since-when), a resume
//           inside the window continues it, after the window it ends ("resume-timeout");
//   refused: a resume offer that does not fit the session is 422 and leaves it untouched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { ClientPeer, type ClientPeerOptions, toneRatio } from "../support/client-peer.js";
import { longestSilence, readRecording } from "../support/recording-wav.js";
import { type Harness, newSessionId, startHarness, waitFor } from "./harness.js";

const WINDOW_S = 2;
const MEDIA_TIMEOUT_S = 1;

let h: Harness;
let app: WebSocketServer;
let appPort: number;
const conns: { texts: Array<Record<string, unknown>>; frames: number; closed: boolean }[] = [];

beforeAll(async () => {
  app = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => app.once("listening", r));
  appPort = (app.address() as { port: number }).port;
  app.on("connection", (ws) => {
    const c = { texts: [] as Array<Record<string, unknown>>, frames: 0, closed: false };
    conns.push(c);
    ws.on("message", (data, isBinary) => {
      if (isBinary) c.frames++;
      else c.texts.push(JSON.parse(String(data)));
    });
    ws.on("close", () => {
      c.closed = true;
    });
  });
  h = await startHarness({
    RTCGW_RESUME_WINDOW: String(WINDOW_S),
    RTCGW_MEDIA_TIMEOUT: String(MEDIA_TIMEOUT_S),
    RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${appPort}/`,
  });
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => app.close(() => r()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function resume(id: string, offer: string, etag?: string) {
  return h.call("POST", `/internal/sessions/${id}/resume`, { offer, ...(etag ? { etag } : {}) });
}

/** a connected session whose caller is sending */
async function callerOn(
  opts: ClientPeerOptions,
  o: { kind: "whip" | "session"; profile: string; recordRate?: number; bridgeUrl?: string },
) {
  const c = await ClientPeer.create(opts);
  const { bridgeUrl, ...session } = o;
  const r = await h.createSession(c.offer, { ...session, ...(bridgeUrl ? { body: { bridgeUrl } } : {}) });
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  await c.until(() => c.firstSentAt !== undefined, 3000, "first packet sent");
  return { c, id: r.sessionId };
}

/** a new peer for session `id`: resumed over the control API, connected, sending */
async function resumeWith(id: string, opts: ClientPeerOptions, etag = "resumed01") {
  const c = await ClientPeer.create(opts);
  const r = await resume(id, c.offer, etag);
  expect(r.status, r.text).toBe(200);
  expect(r.json).toMatchObject({ sessionId: id, nodeId: h.node.id, etag });
  c.accept(r.json.answer);
  await c.connected(5000);
  await c.until(() => c.firstSentAt !== undefined, 3000, "first packet sent on the new peer");
  return c;
}

async function metric(name: string): Promise<string> {
  return (await (await fetch(`${h.node.controlUrl}/metrics`)).text())
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("\n");
}

describe("resume a session with a new peer", () => {
  it("record: the WAV is the call from first packet to last, the gap at its true position", {
    timeout: 30_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendonly", dataChannel: false, toneHz: 500 };
    const { c: c1, id } = await callerOn(opts, { kind: "whip", profile: "record", recordRate: 16000 });
    await sleep(1500);
    c1.stopSending(); // the network is gone: no DELETE, no close
    await sleep(700);
    const c2 = await resumeWith(id, opts);
    await sleep(1500);
    const st = await h.call("GET", `/internal/sessions/${id}`);
    expect(st.json).toMatchObject({ state: "connected", resumes: 1 });
    expect(st.json.interruptedAt).toBeUndefined();
    c2.stopSending();
    const lastSent = c2.lastSentAt!;
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);

    const wav = readRecording(h.config.RECORDINGS_DIR, id);
    expect(wav.rate).toBe(16000);
    // first packet sent → end of the last packet sent (each carries 20 ms)
    const callMs = lastSent + 20 - c1.firstSentAt!;
    expect(Math.abs(wav.ms - callMs), `WAV ${wav.ms} ms, call ${callMs} ms`).toBeLessThanOrEqual(40);
    // the gap: from the old peer's last packet (plus ≤ 120 ms of concealment) to the new one's first
    const [silentFrom, silentTo] = longestSilence(wav.samples, wav.rate);
    // where the old peer's audio ends on the timeline: its last packet's RTP position (under
    // load the client's send clock lags and catches up, so its send *time* can be later)
    const oldEnd = (c1.lastSentFrame! + 1) * 20;
    const newStart = c2.firstSentAt! - c1.firstSentAt!;
    expect(
      silentTo - newStart,
      `audio resumes at ${silentTo} ms, sent at ${newStart} ms`,
    ).toBeGreaterThanOrEqual(-40);
    expect(silentTo - newStart).toBeLessThanOrEqual(40);
    expect(silentFrom).toBeGreaterThanOrEqual(oldEnd - 40);
    expect(silentFrom).toBeLessThanOrEqual(oldEnd + 120 + 40);
    const at = (t0: number, t1: number) =>
      wav.samples.subarray(Math.round((t0 * wav.rate) / 1000), Math.round((t1 * wav.rate) / 1000));
    expect(toneRatio(at(200, oldEnd - 100), 16000, 500)).toBeGreaterThan(0.8);
    expect(toneRatio(at(newStart + 100, wav.ms - 50), 16000, 500)).toBeGreaterThan(0.8);
    expect(await metric("rtcgw_session_resumes_total")).toMatch(/outcome="resumed"[^\n]* 1/);
    await Promise.all([c1.close(), c2.close()]);
  });

  it("echo: heard again on the new peer under the same SSRC, with no burst of queued audio", {
    timeout: 30_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendrecv", dataChannel: false, toneHz: 440 };
    const { c: c1, id } = await callerOn(opts, { kind: "session", profile: "echo" });
    await c1.until(() => c1.stats.packetsReceived >= 25, 5000, "the echo on the first peer");
    c1.stopSending();
    await sleep(600);
    const resumedAt = Date.now();
    const c2 = await resumeWith(id, opts);
    await c2.until(() => c2.stats.packetsReceived >= 50, 5000, "1 s of echo on the new peer");
    const firstAudioMs = c2.firstReceivedAt! - resumedAt;
    // paced at one packet per 20 ms since the first: nothing queued during the gap comes out
    const since = Date.now() - c2.firstReceivedAt!;
    expect(c2.stats.packetsReceived).toBeLessThanOrEqual(Math.ceil(since / 20) + 3);
    // our outgoing stream continues: the same SSRC on both peers
    expect(c2.stats.ssrcs).toEqual(c1.stats.ssrcs);
    const { rate, samples } = c2.receivedPcm();
    expect(toneRatio(samples.subarray(Math.round(rate * 0.3)), rate, 440)).toBeGreaterThan(0.7);
    expect(firstAudioMs).toBeLessThan(2000);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await Promise.all([c1.close(), c2.close()]);
  });

  it("bridge: the same application socket, told {type: resumed, gapMs}, keeps getting the caller", {
    timeout: 30_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendrecv", dataChannel: false, toneHz: 440 };
    const before = conns.length;
    const { c: c1, id } = await callerOn(opts, {
      kind: "session",
      profile: "bridge",
      bridgeUrl: `ws://127.0.0.1:${appPort}/agent`,
    });
    await waitFor(
      () => conns.length === before + 1 && conns[before]!.frames >= 25,
      5000,
      "frames at the app",
    );
    const conn = conns[before]!;
    c1.stopSending();
    await sleep(500);
    const c2 = await resumeWith(id, opts);
    await waitFor(() => conn.texts.some((t) => t.type === "resumed"), 5000, "resumed at the application");
    const gapMs = conn.texts.find((t) => t.type === "resumed")!.gapMs as number;
    const sentGap = c2.firstSentAt! - c1.lastSentAt!;
    expect(Math.abs(gapMs - sentGap), `gapMs ${gapMs}, sent gap ${sentGap}`).toBeLessThan(60);
    const framesAtResume = conn.frames;
    await sleep(500);
    expect(conn.frames).toBeGreaterThan(framesAtResume + 15);
    expect(conns.length).toBe(before + 1); // no second socket
    expect(conn.closed).toBe(false);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await waitFor(() => conn.closed, 3000, "the socket closed with the session");
    await Promise.all([c1.close(), c2.close()]);
  });

  it("a WHEP listener of the session keeps hearing it across the resume, from the new peer", {
    timeout: 30_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendonly", dataChannel: false, toneHz: 600 };
    const { c: c1, id } = await callerOn(opts, { kind: "whip", profile: "record", recordRate: 16000 });
    const listener = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
    const rl = await h.createSession(listener.offer, { kind: "whep", profile: "echo", sourceSessionId: id });
    expect(rl.status).toBe(201);
    listener.accept(rl.json.answer);
    await listener.connected(5000);
    await listener.until(() => listener.stats.packetsReceived >= 25, 5000, "the listener hearing the source");
    c1.stopSending();
    await sleep(400);
    // the new peer sends another tone: what the listener hears after the resume is the new peer's
    const c2 = await resumeWith(id, { ...opts, toneHz: 900 });
    const before = listener.receivedPcm().samples.length;
    await sleep(1200);
    const { rate, samples } = listener.receivedPcm();
    const after = samples.subarray(before + rate / 5);
    expect(after.length).toBeGreaterThan(rate * 0.6);
    expect(toneRatio(after, rate, 900)).toBeGreaterThan(0.6);
    expect(h.node.sessions()).toBe(2); // the source and its listener: nothing ended, nothing extra
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await waitFor(() => h.node.sessions() === 0, 3000, "the listener to end with its source");
    await Promise.all([c1.close(), c2.close(), listener.close()]);
  });

  it("a silent peer interrupts the session; a resume inside the window continues it; after the window it ends", {
    timeout: 30_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendonly", dataChannel: false };
    const { c: c1, id } = await callerOn(opts, { kind: "whip", profile: "record", recordRate: 16000 });
    c1.stopSending();
    const stopped = Date.now();
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${id}`)).json?.state === "interrupted",
      MEDIA_TIMEOUT_S * 1000 + 1500,
      "the session to be interrupted",
    );
    const st = (await h.call("GET", `/internal/sessions/${id}`)).json;
    expect(st.interruptedBy).toBe("media-timeout");
    expect(st.interruptedAt).toBeGreaterThanOrEqual(stopped + MEDIA_TIMEOUT_S * 1000 - 100);
    expect(st.resumeBy).toBe(st.interruptedAt + WINDOW_S * 1000);
    expect((await h.registry.getSession(id))?.state).toBe("disconnected");

    const c2 = await resumeWith(id, opts, "resumed02");
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${id}`)).json?.state === "connected",
      3000,
      "connected again",
    );
    await waitFor(async () => (await h.registry.getSession(id))?.state === "connected", 2000, "record");

    // the new peer goes silent too, and nobody resumes: the session ends after the window
    c2.stopSending();
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${id}`)).json?.state === "interrupted",
      MEDIA_TIMEOUT_S * 1000 + 1500,
      "interrupted again",
    );
    const interruptedAt = (await h.call("GET", `/internal/sessions/${id}`)).json.interruptedAt as number;
    await waitFor(
      async () => (await h.registry.getSession(id)) === undefined,
      WINDOW_S * 1000 + 2000,
      "ended",
    );
    expect(Date.now() - interruptedAt).toBeGreaterThanOrEqual(WINDOW_S * 1000 - 50);
    expect((await h.call("GET", `/internal/sessions/${id}`)).status).toBe(404);
    expect(await metric("rtcgw_session_teardowns_total")).toMatch(/reason="resume-timeout"[^\n]* 1/);
    // the node no longer has it: a resume now is refused (the signaling answers 410). The record
    // goes when the teardown starts, before the close's bounded wait for libdatachannel ends:
    // meanwhile the node still knows the session as closing and answers 410 itself (CI met that
    // window once), afterwards 404 (unknown here)
    const late = await ClientPeer.create(opts);
    expect([404, 410]).toContain((await resume(id, late.offer)).status);
    await Promise.all([c1.close(), c2.close(), late.close()]);
  });

  it("a resume offer that does not fit the session is refused and the session is untouched", {
    timeout: 20_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendrecv", dataChannel: false };
    const { c: c1, id } = await callerOn(opts, { kind: "session", profile: "echo" });
    const pcmu = await ClientPeer.create({ ...opts, codec: "pcmu" });
    const r = await resume(id, pcmu.offer);
    expect(r.status).toBe(422);
    expect(r.json.reason).toMatch(/codec/);
    expect((await resume(id, "v=0\r\nnot sdp")).status).toBe(400);
    expect((await resume(newSessionId(), c1.offer)).status).toBe(404);
    const received = c1.stats.packetsReceived;
    await c1.until(() => c1.stats.packetsReceived > received + 20, 3000, "the echo goes on");
    const st = (await h.call("GET", `/internal/sessions/${id}`)).json;
    expect(st.state).toBe("connected");
    expect(st.resumes).toBeUndefined();
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await Promise.all([c1.close(), pcmu.close()]);
  });
});
