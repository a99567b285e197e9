// What the pipeline needs before its first session, checked when the node starts (so a node that
// cannot record or decode never registers) and used again when a session opens its files:
// the WASM modules load, and RECORDINGS_DIR is a directory this process can create files in.
import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { OpusEncoder } from "../audio/codecs/opus.js";
import {
  type OpusEncoderBackend,
  type OpusEncoderChoice,
  selectOpusEncoder,
} from "../audio/codecs/opus-encoder-state.js";
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

/** which Opus encoder the node runs, and why not native when it asked for "auto" and got WASM */
export interface OpusEncoderSelection {
  backend: OpusEncoderBackend;
  fallback?: string;
}

/** one 20 ms frame through a fresh encoder on the process' current backend */
function encodeOneFrame(): void {
  const enc = new OpusEncoder({ rate: 16000, complexity: 1 });
  try {
    if (enc.encode(new Int16Array(320)).length === 0) throw new Error("it returned an empty packet");
  } finally {
    enc.destroy();
  }
}

/**
 * Choose the process' Opus encoder (RTCGW_OPUS_ENCODER) and encode one frame on it, so a node
 * told "native" on a platform without the addon, or whose addon does not run, exits at its start
 * naming the setting instead of failing every call. "auto" whose addon loads but cannot encode
 * runs WASM and says why (`fallback`), as it does when the addon does not load.
 */
export function checkOpusEncoder(
  choice: OpusEncoderChoice,
  /** the test encode (tests inject one that fails on a backend) */
  probe: () => void = encodeOneFrame,
): OpusEncoderSelection {
  try {
    const selection = selectOpusEncoder(choice);
    try {
      probe();
      return selection;
    } catch (e) {
      if (choice !== "auto" || selection.backend !== "native") throw e;
      const fallback = `the native Opus addon loads but cannot encode: ${(e as Error).message}`;
      selectOpusEncoder("wasm");
      probe();
      return { backend: "wasm", fallback };
    }
  } catch (e) {
    throw new MediaPreflightError(
      "media-runtime",
      `the Opus encoder cannot run (${(e as Error).message}); RTCGW_OPUS_ENCODER=wasm runs the WASM build everywhere`,
    );
  }
}

/** Everything the pipeline can check before its first session. */
export async function preflightMedia(
  recordingsDir: string,
  opusEncoder: OpusEncoderChoice = "auto",
): Promise<OpusEncoderSelection> {
  await checkMediaRuntime();
  const selection = checkOpusEncoder(opusEncoder);
  checkRecordingsDir(recordingsDir);
  return selection;
}
