// npm run bench:sessions — concurrent sessions a media node holds, per profile.
// The node runs in its own process (or the supervisor with --workers N), the load generator in
// another (bench/load/generator.ts). For each N: node CPU (total and per session, from
// /proc/<pid>/stat over the measurement window), loss both ways, event-loop p99 (the node's
// /metrics), late frames, recorded-audio completeness (total WAV length ÷ total audio sent, first packet to the end of the last), and the largest
// N held with < 0.5 % loss and event-loop p99 < 50 ms (and no node process died during the run)
// — printed beside the issue's targets and anchors.
//
//   npm run bench:sessions -- --profiles record,echo --n 50,100,200,400 --duration 10 [--workers 1] [--keep-going]
//
// Bridged sessions (issue 15): profiles `bridge` (rtcgw protocol, 16 kHz PCM) and `bridge-twilio`
// (Twilio Media Streams, base64 μ-law in JSON) start an agent process on the same machine
// (bench/anchors/echo-agent.ts) that echoes every frame back through the protocol; run them beside
// echo in one run (its CPU is printed apart from the node's, and the node's per-direction
// overload counter rtcgw_bridge_audio_lost_seconds_total beside the loss):
//   npm run bench:sessions -- --workers 2 --profiles echo,bridge,bridge-twilio --n 100,200 --duration 8
//   (the same as npm run bench:bridge-density [-- --n … --duration …]: later flags win)
// --cpu-prof-dir DIR: a V8 CPU profile of every node process (supervisor and workers) into DIR.
//
// With --anchors: rtcgw (echo, record, bridge) beside the same-run anchors — the transport floor,
// a naive node-datachannel server, werift, aiortc — each server pinned to one core, the load
// generator to the other (bench/anchors/run.ts, docs/benchmarks.md):
//   npm run bench:sessions -- --anchors [--quick] [--n 10,25,50] [--duration 15] [--only naive,rtcgw:echo]
//                             [--keep-going] [--cpu-prof-dir DIR] [--rounds 3] [--rtcgw-b /other/checkout]
// --rounds K runs every server K times per N, interleaved, and prints medians (CPU per session,
// and each ratio paired within its round); --rtcgw-b runs another checkout's worker beside this
// one's as `rtcgw-b` (an A/B of two trees in the same minutes).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { freeUdpPort } from "../src/node/process/udp-port.js";
import { runAnchors } from "./anchors/run.js";
import { bridgeLostMs, loopP99Ms } from "./load/node-metrics.js";
import { childPids, cpuMs, wakeups } from "./load/proc.js";

const { values: flags } = parseArgs({
  options: {
    profiles: { type: "string", default: "record,echo" },
    n: { type: "string", default: "50,100,200,400" },
    duration: { type: "string", default: "10" },
    workers: { type: "string", default: "1" },
    /** go on to larger N after an N that was not held (default: stop there) */
    "keep-going": { type: "boolean", default: false },
    /** skip the transport-floor anchor run (blackhole at the first N) */
    "no-floor": { type: "boolean", default: false },
    /** rtcgw beside its same-run anchors (bench/anchors/run.ts) */
    anchors: { type: "boolean", default: false },
    /** with --anchors: a short run (N = 10, 25; 4 s windows) to check the harness */
    quick: { type: "boolean", default: false },
    /** with --anchors: only these servers (name or name:profile, comma-separated) */
    only: { type: "string" },
    /** with --anchors: a V8 CPU profile (.cpuprofile) of each node server process into DIR */
    "cpu-prof-dir": { type: "string" },
    /** with --anchors: run each server this many times per N, interleaved; medians reported */
    rounds: { type: "string", default: "1" },
    /** with --anchors: another rtcgw checkout run as `rtcgw-b` beside this one (an A/B) */
    "rtcgw-b": { type: "string" },
  },
});
type BenchProfile = "record" | "echo" | "blackhole" | "bridge" | "bridge-twilio";
const PROFILES = flags.profiles!.split(",") as BenchProfile[];
for (const p of PROFILES)
  if (!["record", "echo", "blackhole", "bridge", "bridge-twilio"].includes(p))
    throw new Error(`unknown profile ${p} (record, echo, blackhole, bridge, bridge-twilio)`);
const NS = flags.n!.split(",").map(Number);
const DURATION_S = Number(flags.duration);
const WORKERS = Number(flags.workers);
const SECRET = "bench-secret-0123456789abcdef";

const TARGETS: Record<string, { n: number; perSession: number } | undefined> = {
  record: { n: 300, perSession: 0.35 },
  echo: { n: 150, perSession: 1.0 },
  // issue 15: bridged sessions on 2 workers, both protocols
  bridge: { n: 200, perSession: 0.8 },
  "bridge-twilio": { n: 200, perSession: 0.8 },
};
const ANCHORS = [
  "aiortc 1.4.0: 4.8 % of a core per session, ~20 sessions (30 % audio lost at 50)",
  "werift: 1.4 % per session, ~50 sessions",
  "naive single-process node-datachannel: 1.0 % per session, ~100 sessions",
];

interface Row {
  profile: string;
  n: number;
  connected: number;
  cpuPct: number;
  perSessionPct: number;
  lossIn: number;
  lossOut: number;
  /** the worst call's share of its return frames lost or skipped (two-way profiles) */
  worstLossOut: number | undefined;
  /** offers still refused (503) after the client's retries */
  refused: number;
  /** sessions connected when a node first answered 503 (the limit where it refused) */
  firstBusyAt: number | undefined;
  /** every 503 answer (retries included) by the load guard's line that drew it (cpu, loop, lag) */
  busyLines?: Record<string, number>;
  loopP99Ms: number;
  late: number;
  completeness: number | undefined;
  /** bridge profiles: the agent process's CPU (% of a core) over the window */
  agentCpuPct?: number;
  /** the load generator's CPU (% of a core) over the window: it shares the node's cores */
  genCpuPct: number;
  /** the node processes' main threads' wake-ups per second over the window (bench/load/proc.ts) */
  wakeupsPerS: number;
  /** bridge profiles: 20 ms frames handed to the agent ÷ packets the clients sent (mean, worst) */
  toAgent?: { mean: number; worst: number };
  /** bridge profiles: the node's overload counter, ms of audio lost per direction and cause */
  lostMs?: Record<string, number>;
  /** the loss out split: RTP sequence numbers missing, and 20 ms frames skipped (a timestamp jump
   *  with no sequence gap: a frame the node did not send, e.g. an empty queue at its tick) */
  outMissing?: number;
  outSkipped?: number;
  /** node processes that died during the run (a crashed worker the supervisor replaced) */
  crashed: number;
  held: boolean;
}

async function freeTcpPort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** the worst event-loop p99 (ms) over the nodes, and sessions torn down so far by reason;
 *  NaN when a node did not answer its /metrics (overloaded or gone) */
async function scrape(
  urls: string[],
): Promise<{ p99: number; teardowns: Record<string, number>; lostMs: Record<string, number> }> {
  let worst = 0;
  const teardowns: Record<string, number> = {};
  const lostMs: Record<string, number> = {};
  for (const u of urls) {
    try {
      const text = await (await fetch(`${u}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      worst = Math.max(worst, loopP99Ms(text) ?? 0);
      for (const t of text.matchAll(/rtcgw_session_teardowns_total\{[^}]*reason="([^"]+)"[^}]*\} (\d+)/g))
        teardowns[t[1]!] = (teardowns[t[1]!] ?? 0) + Number(t[2]);
      // packets libdatachannel refused on send: a loss-out cause on the node itself
      const sf = /rtcgw_rtp_packets_total\{[^}]*direction="send-failed"[^}]*\} (\d+)/.exec(text);
      if (sf) teardowns["(send-failed packets)"] = (teardowns["(send-failed packets)"] ?? 0) + Number(sf[1]);
      // bridged calls: audio lost per direction (to-agent / to-caller) and cause, summed over workers
      bridgeLostMs(text, lostMs);
    } catch {
      worst = Number.NaN;
    }
  }
  return { p99: worst, teardowns, lostMs };
}

async function waitReady(urls: string[]) {
  // two workers under tsx take ~14 s to answer on a loaded 2-core machine
  const deadline = Date.now() + 60_000;
  for (const u of urls) {
    while (true) {
      try {
        if ((await fetch(`${u}/metrics`)).ok) break;
      } catch {}
      if (Date.now() > deadline) throw new Error(`node ${u} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function wavSeconds(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (f.endsWith(".wav")) {
        const h = readFileSync(p).subarray(0, 44);
        const rate = h.readUInt32LE(24);
        const channels = h.readUInt16LE(22);
        total += (st.size - 44) / (rate * channels * 2);
      }
    }
  };
  walk(dir);
  return total;
}

/** the bridge profiles' agent: its own process, echoing through the protocol; READY <port> */
async function startAgent(protocol: "rtcgw" | "twilio"): Promise<{ p: ChildProcess; port: number }> {
  const p = spawn(
    process.execPath,
    ["--import", "tsx", "bench/anchors/echo-agent.ts", "--protocol", protocol],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  // a bench that fails half-way must not leave its agent behind
  const kill = () => p.kill("SIGKILL");
  process.once("exit", kill);
  p.once("exit", () => process.off("exit", kill));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("the echo agent did not start")), 30_000);
    createInterface({ input: p.stdout! }).on("line", (l) => {
      const m = /^READY (\d+)/.exec(l);
      if (m) {
        clearTimeout(t);
        resolve({ p, port: Number(m[1]) });
      }
    });
    p.once("exit", (c) => reject(new Error(`the echo agent exited ${c}`)));
  });
}

async function runOne(profile: Row["profile"], n: number): Promise<Row> {
  const recordings = mkdtempSync(join(tmpdir(), "rtcgw-bench-rec-"));
  const bridged = profile === "bridge" || profile === "bridge-twilio";
  const protocol = profile === "bridge-twilio" ? "twilio" : "rtcgw";
  const agent = bridged ? await startAgent(protocol) : undefined;
  const bridgeUrl = agent ? `ws://127.0.0.1:${agent.port}/agent` : undefined;
  const nodePort = await freeTcpPort();
  const udp = await freeUdpPort("127.0.0.1");
  const urls = Array.from({ length: WORKERS }, (_, i) => `http://127.0.0.1:${nodePort + i}`);
  const node: ChildProcess = spawn(
    process.execPath,
    [
      // every node process writes a profile (the supervisor forks its workers with its execArgv)
      ...(flags["cpu-prof-dir"] ? ["--cpu-prof", `--cpu-prof-dir=${flags["cpu-prof-dir"]}`] : []),
      "--import",
      "tsx",
      WORKERS > 1 ? "src/node/process/main.ts" : "src/node/process/worker.ts",
    ],
    {
      env: {
        ...process.env,
        RTCGW_REGISTRY: "memory",
        RTCGW_NODE_SECRET: SECRET,
        NODE_PORT: String(nodePort),
        MEDIA_UDP_PORT: String(udp),
        RTCGW_WORKERS: String(WORKERS),
        RTCGW_NODE_CAPACITY: "5000",
        RTCGW_CONNECT_TIMEOUT: "30",
        RTCGW_MEDIA_TIMEOUT: "30",
        RTCGW_DRAIN_TIMEOUT: "1",
        RECORDINGS_DIR: recordings,
        LOG_LEVEL: "error",
        ...(bridgeUrl ? { RTCGW_BRIDGE_ALLOW: bridgeUrl } : {}),
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const spawnedAt = performance.now();
  const nodeExit = new Promise((r) => node.once("exit", r));
  await waitReady(urls);
  const pids = WORKERS > 1 ? childPids(node.pid!) : [node.pid!];

  const gen = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/load/generator.ts",
      JSON.stringify({
        controlUrls: urls,
        secret: SECRET,
        n,
        profile: bridged ? "bridge" : profile,
        durationS: DURATION_S,
        ...(bridgeUrl ? { bridgeUrl, bridgeProtocol: protocol } : {}),
      }),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let cpu0 = 0;
  let t0 = 0;
  let cpuPct = 0;
  let p99 = 0;
  // biome-ignore lint/suspicious/noExplicitAny: the generator's JSON lines are read field by field
  let result: Record<string, any> = {};
  let connected = 0;
  let agent0 = 0;
  let agentCpuPct: number | undefined;
  let gen0 = 0;
  let genCpuPct = 0;
  let wake0 = 0;
  let wakeupsPerS = 0;
  let lost0: Record<string, number> = {};
  let lostMs: Record<string, number> | undefined;
  for await (const line of createInterface({ input: gen.stdout! })) {
    // biome-ignore lint/suspicious/noExplicitAny: the generator's JSON lines are read field by field
    let msg: Record<string, any>;
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (msg.type === "CONNECTED") {
      connected = msg.sessions;
      process.stderr.write(
        `  ${profile} N=${n}: ${msg.sessions} connected (${msg.failed} failed) in ${msg.setupMs} ms\n`,
      );
    } else if (msg.type === "WINDOW_START") {
      lost0 = (await scrape(urls)).lostMs; // a scrape resets the node's event-loop histogram
      cpu0 = pids.reduce((a, p) => a + cpuMs(p), 0);
      if (agent) agent0 = cpuMs(agent.p.pid!);
      gen0 = cpuMs(gen.pid!);
      wake0 = pids.reduce((a, p) => a + wakeups(p), 0);
      t0 = performance.now();
    } else if (msg.type === "WINDOW_END") {
      const cpu1 = pids.reduce((a, p) => a + cpuMs(p), 0);
      const dt = performance.now() - t0;
      cpuPct = ((cpu1 - cpu0) / dt) * 100;
      if (agent) agentCpuPct = ((cpuMs(agent.p.pid!) - agent0) / dt) * 100;
      genCpuPct = ((cpuMs(gen.pid!) - gen0) / dt) * 100;
      wakeupsPerS = ((pids.reduce((a, p) => a + wakeups(p), 0) - wake0) / dt) * 1000;
      // the window as offsets in the node's profile (a forked worker starts ~1 s after its
      // supervisor: with --workers 2 read them as approximate), for bench/anchors/profile-top.ts
      if (flags["cpu-prof-dir"])
        process.stderr.write(
          `  cpu-prof: node pid ${node.pid} (workers ${pids.join(", ")}), window ${((t0 - spawnedAt) / 1000).toFixed(1)}–${((t0 + dt - spawnedAt) / 1000).toFixed(1)} s after its start\n`,
        );
      const sc = await scrape(urls);
      p99 = sc.p99;
      // the audio the node counted as lost during the window, per direction and cause
      if (bridged)
        lostMs = Object.fromEntries(
          Object.entries(sc.lostMs)
            .map(([k, v]) => [k, v - (lost0[k] ?? 0)] as const)
            .filter(([, v]) => v > 0),
        );
      // sessions the node tore down during the run (watchdog under overload …) explain a loss
      if (Object.keys(sc.teardowns).length)
        process.stderr.write(`  torn down during the run / send failures: ${JSON.stringify(sc.teardowns)}\n`);
    } else if (msg.type === "RESULT") result = msg;
    else if (msg.type === "ERROR") process.stderr.write(`  generator error: ${msg.message}\n`);
  }
  let completeness: number | undefined;
  if (profile === "record" && result.callSeconds) {
    await new Promise((r) => setTimeout(r, 500)); // files are finalised on DELETE
    const callS = Object.values(result.callSeconds as Record<string, number>).reduce((a, b) => a + b, 0);
    completeness = callS > 0 ? wavSeconds(recordings) / callS : 0;
  }
  // a worker that died during the run (the supervisor restarts it under a new pid; a lone worker
  // just exits) took its sessions and its CPU figures with it: the run cannot count as held
  const alive =
    WORKERS > 1 ? new Set(childPids(node.pid!)) : new Set(node.exitCode === null ? [node.pid!] : []);
  const crashed = pids.filter((p) => !alive.has(p)).length;
  if (crashed) process.stderr.write(`  ${crashed} node process(es) died during the run\n`);
  node.kill("SIGTERM");
  await nodeExit;
  if (agent) {
    const gone = new Promise((r) => agent.p.once("exit", r));
    agent.p.kill("SIGTERM");
    await gone;
  }
  rmSync(recordings, { recursive: true, force: true });
  const lossIn = Number(result.lossIn ?? 1);
  const lossOut = Number(result.lossOut ?? 0);
  const perSessionPct = connected > 0 ? cpuPct / connected : 0;
  const toAgent = bridged ? (result.audioIn as { mean: number; worst: number } | undefined) : undefined;
  return {
    profile,
    n,
    connected,
    cpuPct,
    perSessionPct,
    lossIn,
    lossOut,
    worstLossOut: result.worstLossOut === undefined ? undefined : Number(result.worstLossOut),
    refused: Number(result.refused ?? 0),
    firstBusyAt: result.firstBusyAt === undefined ? undefined : Number(result.firstBusyAt),
    ...(result.busyLines && Object.keys(result.busyLines).length ? { busyLines: result.busyLines } : {}),
    loopP99Ms: p99,
    late: Number(result.late ?? 0),
    completeness,
    crashed,
    ...(agentCpuPct !== undefined ? { agentCpuPct } : {}),
    genCpuPct,
    wakeupsPerS,
    ...(toAgent ? { toAgent } : {}),
    ...(lostMs ? { lostMs } : {}),
    outMissing: Number(result.missingOut ?? 0),
    outSkipped: Number(result.skippedOut ?? 0),
    held:
      crashed === 0 &&
      connected === n &&
      lossIn < 0.005 &&
      lossOut < 0.005 &&
      p99 < 50 &&
      // a bridged session also hands ≥ 99.5 % of the caller's 20 ms frames to the agent
      (!bridged || (toAgent !== undefined && toAgent.mean >= 0.995)),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const lostText = (l: Record<string, number>) =>
  Object.keys(l).length
    ? Object.entries(l)
        .map(([k, v]) => `${k} ${Math.round(v)}`)
        .join(", ")
    : "none";
/** a bridged row's extra figures: frames to the agent, the agent's CPU, the node's loss counter */
const bridgeText = (r: Row) =>
  r.toAgent
    ? `  to agent ${pct(r.toAgent.mean)} (worst ${pct(r.toAgent.worst)})  agent CPU ${r.agentCpuPct?.toFixed(1)} %  lost ${lostText(r.lostMs ?? {})}  out: ${r.outMissing} missing, ${r.outSkipped} skipped frames`
    : "";
/** the node's limit and what the calls it kept lost: "503 at 212, 88 refused; worst call 0.12 %" */
const saturation = (r: Row) =>
  `${r.firstBusyAt !== undefined ? `503 first at ${r.firstBusyAt} accepted, ${r.refused} refused (503s by line: ${lostText(r.busyLines ?? {})})` : "no 503"}${r.worstLossOut !== undefined ? `; worst call lost ${pct(r.worstLossOut)} out` : ""}`;

/** the bare Opus decode (WASM, straight to 16 kHz as record and echo do) in µs per 20 ms packet */
async function bareDecodeUs(): Promise<number> {
  const { OpusDecoder } = await import("../src/audio/codecs/opus.js");
  const { opusTonePackets } = await import("../test/support/rtp-stream.js");
  const packets = Array.from({ length: 5 }, () => opusTonePackets(440)).flat(); // 10 s of a tone
  // warm up first: V8 runs WASM on its baseline compiler until the optimised code is ready
  const warm = new OpusDecoder({ rate: 16000 });
  for (let i = 0; i < 4; i++) for (const p of packets) warm.decode(p);
  warm.destroy();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const dec = new OpusDecoder({ rate: 16000 });
    const t = process.cpuUsage();
    for (const p of packets) dec.decode(p);
    const d = process.cpuUsage(t);
    dec.destroy();
    best = Math.min(best, (d.user + d.system) / packets.length);
  }
  return best;
}

async function main() {
  console.log(
    `rtcgw bench:sessions — ${WORKERS} node process(es), ${DURATION_S} s window, N = ${NS.join(", ")}, profiles ${PROFILES.join(", ")}`,
  );
  const rows: Row[] = [];
  // anchor: the transport's own floor in the same run — node-datachannel peers receiving
  // (blackhole: packets counted, nothing decoded) — at the first N
  if (!PROFILES.includes("blackhole") && !flags["no-floor"]) {
    const floor = await runOne("blackhole", NS[0]!);
    rows.push(floor);
    console.log(
      `floor     N=${String(floor.n).padStart(4)}  node CPU ${floor.cpuPct.toFixed(1).padStart(6)} % (${floor.perSessionPct.toFixed(3)} %/session): node-datachannel receiving, nothing decoded`,
    );
  }
  for (const profile of PROFILES) {
    for (const n of NS) {
      const row = await runOne(profile, n);
      rows.push(row);
      console.log(
        `${profile.padEnd(9)} N=${String(n).padStart(4)}  connected ${String(row.connected).padStart(4)}  node CPU ${row.cpuPct.toFixed(1).padStart(6)} % (${row.perSessionPct.toFixed(3)} %/session)  loss in ${pct(row.lossIn)} out ${pct(row.lossOut)}  loop p99 ${row.loopP99Ms.toFixed(1)} ms  loop wake-ups ${Math.round(row.wakeupsPerS)}/s  generator CPU ${row.genCpuPct.toFixed(1)} %  late ${row.late}${row.completeness !== undefined ? `  recorded ${pct(row.completeness)}` : ""}${bridgeText(row)}  ${saturation(row)}  ${row.held ? "held" : "NOT held"}`,
      );
      if (!row.held && !flags["keep-going"]) break;
    }
  }
  console.log(
    "\n| profile | N | connected | node CPU (% of a core) | per session | loss in | loss out | worst call out | first 503 at / refused | loop p99 | late frames | recorded | to agent (mean / worst) | agent CPU | lost (node's counter, ms) | held |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.profile} | ${r.n} | ${r.connected} | ${r.cpuPct.toFixed(1)} | ${r.perSessionPct.toFixed(3)} % | ${pct(r.lossIn)} | ${pct(r.lossOut)} | ${r.worstLossOut !== undefined ? pct(r.worstLossOut) : "–"} | ${r.firstBusyAt !== undefined ? `${r.firstBusyAt} / ${r.refused}` : "–"} | ${r.loopP99Ms.toFixed(1)} ms | ${r.late} | ${r.completeness !== undefined ? pct(r.completeness) : "–"} | ${r.toAgent ? `${pct(r.toAgent.mean)} / ${pct(r.toAgent.worst)}` : "–"} | ${r.agentCpuPct !== undefined ? `${r.agentCpuPct.toFixed(1)} %` : "–"} | ${r.lostMs ? lostText(r.lostMs) : "–"} | ${r.held ? "yes" : "no"} |`,
    );
  console.log("");
  for (const profile of PROFILES) {
    const held = rows.filter((r) => r.profile === profile && r.held);
    const best = held.at(-1);
    const t = TARGETS[profile];
    console.log(
      `${profile}: largest N held ${best ? best.n : "none"}${best ? ` at ${best.perSessionPct.toFixed(3)} % of a core per session` : ""}${t ? `   (target ≥ ${t.n} at ≤ ${t.perSession} %)` : ""}`,
    );
  }
  console.log("anchors (issue 6, same machine and load generator):");
  for (const a of ANCHORS) console.log(`  ${a}`);
  const floor = rows.find((r) => r.profile === "blackhole" && r.held);
  if (floor) {
    // what the record target leaves for the pipeline once the transport has taken its share
    const decodeUs = await bareDecodeUs();
    const decodePct = (decodeUs * 50) / 1e4; // 50 packets/s, µs → % of a core
    console.log(
      `floor (this run): transport ${floor.perSessionPct.toFixed(3)} %/session + bare Opus decode ${decodeUs.toFixed(1)} µs × 50/s = ${decodePct.toFixed(3)} % → ${(floor.perSessionPct + decodePct).toFixed(3)} % of a core per session before any repair, resampling or writing (record target ${TARGETS.record!.perSession} %)`,
    );
  }
}

const explicit = (flag: string) => process.argv.some((a) => a === flag || a.startsWith(`${flag}=`));
(flags.anchors
  ? runAnchors({
      quick: flags.quick!,
      ...(explicit("--n") ? { ns: NS } : {}),
      ...(explicit("--duration") ? { durationS: DURATION_S } : {}),
      ...(flags.only ? { only: flags.only.split(",") } : {}),
      keepGoing: flags["keep-going"]!,
      ...(flags["cpu-prof-dir"] ? { cpuProfDir: flags["cpu-prof-dir"] } : {}),
      rounds: Number(flags.rounds),
      ...(flags["rtcgw-b"] ? { treeB: flags["rtcgw-b"] } : {}),
    })
  : main()
).catch((e) => {
  console.error(e);
  process.exit(1);
});
