// `npm run bench:signaling`: offer → answer latency through the emulator (HTTP → payload-2.0
// event → function → signed control API → a real media node answering with node-datachannel),
// p50 and p99, sequential and 20 concurrent; every session is deleted afterwards. Targets:
// p50 ≤ 20 ms, p99 ≤ 60 ms.
//
// Two topologies, each with its anchors measured in the same run:
//  1. deployed: the media node in its own process (`src/node/main.ts`, the supervisor `rtcgw node`
//     runs: one worker per core unless BENCH_WORKERS says otherwise), the emulator + functions in
//     this process, a real redis-server as the registry both share (as `rtcgw signaling` +
//     `rtcgw node`). In production these are different machines; here they share 2 cores.
//  2. in-process: `rtcgw dev` (startLocalGateway: emulator, functions, node, memory registry and
//     this driver's client peers on one event loop) — kept as a second row.
// Anchors: GET /v1/health through the same emulator (HTTP + event + function + registry, no node
// work), and the node's control API alone (POST /internal/sessions signed, no emulator/function).

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalGateway } from "../src/cli/local-gateway.js";
import { loadConfig } from "../src/config/index.js";
import { signRequest } from "../src/control/hmac.js";
import { FUNCTION_HANDLERS } from "../src/emulator/functions.js";
import { startEmulator } from "../src/emulator/server.js";
import { createLogger } from "../src/log/index.js";
import { openRegistry } from "../src/registry/open.js";
import type { Registry } from "../src/registry/types.js";
import { makeSignalingDeps, setSignalingDeps } from "../src/signaling/deps.js";
import { ClientPeer } from "../test/support/client-peer.js";
import { freePort, startRedisServer } from "../test/support/redis-server.js";

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 100);
const CONCURRENCY = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism());
/** the node process's log level: info is what `rtcgw node` runs with by default */
const NODE_LOG_LEVEL = process.env.BENCH_NODE_LOG_LEVEL ?? "info";
const OFFERS = 10;
const SECRET = randomBytes(24).toString("base64url");

/** The bench's HTTP client: node:http on a keep-alive pool. fetch (undici) costs ~0.7 ms of this
 *  process's CPU per request here: 20 concurrent fetches would queue ~14 ms of the driver's own
 *  work into the figures before the last offer even leaves. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}
function send(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? "GET", headers: o.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Target {
  emulatorUrl: string;
  /** control URLs of the node(s) behind it */
  nodeUrls: string[];
  /** pids of the node's processes when they are not this one */
  nodePids?: () => number[];
}

/** utime + stime of a process, ms (Linux /proc, USER_HZ = 100) */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

interface Figures {
  anchor: number[];
  seq: number[];
  conc: number[];
  nodeSeq: number[];
  nodeConc: number[];
  /** sessions each node took in the concurrent rounds (how the pick spread them) */
  spread: Map<string, number>;
  left: number;
  /** CPU per offer in the 20-concurrent rounds, ms: this process (driver + emulator + functions
   *  [+ node, in-process]) and the node's own processes */
  cpu: { here: number; node?: number };
}

/** The measurements, the same for both topologies. */
async function measure(t: Target, offers: string[]): Promise<Figures> {
  let next = 0;
  const created: { url: string; token: string }[] = [];
  const spread = new Map<string, number>();
  const offerOnce = async (): Promise<number> => {
    const offer = offers[next++ % offers.length]!;
    const t0 = performance.now();
    const res = await send(`${t.emulatorUrl}/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: offer,
    });
    const ms = performance.now() - t0;
    if (res.status !== 201) throw new Error(`POST /v1/sessions answered ${res.status}: ${res.text}`);
    created.push({
      url: String(res.headers.location),
      token: String(res.headers["rtcgw-session-token"]),
    });
    return ms;
  };
  /** which node each open session landed on (GET /v1/sessions/{id}, after the clock stopped) */
  const countSpread = async () => {
    for (const s of created) {
      const r = await send(t.emulatorUrl + s.url, { headers: { authorization: `Bearer ${s.token}` } });
      const node = (JSON.parse(r.text) as { nodeId?: string }).nodeId ?? "?";
      spread.set(node, (spread.get(node) ?? 0) + 1);
    }
  };
  const deleteAll = async () => {
    const all = created.splice(0);
    await Promise.all(
      all.map((s) =>
        send(t.emulatorUrl + s.url, { method: "DELETE", headers: { authorization: `Bearer ${s.token}` } }),
      ),
    );
  };
  const health = async () => {
    const t0 = performance.now();
    await send(`${t.emulatorUrl}/v1/health`);
    return performance.now() - t0;
  };

  // attribution: the node's own work, POSTed straight to its control API (no emulator, no
  // function); spread round-robin over the node's workers as an even pick would
  const direct: { nodeUrl: string; id: string }[] = [];
  let rr = 0;
  const nodeOnce = async (): Promise<number> => {
    const nodeUrl = t.nodeUrls[rr++ % t.nodeUrls.length]!;
    const sessionId = randomBytes(16).toString("base64url");
    const body = JSON.stringify({
      sessionId,
      kind: "session",
      profile: "echo",
      offer: offers[next++ % offers.length],
    });
    const t0 = performance.now();
    const res = await send(`${nodeUrl}/internal/sessions`, {
      method: "POST",
      headers: {
        ...signRequest(SECRET, "POST", "/internal/sessions", body),
        "content-type": "application/json",
      },
      body,
    });
    const ms = performance.now() - t0;
    if (res.status !== 201) throw new Error(`control POST answered ${res.status}: ${res.text}`);
    direct.push({ nodeUrl, id: sessionId });
    return ms;
  };
  const deleteDirect = async () => {
    await Promise.all(
      direct.splice(0).map(async ({ nodeUrl, id }) => {
        const path = `/internal/sessions/${id}`;
        await send(nodeUrl + path, { method: "DELETE", headers: signRequest(SECRET, "DELETE", path) });
      }),
    );
  };
  const nodeLoad = async (): Promise<number> => {
    let load = 0;
    for (const u of t.nodeUrls) {
      const r = await send(`${u}/internal/health`, {
        headers: signRequest(SECRET, "GET", "/internal/health"),
      });
      load += (JSON.parse(r.text) as { load: number }).load;
    }
    return load;
  };

  // warm-up (JIT, keep-alive connections on every hop), not measured
  for (let i = 0; i < 10; i++) await offerOnce();
  await deleteAll();
  await Promise.all(Array.from({ length: CONCURRENCY }, () => offerOnce()));
  await deleteAll();
  for (let i = 0; i < 2 * t.nodeUrls.length; i++) await nodeOnce();
  await deleteDirect();

  const anchor: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) anchor.push(await health());

  const seq: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    seq.push(await offerOnce());
    if (created.length >= 20) await deleteAll();
  }
  await deleteAll();

  const conc: number[] = [];
  const here0 = process.cpuUsage();
  const nodeCpu = () => (t.nodePids ? t.nodePids().reduce((sum, pid) => sum + cpuMs(pid), 0) : 0);
  const node0 = nodeCpu();
  for (let r = 0; r < ROUNDS; r++) {
    conc.push(...(await Promise.all(Array.from({ length: CONCURRENCY }, () => offerOnce()))));
    await countSpread();
    await deleteAll();
  }
  // the rounds' deletes and status reads are in these figures too (each offer's session is read
  // once and deleted once): an upper bound on the offer's own cost
  const hereUsage = process.cpuUsage(here0);
  const cpu = {
    here: (hereUsage.user + hereUsage.system) / 1000 / conc.length,
    ...(t.nodePids ? { node: (nodeCpu() - node0) / conc.length } : {}),
  };
  const nodeConc: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    nodeConc.push(...(await Promise.all(Array.from({ length: CONCURRENCY }, () => nodeOnce()))));
    await deleteDirect();
  }
  const nodeSeq: number[] = [];
  for (let i = 0; i < SEQUENTIAL / 2; i++) {
    nodeSeq.push(await nodeOnce());
    await deleteDirect();
  }
  return { anchor, seq, conc, nodeSeq, nodeConc, spread, left: await nodeLoad(), cpu };
}

/** the media node supervisor in its own process, registered in the shared redis registry */
async function startNodeProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/node/main.ts"], {
    env: { ...process.env, ...env },
    // logs go nowhere, as they would to a file: written (the node pays for them), not read
    stdio: ["ignore", "ignore", "inherit"],
  });
  return child;
}

async function waitForNodes(registry: Registry, n: number): Promise<string[]> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const nodes = await registry.listNodes();
    if (nodes.length >= n) return nodes.map((x) => x.controlUrl);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the media node did not register ${n} worker(s) within 30 s`);
}

async function main() {
  const logger = createLogger({ level: "silent" });
  // real client offers (Opus + datachannel), made before the clock starts
  const clients = await Promise.all(Array.from({ length: OFFERS }, () => ClientPeer.create()));
  const offers = clients.map((c) => c.offer);
  const load0 = loadavg()[0]!;

  // 1. deployed topology: node process(es) + redis + emulator/functions here
  const redis = await startRedisServer();
  const nodePort = await freePort();
  const common = {
    RTCGW_REGISTRY: redis.url,
    RTCGW_NODE_SECRET: SECRET,
    RTCGW_NODE_CAPACITY: "1000",
    RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-sigbench-")),
  };
  const nodeProc = await startNodeProcess({
    ...common,
    RTCGW_WORKERS: String(WORKERS),
    NODE_PORT: String(nodePort),
    MEDIA_UDP_PORT: "0",
    LOG_LEVEL: NODE_LOG_LEVEL,
  });
  const config = loadConfig({ ...common, LOG_LEVEL: "silent" });
  const registry = await openRegistry(config.RTCGW_REGISTRY, { logger });
  let deployed: Figures;
  try {
    const nodeUrls = await waitForNodes(registry, WORKERS);
    setSignalingDeps(makeSignalingDeps({ config, registry, logger, nodeSecret: SECRET }));
    const emu = await startEmulator({ handlers: FUNCTION_HANDLERS, logger, port: 0 });
    const workers = () => {
      try {
        const kids = readFileSync(`/proc/${nodeProc.pid}/task/${nodeProc.pid}/children`, "utf8");
        return [nodeProc.pid!, ...kids.trim().split(/\s+/).filter(Boolean).map(Number)];
      } catch {
        return [nodeProc.pid!];
      }
    };
    deployed = await measure({ emulatorUrl: emu.url, nodeUrls, nodePids: workers }, offers);
    await emu.close();
    setSignalingDeps(undefined);
  } finally {
    nodeProc.kill("SIGTERM");
    await new Promise((r) => (nodeProc.exitCode !== null ? r(null) : nodeProc.once("exit", r)));
    await registry.close();
    await redis.stop();
  }

  // 2. everything in this process (`rtcgw dev`), memory registry
  const gateway = await startLocalGateway({
    config: loadConfig({ ...common, RTCGW_REGISTRY: "memory", LOG_LEVEL: "silent" }),
    logger,
  });
  const inProcess = await measure(
    { emulatorUrl: gateway.emulator.url, nodeUrls: [gateway.node.controlUrl] },
    offers,
  );
  await gateway.close();
  const load1 = loadavg()[0]!;

  const row = (name: string, xs: number[], targets: boolean) => {
    const p50 = pct(xs, 50);
    const p99 = pct(xs, 99);
    const verdict = targets
      ? `${p50 <= 20 ? "✓" : "✗"} p50 ≤ 20 · ${p99 <= 60 ? "✓" : "✗"} p99 ≤ 60`
      : "anchor";
    return `| ${name} | ${xs.length} | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms | ${Math.max(...xs).toFixed(1)} ms | ${verdict} |`;
  };
  const rows = (label: string, f: Figures) => [
    row(`${label}: GET /v1/health (anchor)`, f.anchor, false),
    row(`${label}: offer → answer, sequential`, f.seq, true),
    row(`${label}: offer → answer, ${CONCURRENCY} concurrent`, f.conc, true),
    row(`${label}: node control API alone, sequential`, f.nodeSeq, false),
    row(`${label}: node control API alone, ${CONCURRENCY} concurrent`, f.nodeConc, false),
  ];
  const spread = (f: Figures) => [...f.spread.values()].sort((a, b) => b - a).join(" / ");
  process.stdout.write(
    [
      "offer → answer through the emulator with a real media node (POST /v1/sessions, Opus + datachannel offer, echo profile)",
      "",
      `deployed = media node in its own process (${WORKERS} worker${WORKERS === 1 ? "" : "s"}, LOG_LEVEL=${NODE_LOG_LEVEL}) + redis registry; emulator + functions in the bench process`,
      "in-process = `rtcgw dev`: emulator, functions, node, memory registry and the bench's client peers on one event loop",
      "",
      "| what | n | p50 | p99 | max | target |",
      "|---|---:|---:|---:|---:|---|",
      ...rows("deployed", deployed),
      ...rows("in-process", inProcess),
      "",
      `concurrent offers per worker (deployed, pick spread): ${spread(deployed)}`,
      `CPU per offer in the concurrent rounds (incl. its status read and delete): deployed — bench process (driver + emulator + functions) ${deployed.cpu.here.toFixed(1)} ms, node processes ${deployed.cpu.node?.toFixed(1)} ms; in-process — ${inProcess.cpu.here.toFixed(1)} ms`,
      `sessions left on the node(s) after the deletes: deployed ${deployed.left}, in-process ${inProcess.left}`,
      `machine: ${availableParallelism()} cores, 1-min load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after`,
      "",
    ].join("\n"),
  );

  for (const c of clients) await c.close();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`bench:signaling: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
