// What each browser end-to-end file runs against: `rtcgw dev`'s stack in this process (emulated
// functions, a real media node, the memory registry, the demo page and /recordings) and Debian's
// Chromium whose fake microphone plays a 10 s 440 Hz WAV, in a temporary directory of its own.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";
import { type ServedLocalGateway, startLocalGateway } from "../../src/cli/local-gateway.js";
import { type Config, loadConfig } from "../../src/config/index.js";
import { chainExtras, devTokenEndpoint } from "../../src/emulator/dev-token.js";
import { devStatic } from "../../src/emulator/static.js";
import { createLogger } from "../../src/log/index.js";
import { launchChromium } from "./chromium.js";
import { readWav, toneWav, type Wav } from "./wav.js";

export interface BrowserDevStack {
  config: Config;
  gateway: ServedLocalGateway;
  browser: BrowserContext;
  /** a new page, not navigated yet: add listeners before `goto` */
  page: Page;
  /** the session's WAV, as the dev server lists it under /recordings (written when it ends) */
  recordingOf(id: string): Promise<{ wavPath: string; wav: Wav }>;
  close(): Promise<void>;
}

/** `env`: more settings, as `rtcgw dev` would read them (e.g. RTCGW_TOKEN_SECRET) */
export async function startBrowserDevStack(
  prefix: string,
  env: Record<string, string> = {},
): Promise<BrowserDevStack> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const toneFile = join(work, "tone-440.wav");
  writeFileSync(toneFile, toneWav(440, 10));
  const config = loadConfig({
    RECORDINGS_DIR: join(work, "recordings"),
    MEDIA_BIND_ADDRESS: "127.0.0.1",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    ...env,
  });
  const logger = createLogger({ level: config.LOG_LEVEL });
  // the same dev extras as `rtcgw dev`: POST /dev/token, the page, the recordings
  const extra = chainExtras(devTokenEndpoint(config), devStatic(config.RECORDINGS_DIR));
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
    gateway,
    browser,
    page,
    recordingOf,
    async close() {
      await browser.close();
      await gateway.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
