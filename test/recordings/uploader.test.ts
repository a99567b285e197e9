// Recordings to S3 against a real S3 implementation (s3rver): a file is uploaded under the prefix
// and deleted only then; an S3 endpoint that accepts the connection and never answers fails the
// attempt after the idle timeout and is retried (it used to hang for ever: no retry, and a closing
// node's flush held its whole 60 s), and what could not be uploaded stays on disk.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLogger } from "../../src/log/index.js";
import { RecordingUploader } from "../../src/recordings/uploader.js";
import { type S3Server, startS3Server } from "../support/s3-server.js";

let s3: S3Server;
let silent: Server;
const sockets: Socket[] = [];
let silentPort = 0;
const saved = { ...process.env };
const log = createLogger({ level: "silent" });

beforeAll(async () => {
  s3 = await startS3Server(["rec"]);
  // an endpoint that takes the connection and the request, and never says a word
  silent = createServer((s) => {
    sockets.push(s);
    s.on("data", () => {});
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  silentPort = (silent.address() as { port: number }).port;
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
  });
});
afterAll(async () => {
  process.env = saved;
  for (const s of sockets) s.destroy();
  silent?.close();
  await s3?.close();
});

function recording(): string {
  const f = join(mkdtempSync(join(tmpdir(), "rtcgw-up-")), "abc.wav");
  writeFileSync(f, Buffer.alloc(4096, 7));
  return f;
}

it("uploads a recording under the prefix, then deletes the local file", async () => {
  process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${s3.port}`;
  const outcomes: string[] = [];
  const up = new RecordingUploader({
    bucket: "rec",
    prefix: "calls/",
    log,
    onOutcome: (o) => outcomes.push(o),
  });
  const f = recording();
  expect(await up.uploadFile(f)).toBe(true);
  expect(outcomes).toEqual(["uploaded"]); // rtcgw_recording_uploads_total{outcome}
  expect(existsSync(f)).toBe(false);
  const got = await fetch(`http://127.0.0.1:${s3.port}/rec/calls/abc.wav`);
  expect(got.status).toBe(200);
  expect((await got.arrayBuffer()).byteLength).toBe(4096);
});

it("an endpoint that never answers: each attempt fails at the idle timeout and is retried; the file stays", async () => {
  process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${silentPort}`;
  const up = new RecordingUploader({
    bucket: "rec",
    prefix: "",
    log,
    idleTimeoutMs: 400,
    maxAttempts: 3,
    baseDelayMs: 10,
  });
  const f = recording();
  const t0 = Date.now();
  expect(await up.uploadFile(f)).toBe(false);
  const ms = Date.now() - t0;
  // three attempts, each ended by the 400 ms idle timeout (the SDK's own retries included)
  expect(sockets.length).toBeGreaterThanOrEqual(3);
  expect(ms).toBeLessThan(15_000);
  expect(existsSync(f)).toBe(true);
}, 30_000);

it("a bucket that does not exist is not retried (no attempt goes better); the file stays", async () => {
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  const outcomes: string[] = [];
  const up = new RecordingUploader({
    bucket: "no-such-bucket",
    prefix: "",
    log,
    baseDelayMs: 2000,
    onOutcome: (o) => outcomes.push(o),
  });
  const f = recording();
  const t0 = Date.now();
  expect(await up.uploadFile(f)).toBe(false);
  expect(outcomes).toEqual(["failed"]);
  // six attempts would wait 2 + 4 + 8 + 16 + 32 s between them
  expect(Date.now() - t0).toBeLessThan(1500);
  expect(existsSync(f)).toBe(true);
});
