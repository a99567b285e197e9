// biome-ignore-all lint/suspicious/noExplicitAny: page-side code reaches globals the page defines
// An independent client nobody here wrote: medooze's `whip-whep` (WHIPClient / WHEPClient, by an
// author of RFC 9725), loaded unchanged from npm into Debian's Chromium and pointed at the dev
// gateway (`rtcgw dev`'s defaults: memory registry, no API token). The client publishes the fake
// microphone (a 440 Hz WAV) over WHIP, trickles its candidates with PATCH (If-Match: the ETag of the
// 201), a second client listens over WHEP, and both end with DELETE through `stop()` — which
// closes the peer connection first, so the node has already ended the session when the DELETE
// arrives (200 all the same: DELETE is idempotent for the creator's token).
// Each client authenticates with a token of its own choosing, as RFC 9725 §4.5 clients do: with no
// API token configured, the creator's Bearer token is what owns the session.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServedLocalGateway } from "../../src/cli/local-gateway.js";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";
import { installPeakHz } from "./page-audio.js";
import { dominantHz } from "./wav.js";

const require = createRequire(import.meta.url);
const TOKEN = "a-token-this-client-chose-itself";
let stack: BrowserDevStack;
let gateway: ServedLocalGateway;
let page: Page;

/** every request the page made to the API, as the browser saw it */
interface Exchange {
  method: string;
  path: string;
  status: number;
  contentType?: string;
  ifMatch?: string;
  etag?: string;
  /** the ICE ufrag the request's body carries (an offer, a trickle fragment): a PATCH the gateway
   *  refuses as an ICE restart (422) shows here whose ufrag it carried */
  ufrag?: string;
}
const exchanges: Exchange[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  stack = await startBrowserDevStack("rtcgw-whip-whep-");
  ({ gateway, page } = stack);
  // the clients throw from timers on a refused PATCH: every such error fails the test
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("response", (res) => {
    const req = res.request();
    const url = new URL(req.url());
    if (!url.pathname.startsWith("/v1/")) return;
    const h = req.headers();
    const ufrag = /a=ice-ufrag:(\S*)/.exec(req.postData() ?? "")?.[1];
    exchanges.push({
      method: req.method(),
      path: url.pathname,
      status: res.status(),
      ...(h["content-type"] ? { contentType: h["content-type"] } : {}),
      ...(h["if-match"] ? { ifMatch: h["if-match"] } : {}),
      ...(res.headers().etag ? { etag: res.headers().etag } : {}),
      ...(ufrag !== undefined ? { ufrag } : {}),
    });
  });
  // a busy browser, on demand: setLocalDescription resolves `window.__sldDelayMs` late (the
  // clients schedule their first PATCH before it and read their own ufrag after it)
  await page.addInitScript({
    content: `
      const sld = RTCPeerConnection.prototype.setLocalDescription;
      RTCPeerConnection.prototype.setLocalDescription = async function (...args) {
        const r = await sld.apply(this, args);
        if (window.__sldDelayMs) await new Promise((ok) => setTimeout(ok, window.__sldDelayMs));
        return r;
      };`,
  });
  await page.goto(`${gateway.emulator.url}/`);
  // the package's own files, unchanged, as module scripts
  for (const [file, name] of [
    ["whip-whep/whip.js", "WHIPClient"],
    ["whip-whep/whep.js", "WHEPClient"],
  ] as const)
    await page.addScriptTag({
      type: "module",
      content: `${readFileSync(require.resolve(file), "utf8")}\nwindow.${name} = ${name};`,
    });
  await page.waitForFunction(() => (window as any).WHIPClient && (window as any).WHEPClient);
  await installPeakHz(page);
}, 90_000);

afterAll(async () => {
  await stack?.close();
});

describe("medooze whip-whep clients in Chromium", () => {
  it("WHIP publish with trickle, WHEP view of it hears the 440 Hz tone, stop() deletes both; the recording has the tone", async () => {
    const resource = await page.evaluate(async (token) => {
      const connected = (pc: RTCPeerConnection) =>
        new Promise<void>((done, fail) => {
          const check = () => {
            if (pc.connectionState === "connected") done();
            else if (pc.connectionState === "failed") fail(new Error("connection failed"));
          };
          pc.addEventListener("connectionstatechange", check);
          check();
          setTimeout(() => fail(new Error(`not connected after 10 s (${pc.connectionState})`)), 10_000);
        });
      const w = window as any;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const pc = new RTCPeerConnection();
      pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: "sendonly", streams: [stream] });
      const whip = new w.WHIPClient();
      await whip.publish(pc, `${location.origin}/v1/whip?profile=record&rate=16000`, token);
      await connected(pc);
      const id = String(whip.resourceURL.pathname).split("/").pop();

      const viewerPc = new RTCPeerConnection();
      viewerPc.addTransceiver("audio", { direction: "recvonly" });
      const heard = new Promise<MediaStream>((r) => {
        viewerPc.ontrack = (e) => r(e.streams[0] ?? new MediaStream([e.track]));
      });
      const whep = new w.WHEPClient();
      await whep.view(viewerPc, `${location.origin}/v1/whep/${id}`, token);
      await connected(viewerPc);
      // Chromium renders a remote track into WebAudio only while a media element plays it
      const el = document.createElement("audio");
      el.srcObject = await heard;
      await el.play();
      w.clients = { whip, whep, pc, viewerPc, stream, el };
      return { id, whipUrl: whip.resourceURL.pathname, whepUrl: whep.resourceURL.pathname };
    }, TOKEN);

    // the listener hears what the publisher's microphone plays
    const peakHz = await page.evaluate(() => (window as any).peakHz((window as any).clients.el.srcObject));
    expect(Math.abs(peakHz - 440)).toBeLessThan(12);
    const inbound = await page.evaluate(async () => {
      let packets = 0;
      (await (window as any).clients.viewerPc.getStats()).forEach((s: any) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") packets += s.packetsReceived;
      });
      return packets;
    });
    expect(inbound).toBeGreaterThan(50);

    await page.evaluate(async () => {
      const c = (window as any).clients;
      await c.whep.stop();
      await c.whip.stop();
      for (const t of c.stream.getTracks()) t.stop();
    });

    // what the client did, and what the gateway answered (RFC 9725 §4.2, §4.3.1, §4.4). The WHIP
    // client sends If-Match with the 201's ETag; the WHEP client sends none (it never reads the
    // ETag), which the gateway accepts on a WHEP listener (docs/signaling.md)
    for (const [kind, postPath, url, sendsIfMatch] of [
      ["WHIP", "/v1/whip", resource.whipUrl, true],
      ["WHEP", `/v1/whep/${resource.id}`, resource.whepUrl, false],
    ] as const) {
      const post = exchanges.find((x) => x.method === "POST" && x.path === postPath);
      expect(post, `${kind} POST`).toMatchObject({ status: 201, contentType: "application/sdp" });
      expect(post!.etag).toBeTruthy();
      expect(post!.ufrag, `${kind} offer's ICE ufrag`).toBeTruthy();
      const patches = exchanges.filter((x) => x.method === "PATCH" && x.path === url);
      expect(patches.length, `${kind} trickled its candidates`).toBeGreaterThan(0);
      for (const { ufrag, ...p } of patches) {
        const what = `${kind} PATCH, of ${JSON.stringify(exchanges)}; page errors ${pageErrors}`;
        expect(p, what).toEqual({
          method: "PATCH",
          path: url,
          status: 204,
          contentType: "application/trickle-ice-sdpfrag",
          ...(sendsIfMatch ? { ifMatch: post!.etag } : {}),
        });
        // the offer's, or "null" when the client trickled before it read its own (a busy browser)
        expect([post!.ufrag, "null"], what).toContain(ufrag);
      }
      expect(exchanges.find((x) => x.method === "DELETE" && x.path === url)?.status, `${kind} DELETE`).toBe(
        200,
      );
    }

    // nothing left: no session on the node, no record in the registry
    await expect.poll(() => gateway.node.sessions(), { timeout: 5_000 }).toBe(0);
    expect(await gateway.registry.getSession(resource.id!)).toBeUndefined();

    // and the WHIP session was recorded: 16 kHz mono, the tone
    const { wav } = await stack.recordingOf(resource.id!);
    expect([wav.rate, wav.channels]).toEqual([16000, 1]);
    const mid = wav.samples.subarray(wav.rate * 1, wav.rate * 2);
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it.each([
    ["", 0],
    [
      "; a busy browser (setLocalDescription resolves 150 ms late): its fragments say a=ice-ufrag:null, and its end-of-candidates is a trickle (204), not a restart (422)",
      150,
    ],
  ])(
    "the WHIP client on the two-way endpoint (/v1/sessions, sendrecv) hears its own tone echoed%s",
    async (_, sldDelayMs) => {
      const url = await page.evaluate(
        async ([token, sldDelayMs]) => {
          const w = window as any;
          w.__sldDelayMs = sldDelayMs;
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
          const pc = new RTCPeerConnection();
          pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: "sendrecv", streams: [stream] });
          const heard = new Promise<MediaStream>((r) => {
            pc.ontrack = (e) => r(e.streams[0] ?? new MediaStream([e.track]));
          });
          const client = new w.WHIPClient();
          await client.publish(pc, `${location.origin}/v1/sessions?profile=echo`, token);
          const el = document.createElement("audio");
          el.srcObject = await heard;
          await el.play();
          w.twoWay = { client, pc, stream, el };
          w.__sldDelayMs = 0;
          return client.resourceURL.pathname as string;
        },
        [TOKEN, sldDelayMs] as const,
      );
      const peakHz = await page.evaluate(() => (window as any).peakHz((window as any).twoWay.el.srcObject));
      expect(Math.abs(peakHz - 440)).toBeLessThan(12);
      await page.evaluate(async () => {
        const t = (window as any).twoWay;
        await t.client.stop();
        for (const track of t.stream.getTracks()) track.stop();
      });
      const patches = exchanges.filter((x) => x.method === "PATCH" && x.path === url);
      expect(patches.length).toBeGreaterThan(0);
      // the late case really happened: every fragment of it carried the client's unset ufrag
      if (sldDelayMs) expect(patches.map((p) => p.ufrag)).toEqual(patches.map(() => "null"));
      expect(
        patches.filter((p) => p.status !== 204),
        `PATCHes refused, of ${JSON.stringify(exchanges)}`,
      ).toEqual([]);
      expect(exchanges.find((x) => x.method === "DELETE" && x.path === url)?.status).toBe(200);
      await expect.poll(() => gateway.node.sessions(), { timeout: 5_000 }).toBe(0);
      expect(pageErrors).toEqual([]);
    },
    60_000,
  );
});
