// What each browser end-to-end file runs against: `rtcgw dev`'s stack in this process (emulated
// functions, a real media node, the memory registry, the demo page and /recordings) and Debian's
// Chromium whose fake microphone plays a 10 s 440 Hz WAV, in a temporary directory of its own.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";
import type { WebSocketServer } from "ws";
import { type ServedLocalGateway, startLocalGateway } from "../../src/cli/local-gateway.js";
import { type Config, loadConfig } from "../../src/config/index.js";
import { chainExtras, devTokenEndpoint } from "../../src/emulator/dev-token.js";
import { devStatic } from "../../src/emulator/static.js";
import { createLogger } from "../../src/log/index.js";
import { launchChromium } from "./chromium.js";
import { readWav, toneWav, type Wav } from "./wav.js";

/** the example parrots (examples/) as `rtcgw dev` runs them for the demo page's agent choices */
export interface DemoParrots {
  rtcgw: { url: string; wss: WebSocketServer };
  twilio: { url: string; wss: WebSocketServer };
}

export interface BrowserDevStack {
  config: Config;
  /** with `agents: true` */
  parrots?: DemoParrots;
  gateway: ServedLocalGateway;
  browser: BrowserContext;
  /** a new page, not navigated yet: add listeners before `goto` */
  page: Page;
  /** the session's WAV, as the dev server lists it under /recordings (written when it ends) */
  recordingOf(id: string): Promise<{ wavPath: string; wav: Wav }>;
  close(): Promise<void>;
}

/** `env`: more settings, as `rtcgw dev` would read them (e.g. RTCGW_TOKEN_SECRET); `o.microphone`:
 *  the WAV the fake microphone plays (default 10 s of 440 Hz); `o.agents`: run the example parrots
 *  and offer them as `rtcgw dev` does (allowed, at /agent.json, minted by /dev/token) */
export async function startBrowserDevStack(
  prefix: string,
  env: Record<string, string> = {},
  o: { microphone?: Buffer; agents?: boolean } = {},
): Promise<BrowserDevStack> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const toneFile = join(work, "microphone.wav");
  writeFileSync(toneFile, o.microphone ?? toneWav(440, 10));
  let parrots: DemoParrots | undefined;
  if (o.agents) {
    const [{ startParrotRtcgw }, { startParrotTwilio }] = await Promise.all([
      import("../../examples/parrot-rtcgw.mjs"),
      import("../../examples/parrot-twilio.mjs"),
    ]);
    parrots = { rtcgw: await startParrotRtcgw(), twilio: await startParrotTwilio() };
  }
  const config = loadConfig({
    RECORDINGS_DIR: join(work, "recordings"),
    MEDIA_BIND_ADDRESS: "127.0.0.1",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    ...(parrots ? { RTCGW_BRIDGE_ALLOW: `${parrots.rtcgw.url},${parrots.twilio.url}` } : {}),
    ...env,
  });
  const logger = createLogger({ level: config.LOG_LEVEL });
  // the same dev extras as `rtcgw dev`: POST /dev/token, the page, the recordings
  const agents = parrots ? { rtcgw: parrots.rtcgw.url, twilio: parrots.twilio.url } : {};
  const extra = chainExtras(devTokenEndpoint(config, agents), devStatic(config.RECORDINGS_DIR, agents));
  const gateway = await startLocalGateway({ config, logger, extra });
  const browser = await launchChromium(work, toneFile);
  const page = await browser.newPage();

  const recordingOf = async (id: string) => {
    let wavPath: string | undefined;
    const deadline = Date.now() + 10_000;
    while (!wavPath && Date.now() < deadline) {
      const list = (await (await fetch(`${gateway.emulator.url}/recordings`)).json()) as {
        recordings: { path: string }[];
      };
      wavPath = list.recordings.find((r) => r.path.includes(id) && r.path.endsWith(".wav"))?.path;
      if (!wavPath) await new Promise((r) => setTimeout(r, 250));
    }
    expect(wavPath, `session ${id}'s WAV is listed under /recordings`).toBeDefined();
    const file = join(config.RECORDINGS_DIR, ...wavPath!.split("/"));
    expect(existsSync(file)).toBe(true);
    return { wavPath: wavPath!, wav: readWav(readFileSync(file)) };
  };

  return {
    config,
    ...(parrots ? { parrots } : {}),
    gateway,
    browser,
    page,
    recordingOf,
    async close() {
      await browser.close();
      await gateway.close();
      for (const p of parrots ? [parrots.rtcgw, parrots.twilio] : []) {
        for (const c of p.wss.clients) c.terminate();
        await new Promise<void>((r) => p.wss.close(() => r()));
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}
