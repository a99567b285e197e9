// Resume in the split deployment: two `rtcgw node`s and two `rtcgw signaling` processes on one
// real redis-server registry. A session is created through the first signaling; its caller drops
// its peer (no DELETE) and resumes through the *second* signaling process, which has never seen
// the session: the registry routes the resume to the node that owns it, the new peer connects
// there and the echo comes back; the status, read through either process, says resumed once.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

const BIN = fileURLToPath(new URL("../../bin/rtcgw.mjs", import.meta.url));
let redis: RedisServer;
const procs: ChildProcess[] = [];
const urls: string[] = [];

function start(cmd: string, env: Record<string, string>): ChildProcess {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(RTCGW_|MEDIA_|PORT$|NODE_PORT$)/.test(k)) base[k] = v;
  const c = spawn(process.execPath, [BIN, cmd], {
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  c.stderr?.on("data", () => {});
  c.stdout?.on("data", () => {});
  procs.push(c);
  return c;
}

function printedUrl(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`signaling printed no URL within 30 s: ${out}`)), 30_000);
    c.stdout?.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
}

beforeAll(async () => {
  redis = await startRedisServer();
  const shared = {
    RTCGW_REGISTRY: redis.url,
    RTCGW_NODE_SECRET: "resume-split-secret-0123456789",
    LOG_LEVEL: "warn",
  };
  for (let i = 0; i < 2; i++)
    start("node", {
      ...shared,
      RTCGW_WORKERS: "1",
      NODE_PORT: "0",
      MEDIA_BIND_ADDRESS: "127.0.0.1",
      RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-resume-split-")),
    });
  for (let i = 0; i < 2; i++) urls.push(await printedUrl(start("signaling", { ...shared, PORT: "0" })));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const h = (await (await fetch(`${urls[0]}/v1/health`)).json()) as { nodes?: { accepting: number } };
      if (h.nodes && h.nodes.accepting >= 2) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("two nodes did not register within 60 s");
    await new Promise((r) => setTimeout(r, 250));
  }
}, 90_000);

afterAll(async () => {
  for (const c of procs) if (c.exitCode === null) c.kill("SIGKILL");
  await redis?.stop();
});

describe("resume through another signaling process", () => {
  it("reaches the node that owns the session; the echo comes back on the new peer", async () => {
    const c1 = await ClientPeer.create({ dataChannel: false });
    const c2 = await ClientPeer.create({ dataChannel: false });
    try {
      const r = await fetch(`${urls[0]}/v1/sessions?profile=echo`, {
        method: "POST",
        headers: { "content-type": "application/sdp" },
        body: c1.offer,
      });
      expect(r.status).toBe(201);
      const location = r.headers.get("location")!;
      const auth = { authorization: `Bearer ${r.headers.get("rtcgw-session-token")}` };
      c1.accept(await r.text());
      await c1.connected(10_000);
      await c1.until(() => c1.stats.packetsReceived > 20, 10_000, "echo on the first peer");
      const owner = (
        (await (await fetch(urls[0] + location, { headers: auth })).json()) as { nodeId: string }
      ).nodeId;
      c1.stopSending(); // the network changed: no DELETE, the old peer is abandoned

      const rr = await fetch(`${urls[1]}${location}/resume`, {
        method: "POST",
        headers: { "content-type": "application/sdp", ...auth },
        body: c2.offer,
      });
      expect(rr.status, await rr.clone().text()).toBe(200);
      expect(rr.headers.get("location")).toBe(location);
      c2.accept(await rr.text());
      await c2.connected(10_000);
      await c2.until(() => c2.stats.packetsReceived > 25, 10_000, "echo on the resumed peer");
      for (const u of urls) {
        const st = (await (await fetch(u + location, { headers: auth })).json()) as Record<string, unknown>;
        expect(st).toMatchObject({ nodeId: owner, state: "connected", resumes: 1, nodeReachable: true });
      }
      expect((await fetch(urls[1] + location, { method: "DELETE", headers: auth })).status).toBe(200);
    } finally {
      await Promise.all([c1.close(), c2.close()]);
    }
  }, 60_000);
});
