// Recordings to S3 (RTCGW_RECORDINGS_BUCKET): when a session ends, its WAV and Ogg are uploaded
// (@aws-sdk/lib-storage's Upload: multipart above one part, parts in parallel), each retried with
// exponential backoff; a local file is deleted only after S3 confirmed its upload. What cannot be
// uploaded now stays on disk and is retried at the node's next start (uploadLeftovers).

import { createReadStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { basename } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { awsRegion, endpointOverride } from "../aws/endpoint.js";
import type { Logger } from "../log/index.js";

/** S3's minimum part size: files up to this go in one request, larger ones in 8 MB parts */
const PART_SIZE = 8 * 1024 * 1024;

export interface UploaderOptions {
  bucket: string;
  prefix: string;
  log: Logger;
  client?: S3Client;
  /** attempts per file (default 6: waits of 1, 2, 4, 8, 16 s between them) */
  maxAttempts?: number;
  baseDelayMs?: number;
  /** an attempt whose connection sends nothing this long fails (and is retried); default 30 s */
  idleTimeoutMs?: number;
  /** each file's outcome (the node's rtcgw_recording_uploads_total) */
  onOutcome?: (outcome: "uploaded" | "failed") => void;
}

/** S3 that stops answering mid-upload must not hold an attempt for ever: without a socket
 *  timeout a stalled PUT never failed, never retried, and held a closing node's 60 s flush */
const IDLE_TIMEOUT_MS = 30_000;
/** S3's answers that a retry cannot change (the bucket, the credentials or the permissions) */
const PERMANENT_S3_ERRORS = new Set([
  "NoSuchBucket",
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AllAccessDisabled",
]);
const CONNECT_TIMEOUT_MS = 5_000;

export function s3ClientFromEnv(idleTimeoutMs = IDLE_TIMEOUT_MS): S3Client {
  const region = awsRegion("recordings (S3)");
  const endpoint = endpointOverride("s3");
  // an overridden endpoint (the rehearsal's s3rver) is addressed path-style (no bucket subdomains),
  // and sent plain bodies: S3-compatible servers do not all decode the aws-chunked checksum trailer
  return new S3Client({
    region,
    // socketTimeout is the socket's idle time (no byte either way), not the whole upload's: a
    // long recording on a slow link still goes through
    requestHandler: { socketTimeout: idleTimeoutMs, connectionTimeout: CONNECT_TIMEOUT_MS },
    ...(endpoint
      ? { endpoint, forcePathStyle: true, requestChecksumCalculation: "WHEN_REQUIRED" as const }
      : {}),
  });
}

export class RecordingUploader {
  private readonly client: S3Client;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: UploaderOptions) {
    this.client = o.client ?? s3ClientFromEnv(o.idleTimeoutMs);
  }

  get bucket(): string {
    return this.o.bucket;
  }

  /** upload a finished session's files (fire and forget: flush() waits for them) */
  enqueue(sessionId: string, files: readonly string[], log = this.o.log): void {
    const p = Promise.all(files.map((f) => this.uploadFile(f, log.child({ sessionId })))).then(() => {});
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** wait for the uploads in flight, at most `timeoutMs` (a draining node before it exits) */
  async flush(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    this.o.log.info({ uploads: this.inFlight.size }, "waiting for recording uploads");
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }

  /** one file to <prefix><file name>; true once S3 confirmed it and the local copy is gone */
  async uploadFile(file: string, log = this.o.log): Promise<boolean> {
    const key = `${this.o.prefix}${basename(file)}`;
    const attempts = this.o.maxAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      try {
        const upload = new Upload({
          client: this.client,
          params: {
            Bucket: this.o.bucket,
            Key: key,
            Body: createReadStream(file),
            ContentType: file.endsWith(".wav") ? "audio/wav" : "audio/ogg",
          },
          partSize: PART_SIZE,
          queueSize: 2,
          leavePartsOnError: false,
        });
        await upload.done();
        await unlink(file);
        log.info({ bucket: this.o.bucket, key, attempt }, "recording uploaded");
        this.o.onOutcome?.("uploaded");
        return true;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ENOENT") {
          log.warn({ file }, "recording file vanished before its upload");
          return false;
        }
        // a bucket that does not exist, or credentials it refuses: no later attempt goes better
        // (each was retried for 31 s like a network error); kept on disk, said once at error
        const permanent = PERMANENT_S3_ERRORS.has((e as { name?: string }).name ?? "");
        if (attempt >= attempts || permanent) {
          log.error(
            { key, attempt, err: err.message, ...(permanent ? { permanent: true } : {}) },
            "recording upload failed; kept on disk for the next start",
          );
          this.o.onOutcome?.("failed");
          return false;
        }
        const delay = (this.o.baseDelayMs ?? 1000) * 2 ** (attempt - 1);
        log.warn({ key, attempt, retryInMs: delay, err: err.message }, "recording upload failed; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
