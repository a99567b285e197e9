// biome-ignore-all lint/suspicious/noExplicitAny: page-side code reaches window.demo and window.__sent, which have no TypeScript types
// Resume in Chromium (playwright-core, Debian's /usr/bin/chromium) through the demo page and
// web/rtcgw-client.js against the dev stack: mid-call, "simulate network change" drops the
// peer without DELETE (closed as a lost network would) and the client resumes the same session
// with a brand-new RTCPeerConnection.
//   record: the WAV's length is the wall time from the first audio frame Chromium sent to the
//           last (±40 ms), and the gap sits at its true position (±40 ms). Send times are taken
//           where Chromium hands each encoded frame to its packetizer (encoded insertable
//           streams, recorded only while the peer is connected), so they are what was sent;
//   echo:   the 440 Hz tone is heard again on the new peer; the page shows interrupted → resumed.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { longestSilence } from "../support/recording-wav.js";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";
import { installPeakHz } from "./page-audio.js";
import { dominantHz } from "./wav.js";

let stack: BrowserDevStack;
let page: Page;

// every RTCPeerConnection the page makes records the wall time of each encoded audio frame it
// sends while connected (and passes every frame on unchanged, both ways)
const SEND_TIMES = `
(() => {
  const Orig = window.RTCPeerConnection;
  window.__sent = [];
  window.RTCPeerConnection = class extends Orig {
    constructor(cfg = {}) {
      super({ ...cfg, encodedInsertableStreams: true });
      this.addEventListener("track", (e) => {
        const { readable, writable } = e.receiver.createEncodedStreams();
        readable.pipeTo(writable).catch(() => {});
      });
    }
    addTransceiver(t, init) {
      const tr = super.addTransceiver(t, init);
      if (typeof t === "string") return tr;
      const rec = { first: undefined, last: undefined, frames: 0 };
      window.__sent.push(rec);
      const pc = this;
      const { readable, writable } = tr.sender.createEncodedStreams();
      readable
        .pipeThrough(new TransformStream({
          transform(frame, ctl) {
            if (pc.connectionState === "connected") {
              const now = Date.now();
              rec.first ??= now;
              rec.last = now;
              rec.frames++;
            }
            ctl.enqueue(frame);
          },
        }))
        .pipeTo(writable)
        .catch(() => {});
      return tr;
    }
  };
})();`;

beforeAll(async () => {
  stack = await startBrowserDevStack("rtcgw-e2e-resume-");
  page = stack.page;
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.addInitScript({ content: SEND_TIMES });
  await page.goto(`${stack.gateway.emulator.url}/`);
  await page.waitForFunction(() => (window as any).demo !== undefined);
  await installPeakHz(page);
}, 90_000);

afterAll(async () => {
  await stack?.close();
});

const waitState = (s: string, timeout = 15_000) =>
  page.waitForFunction((want) => document.body.dataset.state === want, s, { timeout });

describe("resume in Chromium through rtcgw-client.js", () => {
  it("record: the WAV is the call from first frame sent to last, the gap at its true position", async () => {
    const { url } = await page.evaluate(() => (window as any).demo.connect("record"));
    const id = String(url).split("/").pop()!;
    await waitState("connected");
    await page.waitForTimeout(2000);
    const states: string[] = [];
    await page.exposeFunction("__state", (s: string) => states.push(s));
    await page.evaluate(() =>
      (window as any).demo.call.client.addEventListener("state", (e: any) =>
        (window as any).__state(e.detail.state),
      ),
    );
    // wait for Chromium's old peer to stop, then a moment of real outage before the resume
    await page.evaluate(() => (window as any).demo.simulateNetworkChange());
    await waitState("resumed");
    expect(states.slice(0, 3)).toEqual(["interrupted", "resuming", "resumed"]);
    // the same session: the client's URL did not change, and the server counts one resume
    const st = await page.evaluate(() => (window as any).demo.serverStatus());
    expect(st).toMatchObject({ id, resumes: 1, state: "connected" });
    await page.waitForTimeout(2000);
    await page.evaluate(() => (window as any).demo.hangup());
    const sent: { first: number; last: number; frames: number }[] = await page.evaluate(
      () => (window as any).__sent,
    );
    expect(sent).toHaveLength(2);
    expect(sent.every((s) => s.frames > 50)).toBe(true);

    const { wav } = await stack.recordingOf(id);
    const ms = (wav.samples.length * 1000) / wav.rate;
    const callMs = sent[1]!.last + 20 - sent[0]!.first;
    expect(Math.abs(ms - callMs), `WAV ${ms} ms, sent ${callMs} ms`).toBeLessThanOrEqual(40);
    const [, silentTo] = longestSilence(wav.samples, wav.rate);
    const newStart = sent[1]!.first - sent[0]!.first;
    expect(
      Math.abs(silentTo - newStart),
      `audio back at ${silentTo} ms, sent at ${newStart} ms`,
    ).toBeLessThanOrEqual(40);
    expect(dominantHz(wav.samples.subarray(0, wav.rate), wav.rate)).toBeGreaterThan(420);
    expect(dominantHz(wav.samples.subarray(wav.samples.length - wav.rate), wav.rate)).toBeGreaterThan(420);
  }, 60_000);

  it("echo: the tone is heard again on the new peer; the page shows interrupted → resumed", async () => {
    await page.evaluate(() => (window as any).demo.connect("echo"));
    await waitState("connected");
    await page.evaluate(() => (window as any).demo.simulateNetworkChange());
    await waitState("resumed");
    expect(await page.locator("#note").textContent()).toContain("resumed on a new peer");
    const peakHz = await page.evaluate(() =>
      (window as any).peakHz((document.getElementById("remote") as HTMLAudioElement).srcObject),
    );
    expect(Math.abs(peakHz - 440)).toBeLessThan(15);
    await page.evaluate(() => (window as any).demo.hangup());
  }, 60_000);

  it("offline → online: the client notices the network change and resumes by itself", async () => {
    await page.evaluate(() => (window as any).demo.connect("echo"));
    await waitState("connected");
    try {
      await page.context().setOffline(true);
      await waitState("interrupted");
      // Chromium reports it as "offline" and as a navigator.connection change: either is the cue
      expect(await page.locator("#note").textContent()).toMatch(/interrupted \((offline|network-change)\)/);
      // offline, the client waits for the network instead of posting into the void
      await page.waitForTimeout(1000);
      expect(await page.evaluate(() => document.body.dataset.state)).toMatch(/interrupted|resuming/);
    } finally {
      await page.context().setOffline(false);
    }
    await waitState("resumed");
    const st = await page.evaluate(() => (window as any).demo.serverStatus());
    expect(st).toMatchObject({ resumes: 1, state: "connected" });
    await page.evaluate(() => (window as any).demo.hangup());
  }, 60_000);

  it("a navigator.connection change whose path still carries audio keeps the call as it is", async () => {
    await page.evaluate(() => (window as any).demo.connect("echo"));
    await waitState("connected");
    const r = await page.evaluate(async () => {
      const call = (window as any).demo.call.client;
      const seen = new Promise((ok) => call.addEventListener("network", (e: any) => ok(e.detail)));
      // what Chromium does when only its bandwidth/RTT estimate moves
      (navigator as any).connection.dispatchEvent(new Event("change"));
      return { detail: await seen, state: call.state, resumes: call.resumes };
    });
    expect(r).toEqual({
      detail: { kind: "network-change", pathAlive: true },
      state: "connected",
      resumes: 0,
    });
    await page.evaluate(() => (window as any).demo.hangup());
  }, 60_000);

  it("a session that has ended cannot be resumed: the call ends with the server's reason", async () => {
    await page.evaluate(() => (window as any).demo.connect("echo"));
    await waitState("connected");
    // the session ends behind the client's back (as after its window), then its network changes: the
    // resume is 410 with how it ended (its tombstone recognises the session token)
    const { url, token } = await page.evaluate(() => ({
      url: (window as any).demo.call.url,
      token: (window as any).demo.call.token,
    }));
    expect(
      (await fetch(url, { method: "DELETE", headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    await page.evaluate(() => (window as any).demo.simulateNetworkChange());
    await waitState("ended");
    expect(await page.locator("#error").textContent()).toMatch(
      /the call ended: .*the session has ended \(deleted at/,
    );
  }, 60_000);

  it("a gateway that cannot resume yet: retries back off (250 ms doubling), the call ends at the client's window", async () => {
    // every resume is answered 503 (a node busy, say): the client retries, then gives up
    await page.route("**/resume", (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/json",
        body: JSON.stringify({ error: "no-media-node", reason: "test: not now" }),
      }),
    );
    try {
      // a string: vitest would rewrite a dynamic import() inside a function for Node
      const r: { fails: number[]; reason: string; endedAfterMs: number; url: string; token: string } =
        await page.evaluate(`(async () => {
          const { connect } = await import("/rtcgw-client.js");
          const call = await connect({ url: "", profile: "echo", microphone: true, resumeWindowMs: 3000 });
          if (call.state !== "connected")
            await new Promise((ok) => call.addEventListener("state", (e) => e.detail.state === "connected" && ok()));
          const fails = [];
          call.addEventListener("resume-failed", (e) => fails.push(e.detail.retryInMs));
          const ended = new Promise((ok) => call.addEventListener("ended", (e) => ok(e.detail.reason)));
          const t0 = Date.now();
          call.simulateNetworkChange();
          const reason = await ended;
          return { fails, reason, endedAfterMs: Date.now() - t0, url: call.sessionUrl, token: call.sessionToken };
        })()`);
      expect(r.fails.slice(0, 3)).toEqual([250, 500, 1000]);
      expect(r.reason).toMatch(/no resume within 3 s/);
      expect(r.endedAfterMs).toBeGreaterThanOrEqual(3000);
      expect(r.endedAfterMs).toBeLessThan(3000 + 2000 + 1000);
      // the client gave up; the server's own window ends the session (here: cleaned up at once)
      await fetch(r.url, { method: "DELETE", headers: { authorization: `Bearer ${r.token}` } });
    } finally {
      await page.unroute("**/resume");
    }
  }, 60_000);
});
