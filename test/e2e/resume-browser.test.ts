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
import { type RtcgwCall, RtcgwError } from "../../web/rtcgw-client.js";
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

/** the server counts the call's one resume. Polled: the page says "resumed" when Chromium's new
 *  peer is connected, and the node's may connect a moment later (DTLS' last flight, then
 *  libdatachannel's callback); until then the old peer carries the session, and its status is
 *  the old peer's (connected, no resume yet). CI read it in that moment once. */
const serverResumed = (more: Record<string, unknown> = {}) =>
  expect
    .poll(() => page.evaluate(() => (window as any).demo.serverStatus()), { timeout: 5000, interval: 100 })
    .toMatchObject({ ...more, resumes: 1, state: "connected" });

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
    await serverResumed({ id });
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
    await serverResumed();
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
    await page.evaluate(() => {
      (window as any).__entry = (window as any).demo.call;
      (window as any).demo.simulateNetworkChange();
    });
    await waitState("ended");
    expect(await page.locator("#error").textContent()).toMatch(
      /the call ended: .*the session has ended \(deleted at/,
    );
    // the page releases the microphone it opened, as when the user hangs up
    expect(await page.evaluate(() => (window as any).__entry.mic.getAudioTracks()[0].readyState)).toBe(
      "ended",
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

// page-side helpers of the tests below (a string: vitest would rewrite a dynamic import() inside a
// function for Node): window.__C is the module, __call(opts) a call (not started) that logs its
// events in call.log, __until(f, ms) waits for f() to hold
const HELPERS = `(async () => {
  window.__C = await import("/rtcgw-client.js");
  window.__until = (f, ms = 15000) => new Promise((ok) => {
    const t0 = Date.now();
    const i = setInterval(() => { if (f() || Date.now() - t0 > ms) { clearInterval(i); ok(f()); } }, 20);
  });
  window.__sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
  window.__call = (opts = {}) => {
    const c = new window.__C.RtcgwCall({ url: "", profile: "echo", microphone: true, ...opts });
    c.log = [];
    for (const t of ["state", "ended", "resumed", "resume-failed", "track"])
      c.addEventListener(t, (e) => c.log.push(t === "state" ? "state:" + e.detail.state : t));
    return c;
  };
  window.__connected = async (opts) => {
    const c = window.__call(opts);
    await c.start();
    await window.__until(() => c.state === "connected");
    return c;
  };
})()`;

describe("rtcgw-client.js: manual resume, timeouts, hang-up races, failed resumes", () => {
  beforeAll(async () => {
    await page.evaluate(HELPERS);
  });

  it("RtcgwError is (status, code, reason)", () => {
    const e = new RtcgwError(400, "bad-profile", "no such profile");
    expect(e).toMatchObject({
      name: "RtcgwError",
      status: 400,
      code: "bad-profile",
      reason: "no such profile",
    });
    expect(e.message).toBe("400 bad-profile: no such profile");
    // and for `npm run typecheck`: rtcgw-client.d.ts types what the module has
    const typed = (c: RtcgwCall) => {
      const onEnded = (ev: CustomEvent<{ reason: string }>) => void ev.detail.reason;
      c.addEventListener("ended", onEnded);
      c.removeEventListener("ended", onEnded);
      const at: number | undefined = c.interruptedAt;
      return at;
    };
    expect(typed).toBeTypeOf("function");
  });

  it("resume() resumes also with autoResume: false (POST …/resume)", async () => {
    const r = await page.evaluate(`(async () => {
      const c = await __connected({ autoResume: false });
      c.resume("manual");
      await __until(() => c.state === "resumed" || c.state === "ended", 8000);
      const out = { state: c.state, resumes: c.resumes };
      await c.hangUp();
      return out;
    })()`);
    expect(r).toEqual({ state: "resumed", resumes: 1 });
  }, 30_000);

  it("a create that is never answered fails after requestTimeoutMs; the call ends with an ended event", async () => {
    await page.route("**/v1/sessions?*", () => {}); // never answered
    try {
      const r: any = await page.evaluate(`(async () => {
        const c = __call({ requestTimeoutMs: 1000 });
        const t0 = Date.now();
        let error;
        try { await c.start(); } catch (e) { error = e.message; }
        return { error, ms: Date.now() - t0, state: c.state, log: c.log,
          mic: c.microphone.getAudioTracks()[0].readyState };
      })()`);
      expect(r.error).toMatch(/POST .*\/v1\/sessions\?.*: no answer from the gateway within 1 s/);
      expect(r.ms).toBeLessThan(1000 + 2000 + 1000); // ICE gathering (≤ 2 s) + the timeout
      expect(r).toMatchObject({ state: "ended", mic: "ended" });
      expect(r.log.slice(-2)).toEqual(["state:ended", "ended"]);
    } finally {
      await page.unroute("**/v1/sessions?*");
    }
  }, 30_000);

  it("a resume that is never answered: attempts time out and are retried; a hung attempt does not outlive the window", async () => {
    await page.route("**/resume", () => {}); // never answered
    try {
      // a: requestTimeoutMs 1 s < the window: resume-failed, retried; b: the default (10 s) > the window
      const r: any = await page.evaluate(`(async () => {
        const run = async (opts) => {
          const c = await __connected({ resumeWindowMs: 3000, ...opts });
          const fails = [];
          c.addEventListener("resume-failed", (e) => fails.push(e.detail.error));
          const ended = new Promise((ok) => c.addEventListener("ended", (e) => ok(e.detail.reason)));
          const t0 = Date.now();
          c.simulateNetworkChange();
          const reason = await ended;
          return { fails, reason, ms: Date.now() - t0 };
        };
        const [a, b] = await Promise.all([run({ requestTimeoutMs: 1000 }), run({})]);
        return { a, b };
      })()`);
      expect(r.a.fails.length).toBeGreaterThanOrEqual(1);
      expect(r.a.fails[0]).toMatch(/resume: no answer from the gateway within 1 s/);
      for (const x of [r.a, r.b]) {
        expect(x.reason).toMatch(/no resume within 3 s/);
        expect(x.ms).toBeGreaterThanOrEqual(3000);
        expect(x.ms).toBeLessThan(3000 + 500);
      }
      expect(r.b.fails).toEqual([]);
    } finally {
      await page.unroute("**/resume");
    }
  }, 30_000);

  it("hangUp() while the microphone is asked for: start() rejects, the call stays ended, the microphone is released", async () => {
    const r: any = await page.evaluate(`(async () => {
      const c = __call();
      const started = c.start().then(() => "resolved", (e) => e.name);
      await c.hangUp();
      const start = await started;
      await __sleep(500);
      return { start, state: c.state, log: c.log, sessionUrl: c.sessionUrl ?? null,
        mic: c.microphone?.getAudioTracks()[0]?.readyState };
    })()`);
    expect(r).toEqual({
      start: "AbortError",
      state: "ended",
      log: ["state:ended", "ended"],
      sessionUrl: null,
      mic: "ended",
    });
  }, 30_000);

  it("hangUp() while the creating POST is in flight: the session is deleted once its 201 arrives", async () => {
    let created: { url: string; token: string } | undefined;
    let posted!: () => void;
    const inFlight = new Promise<void>((ok) => (posted = ok));
    await page.route("**/v1/sessions?*", async (route) => {
      posted();
      const res = await route.fetch();
      const h = res.headers();
      created = {
        url: new URL(h.location!, stack.gateway.emulator.url).href,
        token: h["rtcgw-session-token"]!,
      };
      await new Promise((ok) => setTimeout(ok, 300));
      await route.fulfill({ response: res });
    });
    try {
      await page.evaluate(`(() => {
        window.__c = __call();
        window.__started = window.__c.start().then(() => "resolved", (e) => e.name);
      })()`);
      await inFlight;
      const r: any = await page.evaluate(`(async () => {
        const c = window.__c;
        await c.hangUp();
        const start = await window.__started;
        await __sleep(300);
        return { start, state: c.state, log: c.log };
      })()`);
      expect(r.start).toBe("AbortError");
      expect(r.state).toBe("ended");
      expect(r.log.slice(r.log.indexOf("ended") + 1)).toEqual([]);
      expect(created).toBeDefined();
      const st: any = await (
        await fetch(created!.url, { headers: { authorization: `Bearer ${created!.token}` } })
      ).json();
      expect(st.state).toBe("ended");
    } finally {
      await page.unroute("**/v1/sessions?*");
    }
  }, 30_000);

  it("hangUp() during a resume closes both peers; nothing fires after ended", async () => {
    await page.route("**/resume", async (route) => {
      await new Promise((ok) => setTimeout(ok, 1000));
      await route
        .fulfill({ status: 503, contentType: "application/json", body: '{"error":"x","reason":"test"}' })
        .catch(() => {});
    });
    try {
      const r: any = await page.evaluate(`(async () => {
        const pcs = [];
        const Orig = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Orig { constructor(cfg) { super(cfg); pcs.push(this); } };
        try {
          const c = await __connected();
          c.resume("manual");
          await __until(() => c.state === "resuming");
          await __sleep(300);
          await c.hangUp();
          await __sleep(1500);
          return { state: c.state, peers: pcs.map((p) => p.connectionState),
            after: c.log.slice(c.log.indexOf("ended") + 1) };
        } finally {
          window.RTCPeerConnection = Orig;
        }
      })()`);
      expect(r).toEqual({ state: "ended", peers: ["closed", "closed"], after: [] });
    } finally {
      await page.unroute("**/resume");
    }
  }, 30_000);

  it("a failed resume while the old peer lives: its counts once, its datachannel and its track again", async () => {
    await page.route("**/resume", (route) =>
      route.fulfill({ status: 503, contentType: "application/json", body: '{"error":"x","reason":"test"}' }),
    );
    try {
      const r: any = await page.evaluate(`(async () => {
        const c = await __connected({ statsIntervalMs: 100 });
        await __sleep(1500);
        const old = c.pc;
        const oldChannel = c.dataChannel;
        const oldTrack = old.getReceivers()[0].track;
        const echoed = new Promise((ok) => c.addEventListener("message", (e) => ok(e.detail)));
        // as the attempt fails (the next one starts 250 ms later)
        const atFailure = new Promise((ok) => c.addEventListener("resume-failed", () => {
          let sendError;
          try { c.send("still here"); } catch (e) { sendError = e.message; }
          ok({ pcIsOld: c.pc === old, channelIsOld: c.dataChannel === oldChannel,
            channel: c.dataChannel?.readyState, sendError: sendError ?? null,
            trackIsOld: c.remoteStream.getAudioTracks()[0] === oldTrack });
        }, { once: true }));
        c.resume("manual");
        const out = await atFailure;
        out.echo = await Promise.race([echoed, __sleep(3000).then(() => "no echo")]);
        // attempts go on: each added the old peer's counts to the total once more
        await __until(() => c.log.filter((l) => l === "resume-failed").length >= 3);
        let own = 0;
        (await old.getStats()).forEach((s) => { if (s.type === "outbound-rtp") own += s.packetsSent; });
        out.own = own;
        out.total = (await c.stats()).packetsSent;
        await c.hangUp();
        return out;
      })()`);
      expect(r).toMatchObject({
        pcIsOld: true,
        channelIsOld: true,
        channel: "open",
        sendError: null,
        echo: "still here",
        trackIsOld: true,
      });
      // one peer's counts (a packet per 20 ms between the two reads), not one more per attempt
      expect(r.total).toBeGreaterThanOrEqual(r.own);
      expect(r.total - r.own).toBeLessThan(10);
    } finally {
      await page.unroute("**/resume");
    }
  }, 30_000);

  it("a resume whose new peer fails after its track arrived: the remote stream carries the old peer's track again; the retry resumes", async () => {
    const r: any = await page.evaluate(`(async () => {
      let n = 0;
      const Orig = window.RTCPeerConnection;
      // the first resume's peer takes the answer (its track arrives), then fails
      window.RTCPeerConnection = class extends Orig {
        constructor(cfg) { super(cfg); this.n = ++n; }
        async setRemoteDescription(d) {
          await super.setRemoteDescription(d);
          if (this.n === 2) { await __sleep(50); throw new Error("test: the new peer fails"); }
        }
      };
      try {
        const c = await __connected();
        await __sleep(300);
        const oldTrack = c.pc.getReceivers()[0].track;
        let atFailure;
        c.addEventListener("resume-failed", () => {
          const t = c.remoteStream.getAudioTracks()[0];
          atFailure = { trackIsOld: t === oldTrack, live: t?.readyState, tracks: c.remoteStream.getTracks().length };
        });
        c.resume("manual");
        await __until(() => c.state === "resumed" || c.state === "ended", 10000);
        const out = { atFailure, state: c.state, resumes: c.resumes,
          trackNow: c.remoteStream.getAudioTracks()[0] === c.pc.getReceivers()[0].track,
          tracks: c.log.filter((l) => l === "track").length };
        await c.hangUp();
        return out;
      } finally {
        window.RTCPeerConnection = Orig;
      }
    })()`);
    expect(r).toEqual({
      atFailure: { trackIsOld: true, live: "live", tracks: 1 },
      state: "resumed",
      resumes: 1,
      trackNow: true,
      // the first peer's, the failed peer's, the first peer's again, the resumed peer's
      tracks: 4,
    });
  }, 30_000);
});
