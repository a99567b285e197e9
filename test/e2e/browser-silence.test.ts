// Chromium (Debian's, through playwright-core) against the silence interruption
// (RTCGW_SILENCE_INTERRUPT_S, 1.5 s by default, with the default resume window): a caller whose
// microphone track is muted (`enabled = false`) keeps sending — silence frames every 20 ms — so
// its session stays `connected`; a caller that stops sending RTP altogether (`replaceTrack(null)`,
// an "on hold" without renegotiation) is `interrupted` as "silent" once 1.5 s pass without RTP or
// RTCP, is not ended sooner than the media timeout would have (its RTCP shows it is alive), and
// is `connected` again by its own first packet when it sends again. The page reads its session's status
// (GET /v1/sessions/{id} with its Rtcgw-Session-Token) every 100 ms.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";

let stack: BrowserDevStack;
let page: Page;

beforeAll(async () => {
  // the defaults: RTCGW_SILENCE_INTERRUPT_S=1.5, RTCGW_RESUME_WINDOW=20
  stack = await startBrowserDevStack("rtcgw-e2e-silence-");
  expect(stack.config.RTCGW_SILENCE_INTERRUPT_S).toBe(1.5);
  expect(stack.config.RTCGW_RESUME_WINDOW).toBeGreaterThan(5);
  ({ page } = stack);
}, 90_000);

afterAll(async () => {
  await stack?.close();
});

interface Sample {
  at: number;
  state: string;
  interruptedBy?: string;
  resumeBy?: number;
  packetsIn: number;
}

interface Run {
  status: number;
  error?: string;
  url: string;
  /** statuses read during the pause (muted or without a track) and in the 1.5 s after it */
  during: Sample[];
  after: Sample[];
  pausedAt: number;
  resumedAt: number;
  /** Chromium's own outbound-rtp packetsSent at the pause's start and end */
  sentAtPause: number;
  sentAtEnd: number;
}

async function callWithPause(how: "mute" | "no-track"): Promise<Run> {
  await page.goto(`${stack.gateway.emulator.url}/`);
  return page.evaluate(async (how) => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const track = stream.getAudioTracks()[0]!;
    const pc = new RTCPeerConnection();
    const tr = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((done) => {
      if (pc.iceGatheringState === "complete") return done();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
      setTimeout(done, 3_000);
    });
    const res = await fetch("/v1/whip?profile=echo", {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: pc.localDescription!.sdp,
    });
    const answer = await res.text();
    const empty = { url: "", during: [], after: [], pausedAt: 0, resumedAt: 0, sentAtPause: 0, sentAtEnd: 0 };
    if (res.status !== 201) return { status: res.status, error: answer, ...empty };
    const url = res.headers.get("location")!;
    const token = res.headers.get("rtcgw-session-token")!;
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    await new Promise<void>((done, fail) => {
      const check = () => pc.connectionState === "connected" && done();
      pc.addEventListener("connectionstatechange", check);
      check();
      setTimeout(() => fail(new Error(`not connected (${pc.connectionState})`)), 10_000);
    });
    const read = async (): Promise<{
      at: number;
      state: string;
      interruptedBy?: string;
      resumeBy?: number;
      packetsIn: number;
    }> => {
      const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      const j = await r.json();
      return {
        at: Date.now(),
        state: j.state,
        interruptedBy: j.interruptedBy,
        resumeBy: j.resumeBy,
        packetsIn: j.stats?.packetsIn ?? -1,
      };
    };
    const packetsSent = async () => {
      let n = 0;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; packetsSent?: number }) => {
        if (s.type === "outbound-rtp" && s.kind === "audio") n += s.packetsSent ?? 0;
      });
      return n;
    };
    const poll = async (ms: number) => {
      const out = [];
      const end = Date.now() + ms;
      while (Date.now() < end) {
        out.push(await read());
        await sleep(100);
      }
      return out;
    };
    await sleep(1_500);
    const sentAtPause = await packetsSent();
    const pausedAt = Date.now();
    if (how === "mute") track.enabled = false;
    else await tr.sender.replaceTrack(null);
    const during = await poll(how === "mute" ? 4_000 : 11_000);
    const sentAtEnd = await packetsSent();
    const resumedAt = Date.now();
    if (how === "mute") track.enabled = true;
    else await tr.sender.replaceTrack(track);
    const after = await poll(1_500);
    await fetch(url, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    pc.close();
    for (const t of stream.getTracks()) t.stop();
    return { status: res.status, url, during, after, pausedAt, resumedAt, sentAtPause, sentAtEnd };
  }, how);
}

describe("Chromium and the silence interruption", () => {
  it("a muted track (enabled = false) keeps sending: the session stays connected through 4 s of mute", async () => {
    const r = await callWithPause("mute");
    expect(r.status, r.error).toBe(201);
    const states = new Set(r.during.map((s) => s.state));
    const inDuring = r.during.at(-1)!.packetsIn - r.during[0]!.packetsIn;
    const spanS = (r.during.at(-1)!.at - r.during[0]!.at) / 1000;
    console.log(
      `Chromium muted 4 s: ${r.sentAtEnd - r.sentAtPause} packets sent by its own count, ${inDuring} received by the node in ${spanS.toFixed(1)} s (${(inDuring / spanS).toFixed(0)}/s); states ${[...states].join(", ")}`,
    );
    expect([...states]).toEqual(["connected"]);
    expect(new Set(r.after.map((s) => s.state))).toEqual(new Set(["connected"]));
    // what keeps it connected: packets all along (silence frames, 20 ms each; a DTX stream would
    // still send one every 400 ms)
    expect(inDuring / spanS).toBeGreaterThan(2.5);
  }, 60_000);

  it("no track (replaceTrack(null)): interrupted as silent after the silence threshold; its RTCP keeps it from ending before the media timeout would; connected again by its first packet", async () => {
    const r = await callWithPause("no-track");
    expect(r.status, r.error).toBe(201);
    expect(r.sentAtEnd - r.sentAtPause).toBeLessThan(10); // it really stopped sending
    const first = r.during.find((s) => s.state === "interrupted");
    expect(first, JSON.stringify(r.during.map((s) => s.state))).toBeDefined();
    expect(first!.interruptedBy).toBe("silent");
    const interruptedAfterMs = first!.at - r.pausedAt;
    const last = r.during.at(-1)!;
    const backAt = r.after.find((s) => s.state === "connected")?.at;
    console.log(
      `Chromium without a track: status interrupted (silent) ${interruptedAfterMs} ms after replaceTrack(null); resumeBy then +${first!.resumeBy! - r.pausedAt} ms, after ${((last.at - r.pausedAt) / 1000).toFixed(1)} s +${last.resumeBy! - r.pausedAt} ms; connected again ${backAt === undefined ? "never" : `${backAt - r.resumedAt} ms`} after replaceTrack(track)`,
    );
    // Chromium still sends an RTCP sender report every 2.5–7.5 s (5 s × 0.5–1.5, measured ~5 s;
    // the first ~0.8 s after its last RTP): the silence counts from the last of either, so
    // it comes after the threshold and within the threshold of the first report at the latest
    const silenceMs = stack.config.RTCGW_SILENCE_INTERRUPT_S * 1000;
    expect(interruptedAfterMs).toBeGreaterThanOrEqual(silenceMs - 100);
    expect(interruptedAfterMs).toBeLessThan(2000 + silenceMs + 200 + 300);
    expect(r.during.filter((s) => s.at > first!.at).every((s) => s.state === "interrupted")).toBe(true);
    // a report after the interruption shows the peer is alive: it gets what the media timeout
    // (RTCGW_MEDIA_TIMEOUT after its last RTP) and then the window always gave it
    const alive = stack.config.RTCGW_MEDIA_TIMEOUT * 1000 + stack.config.RTCGW_RESUME_WINDOW * 1000;
    expect(last.resumeBy! - r.pausedAt).toBeGreaterThan(alive - 1000);
    expect(last.resumeBy! - r.pausedAt).toBeLessThanOrEqual(alive);
    expect(backAt).toBeDefined();
    expect(backAt! - r.resumedAt).toBeLessThan(1000);
    expect(r.after.at(-1)!.state).toBe("connected");
  }, 60_000);
});
