// biome-ignore-all lint/suspicious/noExplicitAny: page-side code reaches window.demo, which has no TypeScript types
// Browser end to end: Debian's Chromium (playwright-core, never a downloaded browser) opens the
// demo page served by the dev stack (emulated functions + a real media node + memory registry, in
// this process) and talks to the gateway with a fake microphone playing a 440 Hz WAV.
//   echo:   the tone comes back (WebAudio analyser peak near 440 Hz); the datachannel echoes;
//           ICE completes over 127.0.0.1.
//   record: after ~5 s the WAV is 16 kHz mono, its dominant frequency is 440 Hz and its length
//           is within ±100 ms of the call.
//   audio + video WHIP: the fake camera and microphone both offered sendonly (as OBS does); the
//           answer keeps every m-line in order with video `a=inactive`, Chromium then sends no
//           video, and the audio is recorded (440 Hz).
import type { Page } from "playwright-core";
import { parse } from "sdp-transform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../src/emulator/server.js";
import type { MediaNode } from "../../src/node/index.js";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";
import { installPeakHz } from "./page-audio.js";
import { dominantHz } from "./wav.js";

let stack: BrowserDevStack;
let node: MediaNode;
let emu: Emulator;
let page: Page;

beforeAll(async () => {
  stack = await startBrowserDevStack("rtcgw-e2e-");
  ({ page } = stack);
  ({ node, emulator: emu } = stack.gateway);
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${emu.url}/`);
  await page.waitForFunction(() => (window as any).demo !== undefined);
  await installPeakHz(page);
}, 90_000);

afterAll(async () => {
  await stack?.close();
});

const recordingOf = (id: string) => stack.recordingOf(id);

const waitState = (s: string, timeout = 15_000) =>
  page.waitForFunction((want) => document.body.dataset.state === want, s, { timeout });

describe("echo session in Chromium", () => {
  it("hears the 440 Hz tone back, echoes the datachannel, and ICE runs over 127.0.0.1", async () => {
    await page.evaluate(() => (window as any).demo.connect("echo"));
    await waitState("connected");

    // datachannel: the gateway echoes what we send
    await page.waitForFunction(() => (window as any).demo.call?.dc.readyState === "open", null, {
      timeout: 10_000,
    });
    await page.evaluate(() => (window as any).demo.sendChat("hello gateway"));
    await page.waitForFunction(
      () => (window as any).demo.chatLog.some((m: any) => m.who === "gateway" && m.text === "hello gateway"),
      null,
      { timeout: 10_000 },
    );

    // the selected candidate pair is loopback on both ends
    const pair = await page.evaluate(async () => {
      const r: Map<string, any> = await (window as any).demo.call.pc.getStats();
      let out: { local?: string; remote?: string } = {};
      r.forEach((s: any) => {
        if (s.type === "transport" && s.selectedCandidatePairId) {
          const p = r.get(s.selectedCandidatePairId);
          out = { local: r.get(p.localCandidateId)?.address, remote: r.get(p.remoteCandidateId)?.address };
        }
      });
      return out;
    });
    // the node's side is its MEDIA_BIND_ADDRESS; Chromium may pair it from any local address
    expect(pair.remote).toBe("127.0.0.1");
    expect(pair.local).toBeDefined();

    // WebAudio on the received stream: the spectrum's peak is the tone
    const peakHz = await page.evaluate(() =>
      (window as any).peakHz((document.getElementById("remote") as HTMLAudioElement).srcObject),
    );
    expect(Math.abs(peakHz - 440)).toBeLessThan(12);

    const stats = await page.evaluate(() => (window as any).demo.clientStats());
    expect(stats.packetsReceived).toBeGreaterThan(50);
    await page.evaluate(() => (window as any).demo.hangup());
    await waitState("idle");
    expect(node.sessions()).toBe(0);
  }, 60_000);
});

describe("record session in Chromium", () => {
  it("writes a 16 kHz mono WAV of the 440 Hz tone as long as the call (±100 ms)", async () => {
    const { url } = await page.evaluate(() => (window as any).demo.connect("record"));
    const id = String(url).split("/").pop()!;
    await waitState("connected");
    await new Promise((r) => setTimeout(r, 5_000));
    // the call's length as the page measured it: from "connected" to sending the DELETE
    const { durationMs: callMs } = await page.evaluate(() => (window as any).demo.hangup());
    expect(callMs).toBeGreaterThan(5_000);

    const { wavPath, wav } = await recordingOf(id);
    expect(wav.rate).toBe(16000);
    expect(wav.channels).toBe(1);
    expect(wav.bits).toBe(16);
    const seconds = wav.samples.length / wav.rate;
    expect(Math.abs(seconds * 1000 - callMs), `WAV ${seconds} s, call ${callMs} ms`).toBeLessThanOrEqual(100);
    const mid = wav.samples.subarray(Math.floor(wav.rate * 1), Math.floor(wav.rate * 3));
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);

    // the dev server serves it to the page, which draws its waveform
    const drawn = await page.evaluate(async (p) => {
      const canvas = document.createElement("canvas");
      canvas.width = 300;
      canvas.height = 40;
      return (window as any).demo.drawWaveform(`/recordings/${p}`, canvas);
    }, wavPath);
    expect(drawn.sampleRate).toBe(16000);
    expect(Math.abs(drawn.seconds - seconds)).toBeLessThan(0.01);
  }, 60_000);
});

describe("WHIP offer with audio + video in Chromium", () => {
  it("answers every m-line in order, video inactive; no video flows and the 440 Hz audio is recorded", async () => {
    // page side: fake microphone + fake camera, both sendonly (what OBS and most WHIP clients
    // offer), gathered fully before the POST (no trickle needed on loopback)
    const sent = await page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const pc = new RTCPeerConnection();
      // audio first, then video: the m-line order this test expects back
      pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: "sendonly", streams: [stream] });
      pc.addTransceiver(stream.getVideoTracks()[0]!, { direction: "sendonly", streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((done) => {
        if (pc.iceGatheringState === "complete") return done();
        pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
        setTimeout(done, 3_000);
      });
      const offer = pc.localDescription!.sdp;
      const res = await fetch("/v1/whip?profile=record&rate=16000", {
        method: "POST",
        headers: { "content-type": "application/sdp" },
        body: offer,
      });
      const answer = await res.text();
      (window as any).avCall = { pc, stream };
      return {
        status: res.status,
        offer,
        answer,
        url: res.headers.get("location"),
        token: res.headers.get("rtcgw-session-token"),
      };
    });
    expect(sent.status, sent.answer).toBe(201);
    const offer = parse(sent.offer);
    const answer = parse(sent.answer);
    // JSEP (RFC 8829 §5.3.1): one answer m-line per offered m-line, same order, same mids
    expect(offer.media.map((m) => m.type)).toEqual(["audio", "video"]);
    expect(answer.media.map((m) => m.type)).toEqual(offer.media.map((m) => m.type));
    expect(answer.media.map((m) => String(m.mid))).toEqual(offer.media.map((m) => String(m.mid)));
    expect(answer.media[0]!.direction).toBe("recvonly");
    // the node wants no video: inactive (RFC 3264 §6.1), so a compliant sender stays silent
    expect(answer.media[1]!.direction).toBe("inactive");

    const connectedAt = Date.now();
    await page.evaluate(async (sdp) => {
      const { pc } = (window as any).avCall as { pc: RTCPeerConnection };
      await pc.setRemoteDescription({ type: "answer", sdp });
      await new Promise<void>((done, fail) => {
        const check = () => {
          if (pc.connectionState === "connected") done();
          else if (pc.connectionState === "failed") fail(new Error("connection failed"));
        };
        pc.addEventListener("connectionstatechange", check);
        check();
        setTimeout(() => fail(new Error(`not connected after 10 s (${pc.connectionState})`)), 10_000);
      });
    }, sent.answer);
    await new Promise((r) => setTimeout(r, Math.max(0, 3_000 - (Date.now() - connectedAt))));

    // the browser's own counters: audio flows, video does not
    const out = await page.evaluate(async () => {
      const { pc } = (window as any).avCall as { pc: RTCPeerConnection };
      const sentBy: Record<string, number> = { audio: 0, video: 0 };
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === "outbound-rtp") sentBy[s.kind] = (sentBy[s.kind] ?? 0) + (s.packetsSent ?? 0);
      });
      return sentBy;
    });
    expect(out.video).toBe(0);
    expect(out.audio).toBeGreaterThan(50);
    // and the node's: audio packets arrived on the audio m-line
    const status = (await (
      await fetch(new URL(sent.url!, emu.url), { headers: { authorization: `Bearer ${sent.token}` } })
    ).json()) as { state: string; stats: { packetsIn: number } };
    expect(status.state).toBe("connected");
    expect(status.stats.packetsIn).toBeGreaterThan(50);

    const del = await fetch(new URL(sent.url!, emu.url), {
      method: "DELETE",
      headers: { authorization: `Bearer ${sent.token}` },
    });
    expect(del.status).toBe(200);
    await page.evaluate(() => {
      const { pc, stream } = (window as any).avCall as { pc: RTCPeerConnection; stream: MediaStream };
      pc.close();
      for (const t of stream.getTracks()) t.stop();
    });

    const { wav } = await recordingOf(sent.url!.split("/").pop()!);
    expect(wav.samples.length / wav.rate).toBeGreaterThan(2);
    const mid = wav.samples.subarray(Math.floor(wav.rate * 0.5), Math.floor(wav.rate * 2));
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);
    expect(node.sessions()).toBe(0);
  }, 30_000);
});
