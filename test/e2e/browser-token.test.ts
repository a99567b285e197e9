// biome-ignore-all lint/suspicious/noExplicitAny: page-side code reaches window.demo, which has no TypeScript types
// The client-token flow in a real browser: `rtcgw dev`'s stack with RTCGW_API_TOKEN and
// RTCGW_TOKEN_SECRET set, the demo page in Debian's Chromium. Before each call the page asks "its
// backend" (the dev server's POST /dev/token) for a client token and posts its offer with
// `Authorization: Bearer <that token>`: the echo call connects and the tone comes back, a record
// call records. Every request the page makes is watched: none carries the API token, each offer
// carries a different token (one per call), and the session's own requests (GET stats, DELETE)
// use the per-session secret.
import type { Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyClientToken } from "../../src/signaling/client-token.js";
import { type BrowserDevStack, startBrowserDevStack } from "./dev-stack.js";
import { installPeakHz } from "./page-audio.js";
import { dominantHz } from "./wav.js";

const API_TOKEN = "browser-test-api-token-0123456789";
const SECRET = "browser-test-client-token-secret-0123456789";
let stack: BrowserDevStack;
let page: Page;
const requests: { url: string; method: string; auth: string | undefined }[] = [];

beforeAll(async () => {
  stack = await startBrowserDevStack("rtcgw-e2e-token-", {
    RTCGW_API_TOKEN: API_TOKEN,
    RTCGW_TOKEN_SECRET: SECRET,
  });
  ({ page } = stack);
  page.on("pageerror", (e) => console.error("page error:", e.message));
  page.on("request", (r: Request) =>
    requests.push({ url: r.url(), method: r.method(), auth: r.headers().authorization }),
  );
  await page.goto(`${stack.gateway.emulator.url}/`);
  await page.waitForFunction(() => (window as any).demo !== undefined);
  await installPeakHz(page);
}, 90_000);

afterAll(async () => {
  await stack?.close();
});

const waitState = (s: string, timeout = 15_000) =>
  page.waitForFunction((want) => document.body.dataset.state === want, s, { timeout });

describe("the demo page with client tokens", () => {
  it("echo and record calls each get their own client token from the dev backend; the API token never reaches the browser", async () => {
    const echo = await page.evaluate(() => (window as any).demo.connect("echo"));
    expect(echo.auth).toBe("client-token");
    await waitState("connected");
    const peakHz = await page.evaluate(() =>
      (window as any).peakHz((document.getElementById("remote") as HTMLAudioElement).srcObject),
    );
    expect(Math.abs(peakHz - 440)).toBeLessThan(12);
    await page.evaluate(() => (window as any).demo.hangup());
    await waitState("idle");

    const rec = await page.evaluate(() => (window as any).demo.connect("record"));
    expect(rec.auth).toBe("client-token");
    await waitState("connected");
    await new Promise((r) => setTimeout(r, 3_000));
    await page.evaluate(() => (window as any).demo.hangup());
    const { wav } = await stack.recordingOf(String(rec.url).split("/").pop()!);
    const mid = wav.samples.subarray(Math.floor(wav.rate * 0.5), Math.floor(wav.rate * 2));
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);

    // what the browser sent
    expect(requests.some((r) => r.auth?.includes(API_TOKEN))).toBe(false);
    const offers = requests.filter((r) => r.method === "POST" && r.url.includes("/v1/sessions?profile="));
    expect(offers).toHaveLength(2);
    const bearers = offers.map((r) => r.auth?.replace(/^Bearer /, "") ?? "");
    expect(new Set(bearers).size).toBe(2);
    const claims = await Promise.all(bearers.map((b) => verifyClientToken(SECRET, b, Date.now())));
    expect(claims.map((c) => [c.profiles, c.record])).toEqual([
      [["echo"], false],
      [[], true],
    ]);
    expect(requests.filter((r) => r.url.endsWith("/dev/token"))).toHaveLength(2);
  }, 60_000);

  it("an offer with no token is refused by this gateway (401), so the page is the only way in", async () => {
    const status = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver("audio");
      await pc.setLocalDescription(await pc.createOffer());
      const r = await fetch("/v1/sessions?profile=echo", {
        method: "POST",
        headers: { "content-type": "application/sdp" },
        body: pc.localDescription!.sdp,
      });
      pc.close();
      return r.status;
    });
    expect(status).toBe(401);
  });
});
