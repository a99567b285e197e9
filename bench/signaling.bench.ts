// `npm run bench:signaling`: offer → answer latency through the emulator (HTTP → payload-2.0
// event → function → signed control API → a real media node answering with node-datachannel),
// p50 and p99, sequential and 20 concurrent; every session is deleted afterwards. Targets:
// p50 ≤ 20 ms, p99 ≤ 60 ms.
//
// Two topologies, each with its anchors measured in the same run:
//  1. deployed: the media node in its own process (`src/node/process/main.ts`, the supervisor `rtcgw node`
//     runs: one worker per core unless BENCH_WORKERS says otherwise), the emulator + functions in
//     this process, a real redis-server as the registry both share (as `rtcgw signaling` +
//     `rtcgw node`). In production these are different machines; here they share 2 cores.
//  2. in-process: `rtcgw dev` (startLocalGateway: emulator, functions, node, memory registry and
//     this driver's client peers on one event loop) — kept as a second row.
// Anchors: GET /v1/health through the same emulator (HTTP + event + function + registry, no node
// work), and the node's control API alone (POST /internal/sessions signed, no emulator/function).
// The client (bench/load/http-driver.ts) runs in its own process in both, as a client would: timed
// on the gateway's event loop, an answer already sent would wait there behind the next offers.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
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
import { type DriverRequest, type HttpDriver, sendHttp, startHttpDriver } from "./load/http-driver.js";
import { childPids, cpuMs } from "./load/proc.js";

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 100);
const CONCURRENCY = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
/** unmeasured 20-offer bursts (and as many straight to the node) before the measured ones */
const WARMUP_BURSTS = Number(process.env.BENCH_WARMUP ?? 20);
const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism());
/** the node process's log level: info is what `rtcgw node` runs with by default */
const NODE_LOG_LEVEL = process.env.BENCH_NODE_LOG_LEVEL ?? "info";
const OFFERS = 10;
const SECRET = randomBytes(24).toString("base64url");

/** untimed requests (status reads, deletes) from this process, on the driver's keep-alive client */
const send = (url: string, o: Omit<DriverRequest, "url"> = {}) => sendHttp({ url, ...o });

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

interface Figures {
  /** the first 20-concurrent burst after start (before the warm-up) */
  firstBurst: number[];
  anchor: number[];
  seq: number[];
  conc: number[];
  nodeSeq: number[];
  nodeConc: number[];
  /** sessions each node took in the concurrent rounds (how the pick spread them) */
  spread: Map<string, number>;
  left: number;
  /** CPU per offer in the 20-concurrent bursts, ms: this process (emulator + functions [+ node,
   *  in-process]), the client driver's process, and the node's own processes */
  cpu: { here: number; driver: number; node?: number };
}

/** The measurements, the same for both topologies. Every timed request goes through the driver
 *  (its own process); status reads and deletes, untimed, are sent from here. */
async function measure(t: Target, driver: HttpDriver, offers: string[]): Promise<Figures> {
  let next = 0;
  const created: { url: string; token: string }[] = [];
  const spread = new Map<string, number>();
  const offerRequest = (): DriverRequest => ({
    url: `${t.emulatorUrl}/v1/sessions`,
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: offers[next++ % offers.length]!,
  });
  const offerBurst = async (n: number, mode: "concurrent" | "sequential"): Promise<number[]> => {
    const replies = await driver.run({ mode, requests: Array.from({ length: n }, offerRequest) });
    for (const r of replies) {
      if (r.status !== 201) throw new Error(`POST /v1/sessions answered ${r.status}: ${r.text}`);
      created.push({ url: String(r.headers.location), token: String(r.headers["rtcgw-session-token"]) });
    }
    return replies.map((r) => r.ms);
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

  // attribution: the node's own work, POSTed straight to its control API (no emulator, no
  // function); spread round-robin over the node's workers as an even pick would
  const direct: { nodeUrl: string; id: string }[] = [];
  let rr = 0;
  const nodeBurst = async (n: number, mode: "concurrent" | "sequential"): Promise<number[]> => {
    const requests: DriverRequest[] = [];
    for (let i = 0; i < n; i++) {
      const nodeUrl = t.nodeUrls[rr++ % t.nodeUrls.length]!;
      const sessionId = randomBytes(16).toString("base64url");
      const body = JSON.stringify({
        sessionId,
        kind: "session",
        profile: "echo",
        offer: offers[next++ % offers.length],
      });
      requests.push({
        url: `${nodeUrl}/internal/sessions`,
        method: "POST",
        headers: {
          ...signRequest(SECRET, "POST", "/internal/sessions", body),
          "content-type": "application/json",
        },
        body,
      });
      direct.push({ nodeUrl, id: sessionId });
    }
    const replies = await driver.run({ mode, requests });
    for (const r of replies)
      if (r.status !== 201) throw new Error(`control POST answered ${r.status}: ${r.text}`);
    return replies.map((r) => r.ms);
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

  // The first burst after start, reported on its own: code not yet optimised by the JIT, first
  // keep-alive connections on every hop. Then a warm-up, not measured: the targets are about a
  // gateway in service, whose hot paths have run thousands of times (cold start has its own bench).
  const firstBurst = await offerBurst(CONCURRENCY, "concurrent");
  await deleteAll();
  for (let i = 0; i < WARMUP_BURSTS; i++) {
    await offerBurst(CONCURRENCY, "concurrent");
    await deleteAll();
    await nodeBurst(CONCURRENCY, "concurrent");
    await deleteDirect();
  }

  const anchor = (
    await driver.run({
      mode: "sequential",
      requests: Array.from({ length: SEQUENTIAL }, () => ({ url: `${t.emulatorUrl}/v1/health` })),
    })
  ).map((r) => r.ms);

  const seq: number[] = [];
  while (seq.length < SEQUENTIAL) {
    seq.push(...(await offerBurst(Math.min(20, SEQUENTIAL - seq.length), "sequential")));
    await deleteAll();
  }

  // CPU of the offers alone: sampled around each burst (after a short settle for the node's
  // post-answer registry write), not around the status reads and deletes that follow it
  const conc: number[] = [];
  const nodeCpu = () => (t.nodePids ? t.nodePids().reduce((sum, pid) => sum + cpuMs(pid), 0) : 0);
  const hereCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const cpu = { here: 0, driver: 0, node: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const [here0, driver0, node0] = [hereCpu(), await driver.cpuMs(), nodeCpu()];
    conc.push(...(await offerBurst(CONCURRENCY, "concurrent")));
    await new Promise((res) => setTimeout(res, 100));
    cpu.here += hereCpu() - here0;
    cpu.driver += (await driver.cpuMs()) - driver0;
    cpu.node += nodeCpu() - node0;
    await countSpread();
    await deleteAll();
  }
  const nodeConc: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    nodeConc.push(...(await nodeBurst(CONCURRENCY, "concurrent")));
    await deleteDirect();
  }
  const nodeSeq: number[] = [];
  while (nodeSeq.length < SEQUENTIAL / 2) {
    nodeSeq.push(...(await nodeBurst(10, "sequential")));
    await deleteDirect();
  }
  const perOffer = (ms: number) => ms / conc.length;
  return {
    firstBurst,
    anchor,
    seq,
    conc,
    nodeSeq,
    nodeConc,
    spread,
    left: await nodeLoad(),
    cpu: {
      here: perOffer(cpu.here),
      driver: perOffer(cpu.driver),
      ...(t.nodePids ? { node: perOffer(cpu.node) } : {}),
    },
  };
}

/** the media node supervisor in its own process, registered in the shared redis registry */
async function startNodeProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/node/process/main.ts"], {
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
  const driver = startHttpDriver();

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
    const workers = () => [nodeProc.pid!, ...childPids(nodeProc.pid!)];
    deployed = await measure({ emulatorUrl: emu.url, nodeUrls, nodePids: workers }, driver, offers);
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
    driver,
    offers,
  );
  await gateway.close();
  const load1 = loadavg()[0]!;

  const row = (name: string, xs: number[], kind: "target" | "anchor" | "info") => {
    const p50 = pct(xs, 50);
    const p99 = pct(xs, 99);
    const verdict =
      kind === "target" ? `${p50 <= 20 ? "✓" : "✗"} p50 ≤ 20 · ${p99 <= 60 ? "✓" : "✗"} p99 ≤ 60` : kind;
    return `| ${name} | ${xs.length} | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms | ${Math.max(...xs).toFixed(1)} ms | ${verdict} |`;
  };
  const rows = (label: string, f: Figures) => [
    row(`${label}: GET /v1/health (anchor)`, f.anchor, "anchor"),
    row(`${label}: offer → answer, sequential`, f.seq, "target"),
    row(`${label}: offer → answer, ${CONCURRENCY} concurrent`, f.conc, "target"),
    row(
      `${label}: offer → answer, first ${CONCURRENCY} concurrent after start (cold JIT)`,
      f.firstBurst,
      "info",
    ),
    row(`${label}: node control API alone, sequential`, f.nodeSeq, "anchor"),
    row(`${label}: node control API alone, ${CONCURRENCY} concurrent`, f.nodeConc, "anchor"),
  ];
  const spread = (f: Figures) => [...f.spread.values()].sort((a, b) => b - a).join(" / ");
  process.stdout.write(
    [
      "offer → answer through the emulator with a real media node (POST /v1/sessions, Opus + datachannel offer, echo profile)",
      "",
      `deployed = media node in its own process (${WORKERS} worker${WORKERS === 1 ? "" : "s"}, LOG_LEVEL=${NODE_LOG_LEVEL}) + redis registry; emulator + functions in the bench process`,
      "in-process = `rtcgw dev`: emulator, functions, node and memory registry on one event loop",
      "the client: its own process (bench/load/http-driver.ts), node:http keep-alive",
      "",
      "| what | n | p50 | p99 | max | target |",
      "|---|---:|---:|---:|---:|---|",
      ...rows("deployed", deployed),
      ...rows("in-process", inProcess),
      "",
      `concurrent offers per worker (deployed, pick spread): ${spread(deployed)}`,
      `CPU per offer in the 20-concurrent bursts: deployed — emulator + functions ${deployed.cpu.here.toFixed(2)} ms, node processes ${deployed.cpu.node?.toFixed(2)} ms, client driver ${deployed.cpu.driver.toFixed(2)} ms; in-process — gateway ${inProcess.cpu.here.toFixed(2)} ms, client driver ${inProcess.cpu.driver.toFixed(2)} ms`,
      `sessions left on the node(s) after the deletes: deployed ${deployed.left}, in-process ${inProcess.left}`,
      `machine: ${availableParallelism()} cores, 1-min load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after`,
      "",
    ].join("\n"),
  );

  for (const c of clients) await c.close();
  driver.close();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`bench:signaling: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
