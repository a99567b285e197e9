// `npm start | head -c 300`, then SIGTERM: the gateway must stop though nobody reads its stdout
// any more. Shutdown never depends on a log line being written: a write to the closed pipe fails
// with EPIPE, and neither that nor the flush of buffered lines at exit may hold the exit up.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/rtcgw.mjs", import.meta.url));
const clean = () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(RTCGW_|MEDIA_|PORT$|NODE_PORT$|RECORDINGS_DIR$|LOG_LEVEL$)/.test(k))
      env[k] = v;
  return env;
};

describe("rtcgw dev whose stdout is gone", () => {
  it.each(["info", "debug"])(
    "stops on SIGTERM within the drain deadline (LOG_LEVEL=%s)",
    async (level) => {
      const child = spawn(process.execPath, [BIN, "dev"], {
        env: {
          ...clean(),
          PORT: "0",
          LOG_LEVEL: level,
          RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-epipe-")),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (c) => {
        err += c;
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
        child.on("exit", (code, signal) => r({ code, signal })),
      );
      // like `head -c 300`, but read on to the banner (for the URL), then close the read end
      let out = "";
      const url = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 30_000);
        child.stdout.on("data", (c: Buffer) => {
          out += c;
          const m = /demo page\s+(http:\/\/[^/\s]+)/.exec(out);
          if (m && out.length >= 300) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      expect(url).toBeDefined();
      child.stdout.destroy();
      // some traffic after the reader left, so there are lines to write (and fail) before the signal
      if (url) for (let i = 0; i < 5; i++) await fetch(`${url}/v1/health`).catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const { code, signal } = await exited;
      clearTimeout(timer);
      expect(signal, `killed: the gateway did not stop on SIGTERM (stderr: ${err.slice(-500)})`).toBeNull();
      expect(code).toBe(0);
      // dev drains for 2 s at most; the shutdown deadline is 15 s
      expect(Date.now() - t0).toBeLessThan(10_000);
    },
    60_000,
  );
});
