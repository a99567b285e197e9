// biome-ignore-all lint/suspicious/noExplicitAny: page-side code reaches window.demo, which has no TypeScript types
// The demo page's *agent* choices in a real browser, as a newcomer uses them after `npm start`:
// `rtcgw dev`'s stack with RTCGW_TOKEN_SECRET set and the example parrots running, Debian's
// Chromium whose fake microphone says a turn (1.2 s of 440 Hz, then 3.8 s of quiet, looped). The
// page picks the agent, gets a client token for it from the dev backend (POST /dev/token: the
// parrot's URL and protocol pinned), posts its offer, talks; the parrot hears the caller's frames
// and, in the pause, says the turn back: the browser receives that audio, and the call's
// two-channel recording has the caller's 440 Hz on the left and the parrot's on the right, after
// it. Both protocols: rtcgw (16 kHz PCM) and Twilio Media Streams (8 kHz μ-law).
import type { Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyClientToken } from "../../src/signaling/client-token.js";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";
import { dominantHz, turnWav } from "./wav.js";

const SECRET = "browser-agent-client-token-secret-0123456789";
let stack: BrowserDevStack;
let page: Page;
const offers: { url: string; auth: string | undefined }[] = [];
/** what each parrot was sent, per socket: the first text (connected/start) and the frames */
const seen: Array<{ protocol: string; texts: any[]; audio: number }> = [];

beforeAll(async () => {
  stack = await startBrowserDevStack(
    "rtcgw-e2e-agent-",
    { RTCGW_TOKEN_SECRET: SECRET },
    { microphone: turnWav(440, 1.2, 3.8), agents: true },
  );
  ({ page } = stack);
  for (const protocol of ["rtcgw", "twilio"] as const)
    stack.parrots![protocol].wss.on("connection", (ws) => {
      const s = { protocol, texts: [] as any[], audio: 0 };
      seen.push(s);
      ws.on("message", (d, isBinary) => {
        if (isBinary) s.audio++;
        else {
          const m = JSON.parse(String(d));
          if (m.event === "media") s.audio++;
          else s.texts.push(m);
        }
      });
    });
  page.on("pageerror", (e) => console.error("page error:", e.message));
  page.on("request", (r: Request) => {
    if (r.method() === "POST" && r.url().includes("/v1/sessions"))
      offers.push({ url: r.url(), auth: r.headers().authorization });
  });
  await page.goto(`${stack.gateway.emulator.url}/`);
  await page.waitForFunction(() => (window as any).demo !== undefined);
}, 90_000);

afterAll(async () => {
  await stack?.close();
});

const waitState = (s: string, timeout = 15_000) =>
  page.waitForFunction((want) => document.body.dataset.state === want, s, { timeout });

/** RMS of a stretch of one channel of an interleaved stereo recording */
function channel(samples: Int16Array, ch: 0 | 1, from: number, to: number): Int16Array {
  const out = new Int16Array(Math.max(0, to - from));
  for (let i = 0; i < out.length; i++) out[i] = samples[(from + i) * 2 + ch]!;
  return out;
}
const rms = (x: Int16Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / Math.max(1, x.length));

describe("the demo page's agent choices", () => {
  for (const [choice, protocol] of [
    ["agent", "rtcgw"],
    ["agent-twilio", "twilio"],
  ] as const) {
    it(`${choice}: a client token for the parrot, the caller's turn reaches it and its answer comes back (${protocol})`, async () => {
      // the page's own select, as a user picks it
      await page.selectOption("#profile", choice);
      const before = seen.length;
      const call = await page.evaluate(() => (window as any).demo.connect());
      expect(call.auth).toBe("client-token");
      await waitState("connected");
      const sessionId = String(call.url).split("/").pop()!;
      // two turns: the parrot answers each in the pause after it
      await new Promise((r) => setTimeout(r, 7_500));
      const inbound = await page.evaluate(async () => {
        const pc: RTCPeerConnection = (window as any).demo.call.pc;
        let packets = 0;
        let energy = 0;
        (await pc.getStats()).forEach((s: any) => {
          if (s.type === "inbound-rtp" && s.kind === "audio") {
            packets += s.packetsReceived ?? 0;
            energy += s.totalAudioEnergy ?? 0;
          }
        });
        return { packets, energy };
      });
      await page.evaluate(() => (window as any).demo.hangup());
      await waitState("idle");

      // the token the page posted with names the parrot and its protocol, as a backend pins it
      const bearer = offers.at(-1)!.auth!.replace(/^Bearer /, "");
      const claims = await verifyClientToken(SECRET, bearer, Date.now());
      expect(claims).toMatchObject({
        profiles: ["bridge"],
        record: true,
        bridge: stack.parrots![protocol].url,
        bridgeProtocol: protocol,
      });

      // the parrot of that protocol was dialed for this call and heard the caller
      const leg = seen.slice(before).find((s) => s.protocol === protocol)!;
      expect(leg).toBeDefined();
      const start = leg.texts.find((m) => m.type === "start" || m.event === "start");
      expect(protocol === "rtcgw" ? start.sessionId : start.start.callSid).toBe(sessionId);
      expect(leg.audio).toBeGreaterThan(250); // ≥ 5 s of the caller's 20 ms frames

      // the caller received the parrot's answer (the node sends nothing while the agent is quiet)
      expect(inbound.packets).toBeGreaterThanOrEqual(50); // ≥ 1 s of audio back
      expect(inbound.energy).toBeGreaterThan(0);

      // the two-channel recording: the caller's 440 Hz left; the parrot's right, after the turn
      const { wav } = await stack.recordingOf(sessionId);
      expect(wav.channels).toBe(2);
      const frames = Math.floor(wav.samples.length / 2);
      const win = Math.floor(wav.rate * 0.1);
      let firstCaller = -1;
      let callerQuiet = -1; // the end of the caller's first turn: its first quiet window after it
      let firstAgent = -1;
      for (let i = 0; i + win <= frames; i += win) {
        const caller = rms(channel(wav.samples, 0, i, i + win)) > 1000;
        if (firstCaller < 0 && caller) firstCaller = i;
        if (firstCaller >= 0 && callerQuiet < 0 && !caller) callerQuiet = i;
        if (firstAgent < 0 && rms(channel(wav.samples, 1, i, i + win)) > 1000) firstAgent = i;
      }
      expect(firstCaller).toBeGreaterThanOrEqual(0);
      expect(callerQuiet).toBeGreaterThan(firstCaller);
      // the parrot answers in the pause, never over the caller: its first sound comes after the
      // caller's first turn ended. (Not "1.2 s after the caller's first sound": the fake
      // microphone loops from wherever it was when the call began, so the first turn the call
      // carries may be the tail of one — once 1.000 s from first sound to answer.)
      expect(firstAgent).toBeGreaterThanOrEqual(callerQuiet);
      const reply = channel(
        wav.samples,
        1,
        firstAgent,
        Math.min(frames, firstAgent + Math.floor(wav.rate * 0.8)),
      );
      expect(Math.abs(dominantHz(reply, wav.rate) - 440)).toBeLessThanOrEqual(8);
    }, 60_000);
  }
});
