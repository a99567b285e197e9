// Chromium (Debian's, through playwright-core) as a WHIP client: the recording lasts what the
// browser itself says it sent (its outbound-rtp packetsSent × 20 ms), though the browser stops
// sending, stays connected and silent 1.5 s, then closes its peer without a DELETE. Clean, and
// through /work/shared/tools/udp-impair.mjs (10 % loss, 5 % reorder, a 500 ms outage mid-call)
// between the browser and the node — there the RTP the browser sent is also counted at the
// impairer, before any of it is dropped, and must agree with the browser's own count.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Impairer, LOSS_AND_REORDER, startImpairer } from "../support/udp-impair.js";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";

let stack: BrowserDevStack;
let page: Page;
const impairers: Impairer[] = [];

beforeAll(async () => {
  // a close is noticed at once either way; without a resume window the session then ends at once
  // (with one, it would wait RTCGW_RESUME_WINDOW for a resume before its WAV is final)
  stack = await startBrowserDevStack("rtcgw-e2e-len-", {
    RTCGW_RESUME_WINDOW: "0",
    // only the close itself may end the session: a lost BYE is then caught by ICE consent
    // expiry (≈30 s), not by the media timeout
    RTCGW_MEDIA_TIMEOUT: "60",
    RTCGW_DISCONNECT_TIMEOUT: "60",
  });
  ({ page } = stack);
}, 90_000);

afterAll(async () => {
  for (const p of impairers) p.stop();
  await stack?.close();
});

/** udp-impair in front of the gateway (relay on loopback, where the node binds): 10 % loss and 5 %
 *  reordering; the outage is started by the test (test/support/udp-impair.ts says why) */
async function impaired(): Promise<Impairer> {
  const imp = await startImpairer(stack.gateway.emulator.url, "127.0.0.1", LOSS_AND_REORDER);
  impairers.push(imp);
  return imp;
}

interface Sent {
  status: number;
  error?: string;
  url: string;
  /** outbound-rtp packetsSent 500 ms after the sender stopped, and 1 s later */
  count: number;
  countLater: number;
  closedAt: number;
  /** the offer's ICE ufrag: how the impairer names the session */
  ufrag: string;
}

/** In the page (served from `origin`): WHIP publish the fake microphone (the 440 Hz WAV) for 3 s,
 *  stop sending, stay connected 1.5 s, close without a DELETE. */
async function publishFromPage(origin: string): Promise<Sent> {
  await page.goto(`${origin}/`);
  return page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const pc = new RTCPeerConnection();
    const tr = pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: "sendonly", streams: [stream] });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((done) => {
      if (pc.iceGatheringState === "complete") return done();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
      setTimeout(done, 3_000);
    });
    const res = await fetch("/v1/whip?profile=record", {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: pc.localDescription!.sdp,
    });
    const answer = await res.text();
    if (res.status !== 201)
      return { status: res.status, error: answer, url: "", count: 0, countLater: 0, closedAt: 0, ufrag: "" };
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    await new Promise<void>((done, fail) => {
      const check = () => pc.connectionState === "connected" && done();
      pc.addEventListener("connectionstatechange", check);
      check();
      setTimeout(() => fail(new Error(`not connected (${pc.connectionState})`)), 10_000);
    });
    await new Promise((r) => setTimeout(r, 3_000));
    // stop sending: no track, no packets (the peer stays connected)
    await tr.sender.replaceTrack(null);
    const packetsSent = async () => {
      let n = 0;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; packetsSent?: number }) => {
        if (s.type === "outbound-rtp" && s.kind === "audio") n += s.packetsSent ?? 0;
      });
      return n;
    };
    await new Promise((r) => setTimeout(r, 500));
    const count = await packetsSent();
    await new Promise((r) => setTimeout(r, 1_000));
    const countLater = await packetsSent();
    const closedAt = Date.now();
    pc.close();
    for (const t of stream.getTracks()) t.stop();
    const ufrag = /a=ice-ufrag:(\S+)/.exec(pc.localDescription!.sdp)?.[1] ?? "";
    return { status: res.status, url: res.headers.get("location")!, count, countLater, closedAt, ufrag };
  });
}

describe("Chromium", () => {
  for (const network of ["clean", "10% loss, 5% reorder, 500 ms outage"] as const) {
    it(`${network}: stops sending, stays connected 1.5 s, closes without a DELETE: the WAV lasts what it sent (±40 ms)`, async () => {
      const imp = network === "clean" ? undefined : await impaired();
      const origin = imp?.origin ?? stack.gateway.emulator.url;
      // the 500 ms outage, 1 s into the browser's audio (50 packets in)
      const outage = imp?.outageAfter(50, 500);
      const s = await publishFromPage(origin);
      outage?.cancel();
      expect(s.status, s.error).toBe(201);
      expect(s.countLater).toBe(s.count); // it really stopped sending
      const sentMs = s.count * 20;
      expect(sentMs).toBeGreaterThan(2500);
      let atImpairer = "";
      if (network !== "clean") {
        // what the browser sent, counted where it entered the impairer (before any loss)
        // the ICE session of the browser's ufrag, not of its WHIP Location: when the node's first
        // connectivity check reaches the relay before the proxy has passed the answer on,
        // udp-impair files the session as anonymous, without it
        const c = await imp!.c2sOf(s.ufrag);
        if (!c) throw new Error(`the impairer saw no ICE session of ufrag ${s.ufrag}`);
        expect(c.rtp).toBe(s.count);
        // the impairment really happened: the outage, started in the middle of the call (~25
        // packets, RTCP too; fewer when a busy machine holds the sender up across it), and random
        // loss besides
        expect(await outage!.started).toBeDefined();
        expect(c.dropped_outage).toBeGreaterThan(0);
        expect(c.rtp_dropped).toBeGreaterThan(c.dropped_outage);
        atImpairer = `; at the impairer ${c.rtp} RTP in, ${c.rtp_dropped} dropped (${c.dropped_outage} in the outage), ${c.reordered} reordered`;
      }
      const id = s.url.split("/").pop()!;
      // the close without a DELETE (Chromium's RTCP BYE): noticed within 2 s on a clean network;
      // through the impairer its one BYE is itself lost 10 % of the time, and then only ICE
      // consent expiry (≈30 s) tells (docs/node.md)
      const deadline = Date.now() + 40_000;
      while ((await stack.gateway.registry.getSession(id)) !== undefined && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const noticedMs = Date.now() - s.closedAt;
      const { wav } = await stack.recordingOf(id);
      const wavMs = (wav.samples.length / wav.channels / wav.rate) * 1000;
      console.log(
        `Chromium, ${network}: sent ${sentMs} ms → WAV ${wavMs.toFixed(0)} ms; close noticed after ${noticedMs} ms${atImpairer}`,
      );
      expect(Math.abs(wavMs - sentMs)).toBeLessThanOrEqual(40);
      if (network === "clean") expect(noticedMs).toBeLessThan(2000);
    }, 90_000);
  }
});
