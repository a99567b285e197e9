// Debian's Chromium through playwright-core (never a downloaded browser), headless, with a fake
// microphone that plays a WAV and the flags WebRTC over loopback needs.
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** a persistent context in `workDir`/profile whose microphone plays `audioFile` */
export function launchChromium(workDir: string, audioFile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(workDir, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--allow-loopback-in-peer-connection",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${audioFile}`,
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}
