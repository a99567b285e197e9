// What the pipeline needs before its first session, checked when the node starts (so a node that
// cannot record or decode never registers) and used again when a session opens its files:
// the WASM modules load, and RECORDINGS_DIR is a directory this process can create files in.
import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { opusWasm } from "../audio/codecs/opus-wasm.js";
import { loadResampler } from "../audio/resampler/index.js";

export class MediaPreflightError extends Error {
  override name = "MediaPreflightError";
  constructor(
    /** "recordings-dir": RECORDINGS_DIR is not usable; "media-runtime": a WASM module does not load */
    readonly code: "recordings-dir" | "media-runtime",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Make `dir` exist, one level at a time. Not `mkdirSync(dir, { recursive: true })`: under a
 * pseudo file system (/proc, /sys) Node's recursive mkdir loops forever; a plain mkdir per level
 * fails at once with the kernel's error.
 */
export function ensureDir(dir: string): void {
  const path = resolve(dir);
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory())
        throw Object.assign(new Error(`${p} is not a directory`), { code: "ENOTDIR" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || dirname(p) === p) throw e;
      missing.unshift(p);
    }
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}

/** RECORDINGS_DIR exists (created if missing) and a file can be created in it. */
export function checkRecordingsDir(dir: string): void {
  try {
    ensureDir(dir);
    // as root every permission bit passes: only creating a file tells (read-only mounts, /proc…)
    const probe = join(resolve(dir), `.rtcgw-probe-${process.pid}`);
    closeSync(openSync(probe, "wx", 0o600));
    unlinkSync(probe);
  } catch (e) {
    throw new MediaPreflightError(
      "recordings-dir",
      `${dir} is not a directory rtcgw can write recordings in (${(e as Error).message}); set RECORDINGS_DIR to a writable directory`,
    );
  }
}

/** The Opus WASM and our resampler WASM load (the resampler's pkg/ is built and readable). */
export async function checkMediaRuntime(): Promise<void> {
  try {
    opusWasm();
    await loadResampler();
  } catch (e) {
    throw new MediaPreflightError(
      "media-runtime",
      `the media WASM cannot be loaded (${(e as Error).message}); run npm install and npm run build:wasm`,
    );
  }
}

/** Everything the pipeline can check before its first session. */
export async function preflightMedia(recordingsDir: string): Promise<void> {
  await checkMediaRuntime();
  checkRecordingsDir(recordingsDir);
}
