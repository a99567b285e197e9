// At a node's start, before any worker runs: recordings left in RECORDINGS_DIR by an earlier run
// (an upload that failed every retry, a crash mid-upload) go to the bucket. The directory is
// listed synchronously, before the workers start, so no recording in progress is taken.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { RecordingUploader } from "./uploader.js";

export function uploadLeftovers(
  config: Pick<Config, "RECORDINGS_DIR" | "RTCGW_RECORDINGS_BUCKET" | "RTCGW_RECORDINGS_PREFIX">,
  log: Logger,
): Promise<number> {
  if (!config.RTCGW_RECORDINGS_BUCKET) return Promise.resolve(0);
  let files: string[];
  try {
    files = readdirSync(config.RECORDINGS_DIR)
      .filter((f) => f.endsWith(".wav") || f.endsWith(".ogg"))
      .map((f) => join(config.RECORDINGS_DIR, f));
  } catch {
    return Promise.resolve(0);
  }
  if (files.length === 0) return Promise.resolve(0);
  log.info({ files: files.length }, "uploading recordings left by an earlier run");
  const up = new RecordingUploader({
    bucket: config.RTCGW_RECORDINGS_BUCKET,
    prefix: config.RTCGW_RECORDINGS_PREFIX,
    log,
  });
  return Promise.all(files.map((f) => up.uploadFile(f))).then((ok) => ok.filter(Boolean).length);
}
