// Chromium (Debian's, through playwright-core) as a WHIP client: the recording lasts what the
// browser itself says it sent (its outbound-rtp packetsSent × 20 ms), though the browser stops
// sending, stays connected and silent 1.5 s, then closes its peer without a DELETE.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";

let stack: BrowserDevStack;
let page: Page;

beforeAll(async () => {
  // a close is noticed at once either way; without a resume window the session then ends at once
  // (with one, it would wait RTCGW_RESUME_WINDOW for a resume before its WAV is final)
  stack = await startBrowserDevStack("rtcgw-e2e-len-", { RTCGW_RESUME_WINDOW: "0" });
  ({ page } = stack);
  await page.goto(`${stack.gateway.emulator.url}/`);
}, 90_000);

afterAll(async () => {
  await stack?.close();
});

describe("Chromium", () => {
  it("stops sending, stays connected 1.5 s, closes without a DELETE: the WAV lasts what it sent (±40 ms)", async () => {
    const sent = await page.evaluate(async () => {
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
      if (res.status !== 201) return { status: res.status, error: answer };
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
        (await pc.getStats()).forEach((s: any) => {
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
      return { status: res.status, url: res.headers.get("location")!, count, countLater, closedAt };
    });
    expect(sent.status, (sent as { error?: string }).error).toBe(201);
    const s = sent as { url: string; count: number; countLater: number; closedAt: number };
    expect(s.countLater).toBe(s.count); // it really stopped sending
    const id = s.url.split("/").pop()!;
    // the close without a DELETE is noticed (Chromium's RTCP BYE / DTLS close) within 2 s
    const deadline = Date.now() + 10_000;
    while ((await stack.gateway.registry.getSession(id)) !== undefined && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const noticedMs = Date.now() - s.closedAt;
    const { wav } = await stack.recordingOf(id);
    const wavMs = (wav.samples.length / wav.channels / wav.rate) * 1000;
    console.log(
      `Chromium: sent ${s.count * 20} ms → WAV ${wavMs.toFixed(0)} ms; close noticed after ${noticedMs} ms`,
    );
    expect(Math.abs(wavMs - s.count * 20)).toBeLessThanOrEqual(40);
    expect(noticedMs).toBeLessThan(2000);
  }, 60_000);
});
