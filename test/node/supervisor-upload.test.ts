// SIGTERM to `rtcgw node` (supervisor + 2 workers) while a recorded call is live and the bucket
// answers slowly: each worker drains, then waits (up to 60 s) for its last recordings' uploads —
// and the supervisor lets it, instead of killing it 5 s after the drain (which lost the call's
// recording with a scale-in's instance). A real S3 implementation (s3rver) behind a front that
// holds every request 6 s, a real redis-server, real processes.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { control, nodeProcessFixture, spawnNodeProcess } from "../support/node-process.js";
import { type S3Server, startS3Server } from "../support/s3-server.js";

const fx = nodeProcessFixture();
const DELAY_MS = 6000;
let s3: S3Server;
let front: Server;
let frontPort = 0;

beforeAll(async () => {
  s3 = await startS3Server(["rec-bucket"]);
  // a slow bucket: every request forwarded DELAY_MS after it came
  front = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on("data", (d) => body.push(d));
    req.on("end", () =>
      setTimeout(() => {
        const up = httpRequest(
          { host: "127.0.0.1", port: s3.port, path: req.url, method: req.method, headers: req.headers },
          (ur) => {
            res.writeHead(ur.statusCode!, ur.headers);
            ur.pipe(res);
          },
        );
        up.on("error", () => res.destroy());
        up.end(Buffer.concat(body));
      }, DELAY_MS),
    );
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  frontPort = (front.address() as { port: number }).port;
});
afterAll(async () => {
  front?.close();
  await s3?.close();
});

it("a worker finishing its last uploads after the drain is waited for: exit 0, the recording in the bucket, nothing left on disk", {
  timeout: 90_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "rtcgw-rec-"));
  const { child, exit } = spawnNodeProcess(
    ["node"],
    {
      RTCGW_REGISTRY: fx.redis.url,
      RTCGW_WORKERS: "2",
      NODE_PORT: "0",
      MEDIA_UDP_PORT: "0",
      RTCGW_DRAIN_TIMEOUT: "2",
      RECORDINGS_DIR: dir,
      RTCGW_RECORDINGS_BUCKET: "rec-bucket",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${frontPort}`,
    },
    { bin: true },
  );
  const nodes = await fx.nodesRegistered(2, 30_000);
  const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false, toneHz: 440 });
  const id = randomBytes(16).toString("base64url");
  const r = await control(nodes[0]!, "POST", "/internal/sessions", {
    sessionId: id,
    kind: "whip",
    profile: "record",
    offer: c.offer,
  });
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  await new Promise((res) => setTimeout(res, 1500));
  const t0 = Date.now();
  child.kill("SIGTERM");
  // drain (2 s) + two uploads held 6 s each: past the old deadline of drain + 5 s
  expect(await exit).toBe(0);
  expect(Date.now() - t0).toBeGreaterThan(2000 + 5000);
  await c.close();
  const keys = await s3.keys("rec-bucket");
  expect(keys.sort()).toEqual([`recordings/${id}.ogg`, `recordings/${id}.wav`]); // the default prefix
  expect(readdirSync(dir).filter((f) => !f.startsWith(".rtcgw-probe-"))).toEqual([]); // (the recordings probe's file)
});
