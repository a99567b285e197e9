// biome-ignore-all lint/suspicious/noExplicitAny: page-side code handles RTCStats, which are untyped dictionaries
// TURN from a browser: Debian's Chromium with `iceTransportPolicy: "relay"` (Chromium then
// gathers and checks from relayed candidates only — unlike libjuice, no host socket is used)
// relays through Debian's coturn on loopback to the media node. `rtcgw dev`'s stack has
// RTCGW_TURN_URLS = the coturn's URL. The page does what a WHIP client does (medooze's whip.js):
// createOffer → POST → read the 201's `Link: rel="ice-server"` → setConfiguration({iceServers,
// iceTransportPolicy: "relay"}) → setLocalDescription → answer. The credential comes from the Link
// header only. The 440 Hz microphone is recorded.
//
// Over UDP to coturn. NOT over TCP or TLS (`?transport=tcp`, `turns:`, what a network that blocks
// UDP needs): Chromium's TCP/TLS relay ports send their checks with an ICE-CONTROLLING tie-breaker
// of 0, which the media node's libjuice (node-datachannel 0.33.4) answers 400 "Controlling and
// controlled attributes mismatch", and Chromium kills the pair on that 400 (libjuice issue #355;
// docs/signaling.md "TURN over TCP and TLS"). TURN over TCP and TLS is proven with aiortc in
// turn-tcp.test.ts; test/e2e/ice-tiebreaker-zero.test.ts pins the node's side of the defect.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Coturn, startCoturn } from "../support/coturn.js";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";
import { dominantHz } from "./wav.js";

const TURN_SECRET = "browser-turn-shared-secret-0123";
let turn: Coturn;
let stack: BrowserDevStack;

beforeAll(async () => {
  turn = await startCoturn(TURN_SECRET);
  stack = await startBrowserDevStack("rtcgw-e2e-turn-", {
    RTCGW_TURN_SECRET: TURN_SECRET,
    RTCGW_TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`,
  });
  stack.page.on("pageerror", (e) => console.error("page error:", e.message));
  await stack.page.goto(`${stack.gateway.emulator.url}/`);
}, 90_000);

afterAll(async () => {
  await stack?.close();
  await turn?.stop();
});

describe("a browser relaying through TURN", () => {
  it("connects through the relay with the 201's credential and its 440 Hz is recorded", async () => {
    const { page } = stack;
    const r = await page.evaluate(async () => {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      const pc = new RTCPeerConnection();
      (window as any).turnPc = pc;
      const gathered: string[] = [];
      const iceErrors: string[] = [];
      pc.onicecandidate = (e) => {
        if (e.candidate) gathered.push(e.candidate.type ?? "?");
      };
      pc.onicecandidateerror = (e: any) => iceErrors.push(`${e.errorCode} ${e.errorText} (${e.url})`);
      pc.addTransceiver(mic.getAudioTracks()[0]!, { direction: "sendonly" });
      const offer = await pc.createOffer();
      const res = await fetch("/v1/whip?profile=record", {
        method: "POST",
        headers: { "content-type": "application/sdp" },
        body: offer.sdp!,
      });
      const link = res.headers.get("link") ?? "";
      const iceServers: RTCIceServer[] = [];
      for (const m of link.matchAll(/<([^>]*)>((?:\s*;\s*[A-Za-z-]+="[^"]*")*)/g)) {
        const p: Record<string, string> = {};
        for (const q of m[2]!.matchAll(/([A-Za-z-]+)="([^"]*)"/g)) p[q[1]!] = q[2]!;
        if (p.rel === "ice-server")
          iceServers.push({ urls: m[1]!, username: p.username!, credential: p.credential! });
      }
      pc.setConfiguration({ iceServers, iceTransportPolicy: "relay" });
      await pc.setLocalDescription(offer);
      await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
      const t0 = Date.now();
      while (pc.connectionState !== "connected" && Date.now() - t0 < 25_000)
        await new Promise((x) => setTimeout(x, 50));
      const stats: Map<string, any> = (await pc.getStats()) as any;
      let local: any;
      let remote: any;
      stats.forEach((s: any) => {
        if (s.type === "transport" && s.selectedCandidatePairId) {
          const pair = stats.get(s.selectedCandidatePairId);
          local = stats.get(pair.localCandidateId);
          remote = stats.get(pair.remoteCandidateId);
        }
      });
      return {
        status: res.status,
        location: res.headers.get("location"),
        secret: res.headers.get("rtcgw-session-token"),
        iceServers,
        state: pc.connectionState,
        // why, when it is not "connected": what Chromium gathered and what TURN answered
        why: `ice ${pc.iceConnectionState}, gathering ${pc.iceGatheringState}, candidates [${gathered}], errors [${iceErrors}]`,
        connectedAt: Date.now(),
        local: local && { type: local.candidateType, relayProtocol: local.relayProtocol },
        remote: remote && { type: remote.candidateType, address: remote.address },
      };
    });
    expect(r.status).toBe(201);
    expect(r.iceServers).toHaveLength(1);
    expect(r.iceServers[0]!.urls).toBe(`turn:127.0.0.1:${turn.port}?transport=udp`);
    expect(r.state, `${r.why}\ncoturn: ${turn.log().slice(-3000)}`).toBe("connected");
    expect(r.local).toEqual({ type: "relay", relayProtocol: "udp" });
    expect(r.remote).toEqual({ type: "host", address: "127.0.0.1" });
    const id = r.location!.split("/").pop()!;
    expect(turn.log()).toContain(`username=<${r.iceServers[0]!.username}>`);

    await new Promise((x) => setTimeout(x, 3_000));
    const callMs = Date.now() - r.connectedAt;
    const del = await fetch(new URL(r.location!, stack.gateway.emulator.url), {
      method: "DELETE",
      headers: { authorization: `Bearer ${r.secret}` },
    });
    expect(del.status).toBe(200);
    await page.evaluate(() => (window as any).turnPc.close());
    const { wav } = await stack.recordingOf(id);
    const seconds = wav.samples.length / wav.rate;
    // the recording starts with the first packet, a little after "connected" was seen
    expect(seconds * 1000).toBeGreaterThan(callMs - 300);
    expect(seconds * 1000).toBeLessThan(callMs + 300);
    const mid = wav.samples.subarray(Math.floor(wav.rate * 0.5), Math.floor(wav.rate * 2.5));
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);
  }, 60_000);

  // web/rtcgw-client.js, relay only and given no ICE server: the TURN credential can only come
  // from the 201's Link header (the first peer) and is kept for the resume's new peer
  it("rtcgw-client.js takes its TURN server from the 201: a relay-only call connects, resumes over the relay, is recorded", async () => {
    const { page } = stack;
    // the first peer's candidates, trickled after the 201 (RFC 9725 §4.4): the node takes them
    const patches: number[] = [];
    page.on("response", (res) => {
      if (res.request().method() === "PATCH") patches.push(res.status());
    });
    // a string: vitest would rewrite a dynamic import() inside a function for Node
    await page.evaluate(`import("/rtcgw-client.js").then((m) => { window.__rtcgwClient = m; })`);
    const r = await page.evaluate(async () => {
      const call = await (window as any).__rtcgwClient.connect({
        url: "",
        profile: "record",
        microphone: true,
        dataChannel: false,
        iceTransportPolicy: "relay",
      });
      (window as any).turnCall = call;
      const until = async (ok: () => boolean, ms: number) => {
        const t0 = Date.now();
        while (!ok() && Date.now() - t0 < ms) await new Promise((x) => setTimeout(x, 50));
        return ok();
      };
      const pair = async (pc: RTCPeerConnection) => {
        const stats: Map<string, any> = (await pc.getStats()) as any;
        let local: any;
        stats.forEach((s: any) => {
          if (s.type === "transport" && s.selectedCandidatePairId)
            local = stats.get(stats.get(s.selectedCandidatePairId).localCandidateId);
        });
        return local && `${local.candidateType}/${local.relayProtocol}`;
      };
      const connected = await until(() => call.state === "connected", 20_000);
      const first = { state: call.state, local: connected ? await pair(call.pc) : undefined };
      const connectedAt = Date.now();
      await new Promise((x) => setTimeout(x, 1_500));
      const firstPc = call.pc;
      call.simulateNetworkChange();
      const resumed = await until(() => call.state === "resumed", 20_000);
      const second = {
        state: call.state,
        newPeer: call.pc !== firstPc,
        local: resumed ? await pair(call.pc) : undefined,
      };
      await new Promise((x) => setTimeout(x, 1_500));
      const callMs = Date.now() - connectedAt;
      const sessionUrl = call.sessionUrl;
      await call.hangUp();
      return { first, second, callMs, sessionUrl };
    });
    expect(r.first, turn.log().slice(-3000)).toEqual({ state: "connected", local: "relay/udp" });
    expect(r.second).toEqual({ state: "resumed", newPeer: true, local: "relay/udp" });
    expect(patches).toEqual([204]);
    const id = r.sessionUrl.split("/").pop()!;
    const { wav } = await stack.recordingOf(id);
    const seconds = wav.samples.length / wav.rate;
    // the whole call (both peers and the gap between them) is in the one recording
    expect(seconds * 1000).toBeGreaterThan(r.callMs - 500);
    const mid = wav.samples.subarray(Math.floor(wav.rate * 0.3), Math.floor(wav.rate * 1.3));
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);
  }, 90_000);
});
