// A receiving peer that sends neither RTP nor RTCP for RTCGW_SILENCE_INTERRUPT_S (1.5 s) interrupts
// its session ("silent": how an audio-only peer's close shows, peer-close.test.ts). A peer that
// only paused is connected again by its own next packet — no resume — and nothing else about the
// call changes while it is interrupted: the recording fills the pause at its true position, the
// bridge's agent keeps being heard by the caller and is told nothing. Without a resume window
// there is no interruption, so the silence does nothing (the media timeout ends such sessions).
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import type { SessionStatus } from "../../src/control/contract.js";
import { ClientPeer, type ClientPeerOptions, toneRatio } from "../support/client-peer.js";
import { longestSilence, readRecording } from "../support/recording-wav.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

let h: Harness | undefined;
let agent: WebSocketServer | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (agent) {
    for (const c of agent.clients) c.terminate();
    await new Promise<void>((r) => agent!.close(() => r()));
    agent = undefined;
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(id: string): Promise<SessionStatus> {
  return (await h!.call("GET", `/internal/sessions/${id}`)).json;
}

async function metrics(): Promise<string> {
  return (await fetch(`${h!.node.controlUrl}/metrics`)).text();
}

/** the session goes `interrupted` within `timeoutMs`, by `cause`; its status then */
async function interruptedBy(id: string, cause: string, timeoutMs: number): Promise<SessionStatus> {
  let st: SessionStatus | undefined;
  await waitFor(
    async () => {
      st = await status(id);
      return st.state === "interrupted";
    },
    timeoutMs,
    "the session to be interrupted",
  );
  expect(st!.interruptedBy).toBe(cause);
  return st!;
}

/** the session goes `interrupted` by "silent"; its status then */
function interruptedSilent(id: string): Promise<SessionStatus> {
  return interruptedBy(id, "silent", 4000);
}

/** a client peer on a new session of the harness's node: created over its control API (201),
 *  answered and connected */
async function connectPeer(
  peer: ClientPeerOptions,
  session: Parameters<Harness["createSession"]>[1],
): Promise<{ c: ClientPeer; id: string }> {
  const c = await ClientPeer.create(peer);
  const r = await h!.createSession(c.offer, session);
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  return { c, id: r.sessionId };
}

describe("a silent peer", () => {
  it("pauses its RTP 3 s: interrupted (silent), connected again by its next packet with no resume, past the window; the WAV has the pause at its true position", {
    timeout: 30_000,
  }, async () => {
    const WINDOW_S = 3;
    h = await startHarness({ RTCGW_RESUME_WINDOW: String(WINDOW_S), RTCGW_MEDIA_TIMEOUT: "60" });
    const { c, id } = await connectPeer(
      { direction: "sendonly", dataChannel: false, autoSend: false },
      { profile: "record", recordRate: 16000 },
    );
    c.startSending();
    await c.until(() => c.stats.packetsSent >= 100, 10_000, "2 s sent");
    c.stopSending();
    const pausedAt = c.lastSentAt!;
    const pausedFrame = c.lastSentFrame!;
    const sentBefore = c.stats.packetsSent;
    const st = await interruptedSilent(id);
    expect(st.interruptedAt! - pausedAt).toBeGreaterThanOrEqual(h.config.RTCGW_SILENCE_INTERRUPT_S * 1000);
    await waitFor(
      async () => (await h!.registry.getSession(id))?.state === "disconnected",
      500,
      "the record to say disconnected",
    );
    // the pause lasts 3 s; then the same peer sends again (its timestamps follow the wall clock)
    await sleep(pausedAt + 3000 - Date.now());
    c.startSending();
    const back = Date.now();
    await c.until(() => c.stats.packetsSent > sentBefore, 2000, "the first packet after the pause");
    // (the shared send clock may send a few due frames at once: the first of them)
    const resumeFrame = c.lastSentFrame! - (c.stats.packetsSent - sentBefore - 1);
    await waitFor(async () => (await status(id)).state === "connected", 1000, "connected again");
    console.log(
      `paused 3 s: interrupted ${st.interruptedAt! - pausedAt} ms after the last packet; connected again ${Date.now() - back} ms after the first new one`,
    );
    const again = await status(id);
    expect(again.interruptedBy).toBeUndefined();
    expect(again.resumes).toBeUndefined();
    await waitFor(
      async () => (await h!.registry.getSession(id))?.state === "connected",
      1000,
      "the record to say connected",
    );
    const m = await metrics();
    expect(m).toMatch(/^rtcgw_session_recoveries_total\{[^}]*cause="silent"[^}]*\} 1$/m);
    expect(m).toMatch(/^rtcgw_session_interruptions_total\{[^}]*cause="silent"[^}]*\} 1$/m);
    // the call goes on past the end of the window it was given while interrupted
    await sleep(st.resumeBy! + 500 - Date.now());
    expect((await status(id)).state).toBe("connected");
    expect(h.node.sessions()).toBe(1);
    await c.until(() => c.stats.packetsSent >= 100 + 150 + 50, 5000, "sending after the pause");
    c.stopSending();
    const lastFrame = c.lastSentFrame!;
    await sleep(300);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await c.close();
    expect(await metrics()).not.toMatch(/reason="resume-timeout"/);
    // first packet to the end of the last, the pause filled where it was
    const wav = readRecording(h.config.RECORDINGS_DIR, id);
    const [gapStart, gapEnd] = longestSilence(wav.samples, wav.rate);
    console.log(
      `WAV ${wav.ms} ms for frames 0..${lastFrame}; pause in it ${gapStart.toFixed(0)}–${gapEnd.toFixed(0)} ms`,
    );
    // (by the frames' indices: their RTP timestamps, not the wall clock, place the audio)
    expect(Math.abs(wav.ms - (lastFrame + 1) * 20)).toBeLessThanOrEqual(40);
    // (a gap inside a call starts with Opus PLC, ≤120 ms of concealment: docs/timeline.md)
    expect(gapStart - (pausedFrame + 1) * 20).toBeGreaterThanOrEqual(-40);
    expect(gapStart - (pausedFrame + 1) * 20).toBeLessThanOrEqual(120 + 40);
    expect(Math.abs(gapEnd - resumeFrame * 20)).toBeLessThanOrEqual(40);
    expect(gapEnd - gapStart).toBeGreaterThan(2500);
  });

  it("bridge: while the caller is silent-interrupted the agent's audio still reaches it and the agent is told nothing; the caller's audio reaches the agent again after", {
    timeout: 30_000,
  }, async () => {
    agent = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((res) => agent!.once("listening", res));
    const port = (agent.address() as { port: number }).port;
    const conn = {
      texts: [] as Array<Record<string, unknown>>,
      frames: 0,
      ws: undefined as WebSocket | undefined,
    };
    agent.on("connection", (ws) => {
      conn.ws = ws;
      ws.on("message", (data, isBinary) => {
        if (isBinary) conn.frames++;
        else conn.texts.push(JSON.parse(String(data)));
      });
    });
    h = await startHarness({
      RTCGW_RESUME_WINDOW: "20",
      RTCGW_MEDIA_TIMEOUT: "60",
      RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${port}/`,
    });
    const { c, id } = await connectPeer(
      { direction: "sendrecv", dataChannel: false, toneHz: 440 },
      {
        profile: "bridge",
        body: { bridgeUrl: `ws://127.0.0.1:${port}/silent` },
      },
    );
    await waitFor(() => conn.frames >= 25, 5000, "the caller's audio at the agent");
    c.stopSending();
    await interruptedSilent(id);
    // the agent speaks while the caller is silent: 1 s at 16 kHz, heard by the caller
    const from = c.stats.packetsReceived;
    const tone = Buffer.alloc(16000 * 2);
    for (let i = 0; i < 16000; i++)
      tone.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 600 * i) / 16000)), i * 2);
    conn.ws!.send(tone);
    await c.until(() => c.stats.packetsReceived - from >= 45, 4000, "the agent's audio at the caller");
    const { rate, samples } = c.receivedPcm();
    const heard = samples.subarray(c.arrivals[from + 5]!.pcmOffset, c.arrivals[from + 40]!.pcmOffset);
    expect(toneRatio(heard, rate, 600)).toBeGreaterThan(0.8);
    // still interrupted all along (the caller sent nothing), and the agent was told nothing of it
    // (its own audio's progress, "played", goes on as in any call)
    const told = () => conn.texts.map((t) => t.type).filter((t) => t !== "played");
    expect((await status(id)).state).toBe("interrupted");
    expect(told()).toEqual(["start"]);
    // the caller speaks again: connected, and the agent hears it
    const framesBefore = conn.frames;
    c.startSending();
    await waitFor(async () => (await status(id)).state === "connected", 1000, "connected again");
    await waitFor(() => conn.frames >= framesBefore + 25, 3000, "the caller's audio at the agent again");
    expect(told()).toEqual(["start"]);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await c.close();
  });

  it("a media-timeout interruption is also ended by the peer's RTP coming back (it used to wait out the window and end the call while the audio flowed)", {
    timeout: 20_000,
  }, async () => {
    // silence interruption off: the 1 s media timeout interrupts
    h = await startHarness({
      RTCGW_RESUME_WINDOW: "3",
      RTCGW_MEDIA_TIMEOUT: "1",
      RTCGW_SILENCE_INTERRUPT_S: "0",
    });
    const { c, id } = await connectPeer({ direction: "sendonly", dataChannel: false }, { profile: "record" });
    await c.until(() => c.stats.packetsSent >= 25, 5000, "0.5 s sent");
    c.stopSending();
    const st = await interruptedBy(id, "media-timeout", 3000);
    c.startSending();
    await waitFor(async () => (await status(id)).state === "connected", 1000, "connected again");
    expect(await metrics()).toMatch(/^rtcgw_session_recoveries_total\{[^}]*cause="media-timeout"[^}]*\} 1$/m);
    // past the window it would have ended at: still there, still receiving
    await sleep(st.resumeBy! + 500 - Date.now());
    const after = await status(id);
    expect(after.state).toBe("connected");
    expect(h.node.sessions()).toBe(1);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await c.close();
  });

  it("a silent peer that then closes (its stack says so) is no longer only silent: interruptedBy closed, the window still from the silence", {
    timeout: 20_000,
  }, async () => {
    h = await startHarness({ RTCGW_RESUME_WINDOW: "20", RTCGW_MEDIA_TIMEOUT: "60" });
    // with a datachannel: its close reaches the node (SCTP over DTLS, not RTP/RTCP)
    const { c, id } = await connectPeer({ direction: "sendonly" }, { profile: "record" });
    await c.until(() => c.stats.packetsSent >= 25, 5000, "0.5 s sent");
    c.stopSending();
    const st = await interruptedSilent(id);
    await c.close();
    let after: SessionStatus | undefined;
    await waitFor(
      async () => {
        after = await status(id);
        return after.interruptedBy === "closed";
      },
      2000,
      "the close to be seen",
    );
    expect(after!.state).toBe("interrupted");
    expect(after!.interruptedAt).toBe(st.interruptedAt);
    expect(after!.resumeBy).toBe(st.resumeBy);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
  });

  it("a silent-interrupted session whose record the store lost is written again as disconnected (not as its peer's connected)", {
    timeout: 30_000,
  }, async () => {
    h = await startHarness({ RTCGW_RESUME_WINDOW: "20", RTCGW_MEDIA_TIMEOUT: "60" });
    const { c, id } = await connectPeer({ direction: "sendonly", dataChannel: false }, { profile: "record" });
    await c.until(() => c.stats.packetsSent >= 25, 5000, "0.5 s sent");
    c.stopSending();
    await interruptedSilent(id);
    await waitFor(
      async () => (await h!.registry.getSession(id))?.state === "disconnected",
      500,
      "the record to say disconnected",
    );
    // the store loses it and the node's record (as a Redis restarted empty does): the next
    // heartbeat (every 5 s) registers the node again and writes its live sessions' records again
    expect(await h.registry.deleteSession(id)).toBe(true);
    await h.registry.removeNode(h.node.id);
    await waitFor(
      async () => (await h!.registry.getSession(id)) !== undefined,
      7000,
      "the record written again",
    );
    expect((await h.registry.getSession(id))?.state).toBe("disconnected");
    expect((await status(id)).state).toBe("interrupted");
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await c.close();
  });

  it("the node itself standing still 3 s (its event loop blocked) does not take its peers for silent", {
    timeout: 20_000,
  }, async () => {
    h = await startHarness({ RTCGW_RESUME_WINDOW: "20", RTCGW_MEDIA_TIMEOUT: "60" });
    const { c, id } = await connectPeer({ direction: "sendonly", dataChannel: false }, { profile: "record" });
    await c.until(() => c.stats.packetsSent >= 25, 5000, "0.5 s sent");
    // the process stalls (a frozen or starved node): the packets wait in the stack meanwhile
    const until = Date.now() + 3000;
    while (Date.now() < until) {}
    const seen: string[] = [];
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      seen.push((await status(id)).state);
      await sleep(20);
    }
    expect(new Set(seen)).toEqual(new Set(["connected"]));
    expect(await metrics()).not.toMatch(/^rtcgw_session_interruptions_total\{/m);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await c.close();
  });

  it("without a resume window, a silence is not an interruption (the media timeout ends such a session)", {
    timeout: 20_000,
  }, async () => {
    h = await startHarness({ RTCGW_RESUME_WINDOW: "0", RTCGW_MEDIA_TIMEOUT: "60" });
    const { c, id } = await connectPeer({ direction: "sendonly", dataChannel: false }, { profile: "record" });
    await c.until(() => c.stats.packetsSent >= 25, 5000, "0.5 s sent");
    c.stopSending();
    await sleep(3000);
    expect((await status(id)).state).toBe("connected");
    expect(await metrics()).not.toMatch(/^rtcgw_session_interruptions_total\{/m);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await c.close();
  });
});
