// Where a session's recording lands in the bucket: <prefix><file name>, as the uploader puts it
// (src/recordings/uploader.ts). Known before the call ends, so the session status can carry the
// object keys while the session is live.
import { basename } from "node:path";

export interface RecordingObjects {
  bucket: string;
  wav: string;
  ogg?: string;
}

export function recordingObjects(
  bucket: string,
  prefix: string,
  files: { wav: string; ogg?: string },
): RecordingObjects {
  return {
    bucket,
    wav: `${prefix}${basename(files.wav)}`,
    ...(files.ogg ? { ogg: `${prefix}${basename(files.ogg)}` } : {}),
  };
}
