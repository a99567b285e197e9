// The split deployment, locally: `rtcgw node` and `rtcgw signaling` as separate processes sharing
// a real redis-server registry and a node secret. A node-datachannel client creates a session
// through the signaling, connects to the node, gets its audio echoed, and deletes the session;
// both processes stop with exit 0 on SIGTERM.
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
let node: ChildProcess;
let signaling: ChildProcess;
let url: string;

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
  return c;
}
/** the URL `rtcgw signaling` prints once it listens (PORT=0: whatever port it got) */
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
const exited = (c: ChildProcess) =>
  c.exitCode !== null
    ? Promise.resolve(c.exitCode)
    : new Promise<number | null>((r) => c.once("exit", (code) => r(code)));

beforeAll(async () => {
  redis = await startRedisServer();
  const shared = {
    RTCGW_REGISTRY: redis.url,
    RTCGW_NODE_SECRET: "split-test-secret-0123456789",
    LOG_LEVEL: "warn",
  };
  node = start("node", {
    ...shared,
    RTCGW_WORKERS: "1",
    NODE_PORT: "0", // any free port: the node registers the one it got
    MEDIA_BIND_ADDRESS: "127.0.0.1",
    RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-split-")),
  });
  signaling = start("signaling", { ...shared, PORT: "0" });
  url = await printedUrl(signaling);
  // ready when the signaling answers and sees the node in the registry
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const h = (await (await fetch(`${url}/v1/health`)).json()) as { nodes?: { accepting: number } };
      if (h.nodes && h.nodes.accepting >= 1) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("signaling + node did not come up within 60 s");
    await new Promise((r) => setTimeout(r, 250));
  }
}, 90_000);

afterAll(async () => {
  for (const c of [signaling, node]) if (c && c.exitCode === null) c.kill("SIGKILL");
  await redis?.stop();
});

describe("rtcgw node + rtcgw signaling over redis", () => {
  it("a session is created through the signaling, media flows through the node, DELETE ends it", async () => {
    const c = await ClientPeer.create();
    try {
      const r = await fetch(`${url}/v1/sessions?profile=echo`, {
        method: "POST",
        headers: { "content-type": "application/sdp" },
        body: c.offer,
      });
      expect(r.status).toBe(201);
      const location = r.headers.get("location")!;
      const token = r.headers.get("rtcgw-session-token")!;
      c.accept(await r.text());
      await c.connected(10_000);
      await c.until(() => c.stats.packetsReceived > 20, 10_000, "echo through the node");
      const st = await fetch(url + location, { headers: { authorization: `Bearer ${token}` } });
      expect(((await st.json()) as { state: string }).state).toBe("connected");
      const d = await fetch(url + location, {
        method: "DELETE",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(d.status).toBe(200);
      // ended: its tombstone says how (the node wrote it as it tore the peer down)
      const after = await fetch(url + location, { headers: { authorization: `Bearer ${token}` } });
      expect(after.status).toBe(200);
      expect(await after.json()).toMatchObject({ state: "ended", endReason: "deleted" });
    } finally {
      await c.close();
    }
  }, 40_000);

  it("both processes stop cleanly on SIGTERM", async () => {
    signaling.kill("SIGTERM");
    node.kill("SIGTERM");
    expect(await exited(signaling)).toBe(0);
    expect(await exited(node)).toBe(0);
  }, 60_000);
});
