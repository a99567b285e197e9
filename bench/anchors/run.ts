// `npm run bench:sessions -- --anchors [--quick]`: rtcgw beside its anchors, in one run, driven by
// one load generator (bench/load/generator.ts: node-datachannel clients sending the same
// pre-encoded Opus 440 Hz at 50 packets/s). Every server runs pinned to core 1 (`taskset -c 1`),
// the generator (and this process, and the bridge's agent) on core 0: each server gets exactly
// one core and never shares it with the load.
//
// Servers (what each does: bench/anchors/*.ts, aiortc_server.py, docs/benchmarks.md):
//   floor-recv / floor-echo   the naive node-datachannel server receiving (and sending back) RTP,
//                             nothing decoded: the transport floor
//   naive                     node-datachannel + @evan/opus, linear resampling, WAV / encode back
//   werift                    werift (npm) + @evan/opus, the same work
//   aiortc                    Debian's python3-aiortc with its own codecs and PyAV
//   rtcgw                     `src/node/process/worker.ts` (one node process, as bench:sessions starts it),
//                             profiles record, echo and bridge (an echoing agent over the
//                             bridge's WebSocket protocol)
// For each server and N: CPU of the server's process tree over the window (% of its core, and
// per session), event-loop utilisation (node servers) or loop lag (aiortc), loss both ways,
// audio completeness both ways (over the window), and "held"; then an idle figure per server, the
// bare Opus decode on the same core, and the ratios rtcgw ÷ each anchor at equal N.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freeUdpPort } from "../../src/node/process/udp-port.js";
import { bridgeLostMs, loopP99Ms } from "../load/node-metrics.js";
import { childPids, cpuMs } from "../load/proc.js";

export interface AnchorsOptions {
  quick: boolean;
  ns?: number[];
  durationS?: number;
  /** server names to run (default all) */
  only?: string[];
  keepGoing: boolean;
  /** write a V8 CPU profile of every node server process (rtcgw and the node anchors) here */
  cpuProfDir?: string;
  /**
   * Run every server this many times at each N, interleaved (round 1: each server once, round 2:
   * each again, …), and report medians: on a VM whose speed swings ±30 % from minute to minute, a
   * ratio of two single runs says little, the median of ratios paired within a round more.
   */
  rounds?: number;
  /** another checkout of rtcgw (with its node_modules) run as the server `rtcgw-b`, interleaved
   *  with this one: an A/B of two trees in one run */
  treeB?: string;
}

type GenProfile = "echo" | "record" | "blackhole" | "bridge";
interface Server {
  name: string;
  /** the rtcgw profile, or the anchor mode */
  profile: string;
  kind: "anchor-node" | "anchor-python" | "rtcgw";
  gen: GenProfile;
  script?: string;
  offerCandidates?: boolean;
  /** the profile of rtcgw it anchors (for the ratios) */
  anchors?: "echo" | "record";
  /** rtcgw: the checkout whose worker runs (default this one) */
  tree?: string;
  /** added to the server's environment */
  env?: Record<string, string>;
  /** run only when --only names it (a variant, not one of the issue's anchors) */
  optIn?: boolean;
}

const SERVERS: Server[] = [
  {
    name: "floor-recv",
    profile: "floor-recv",
    kind: "anchor-node",
    gen: "record",
    script: "bench/anchors/naive.ts",
  },
  {
    name: "floor-echo",
    profile: "floor-echo",
    kind: "anchor-node",
    gen: "echo",
    script: "bench/anchors/naive.ts",
  },
  {
    name: "naive",
    profile: "record",
    kind: "anchor-node",
    gen: "record",
    script: "bench/anchors/naive.ts",
    anchors: "record",
  },
  {
    name: "naive",
    profile: "echo",
    kind: "anchor-node",
    gen: "echo",
    script: "bench/anchors/naive.ts",
    anchors: "echo",
  },
  {
    name: "werift",
    profile: "record",
    kind: "anchor-node",
    gen: "record",
    script: "bench/anchors/werift.ts",
    offerCandidates: true,
    anchors: "record",
  },
  {
    name: "werift",
    profile: "echo",
    kind: "anchor-node",
    gen: "echo",
    script: "bench/anchors/werift.ts",
    offerCandidates: true,
    anchors: "echo",
  },
  {
    name: "aiortc",
    profile: "record",
    kind: "anchor-python",
    gen: "record",
    script: "bench/anchors/aiortc_server.py",
    offerCandidates: true,
    anchors: "record",
  },
  {
    name: "aiortc",
    profile: "echo",
    kind: "anchor-python",
    gen: "echo",
    script: "bench/anchors/aiortc_server.py",
    offerCandidates: true,
    anchors: "echo",
  },
  // the naive echo with the encoder rtcgw runs by default (@evan/opus's native addon, not its WASM)
  {
    name: "naive-native",
    profile: "echo",
    kind: "anchor-node",
    gen: "echo",
    script: "bench/anchors/naive.ts",
    anchors: "echo",
    env: { NAIVE_OPUS_ENCODER: "native" },
    optIn: true,
  },
  { name: "rtcgw", profile: "record", kind: "rtcgw", gen: "record" },
  { name: "rtcgw", profile: "echo", kind: "rtcgw", gen: "echo" },
  { name: "rtcgw", profile: "bridge", kind: "rtcgw", gen: "bridge" },
  // rtcgw with its encoder on WASM (RTCGW_OPUS_ENCODER=wasm): what the native encoder buys, same run
  {
    name: "rtcgw-wasm",
    profile: "echo",
    kind: "rtcgw",
    gen: "echo",
    env: { RTCGW_OPUS_ENCODER: "wasm" },
    optIn: true,
  },
  {
    name: "rtcgw-wasm",
    profile: "bridge",
    kind: "rtcgw",
    gen: "bridge",
    env: { RTCGW_OPUS_ENCODER: "wasm" },
    optIn: true,
  },
];

/** held: every session connected, ≥ 99.5 % of the audio both ways (mean over sessions, over the
 *  window; packets both ways as well), and the server below 95 % of its one core */
const HELD = { audio: 0.995, lossMax: 0.005, cpuMax: 95 };

interface Row {
  server: string;
  /** the round this run belongs to (--rounds); a summary row has none */
  round?: number;
  /** a summary row: the rounds held of those run */
  heldRounds?: [number, number];
  profile: string;
  n: number;
  connected: number;
  cpuPct: number;
  perSession: number;
  /** event-loop utilisation 0..1 (node servers) */
  elu?: number;
  loopP99Ms?: number;
  lossIn: number;
  lossOut?: number;
  /** the worst call's share of its return frames lost or skipped */
  worstLossOut?: number;
  /** rtcgw: offers still refused (503 node-busy) after the client's retries */
  refused?: number;
  /** rtcgw: sessions connected when the node first answered 503 (where it drew its line) */
  firstBusyAt?: number;
  audioIn?: { mean: number; worst: number };
  audioOut?: { mean: number; worst: number };
  /** rtcgw bridge: the node's own count of the agent's and caller's audio dropped or sent late
   *  over the window, ms by "direction/cause" over `calls` calls (a summary: the worst round's) */
  bridgeLost?: { ms: Record<string, number>; calls: number };
  genCpuPct: number;
  agentCpuPct?: number;
  held: boolean;
  why: string[];
}

const SECRET = "bench-secret-0123456789abcdef";
const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a process and all its descendants */
function tree(pid: number): number[] {
  const out = [pid];
  for (const c of childPids(pid)) out.push(...tree(c));
  return out;
}
const treeCpuMs = (pid: number) => tree(pid).reduce((a, p) => a + cpuMs(p), 0);

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

/** spawn pinned to a core; resolves with the port once it prints READY <port> */
function spawnReady(
  core: number,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ p: ChildProcess; port: number }> {
  const p = spawn("taskset", ["-c", String(core), ...argv], { env, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${argv.join(" ")} did not start`)), 30_000);
    createInterface({ input: p.stdout! }).on("line", (l) => {
      const m = /^READY (\d+)/.exec(l);
      if (m) {
        clearTimeout(t);
        resolve({ p, port: Number(m[1]) });
      }
    });
    p.once("exit", (c) => reject(new Error(`${argv.join(" ")} exited ${c}`)));
  });
}

async function stop(p: ChildProcess) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(t);
}

/** what a server's own metrics say about the window (rtcgw nodes) */
interface WindowFigures {
  elu?: number;
  loopP99Ms?: number;
  /** the bridge's loss counters over the window, ms by "direction/cause" */
  bridgeLostMs?: Record<string, number>;
}

interface Running {
  /** performance.now() when the process was spawned (a --cpu-prof profile starts about then) */
  startedAt: number;
  pid: number;
  url: string;
  proc: ChildProcess;
  dir: string;
  agent?: { p: ChildProcess; port: number };
  window0: () => Promise<void>;
  window1: () => Promise<WindowFigures>;
  close: () => Promise<void>;
}

async function startServer(s: Server, o: AnchorsOptions): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), "rtcgw-anchors-"));
  if (s.kind !== "rtcgw") {
    const udp = await freeUdpPort("127.0.0.1");
    const argv =
      s.kind === "anchor-python"
        ? ["/usr/bin/python3", s.script!]
        : [
            process.execPath,
            ...(o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] : []),
            "--import",
            "tsx",
            s.script!,
          ];
    const startedAt = performance.now();
    const { p, port } = await spawnReady(1, argv, {
      ...process.env,
      MODE: s.profile,
      DIR: dir,
      UDP_PORT: String(udp),
      ...s.env,
    });
    const url = `http://127.0.0.1:${port}`;
    return {
      startedAt,
      pid: p.pid!,
      url,
      proc: p,
      dir,
      window0: async () => {
        await fetch(`${url}/window`, { method: "POST" });
      },
      window1: async () =>
        (await (await fetch(`${url}/window`)).json()) as { elu?: number; loopP99Ms?: number },
      close: async () => {
        await stop(p);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  // rtcgw: one node process, started as bench:sessions starts it
  const agent =
    s.profile === "bridge"
      ? await spawnReady(0, [process.execPath, "--import", "tsx", "bench/anchors/echo-agent.ts"], process.env)
      : undefined;
  const nodePort = await freeTcpPort();
  const udp = await freeUdpPort("127.0.0.1");
  const prof = o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  const startedAt = performance.now();
  const p = spawn(
    "taskset",
    ["-c", "1", process.execPath, ...prof, "--import", "tsx", "src/node/process/worker.ts"],
    {
      ...(s.tree ? { cwd: s.tree } : {}),
      env: {
        ...process.env,
        RTCGW_REGISTRY: "memory",
        RTCGW_NODE_SECRET: SECRET,
        NODE_PORT: String(nodePort),
        MEDIA_UDP_PORT: String(udp),
        RTCGW_WORKERS: "1",
        RTCGW_NODE_CAPACITY: "5000",
        RTCGW_CONNECT_TIMEOUT: "30",
        RTCGW_MEDIA_TIMEOUT: "30",
        RTCGW_DRAIN_TIMEOUT: "1",
        // the agent's exact URL: a host without a port ("ws://127.0.0.1:") is refused by the config
        ...(agent ? { RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${agent.port}/agent` } : {}),
        RECORDINGS_DIR: dir,
        LOG_LEVEL: "error",
        ...s.env,
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const url = `http://127.0.0.1:${nodePort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/metrics`)).ok) break;
    } catch {}
    if (Date.now() > deadline || p.exitCode !== null) throw new Error("rtcgw node did not start");
    await sleep(100);
  }
  const metrics = async () =>
    await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  let lost0: Record<string, number> = {};
  return {
    startedAt,
    pid: p.pid!,
    url,
    proc: p,
    dir,
    agent,
    window0: async () => {
      // a scrape resets the node's event-loop histogram; the bridge's loss counters start here
      lost0 = bridgeLostMs(await metrics());
    },
    window1: async () => {
      try {
        const text = await metrics();
        const p99 = loopP99Ms(text);
        const elu = /^rtcgw_event_loop_utilization(?:\{[^}]*\})? ([\d.e+-]+)/m.exec(text);
        const lost: Record<string, number> = {};
        for (const [k, v] of Object.entries(bridgeLostMs(text))) lost[k] = v - (lost0[k] ?? 0);
        return {
          ...(p99 !== undefined ? { loopP99Ms: p99 } : {}),
          ...(elu ? { elu: Number(elu[1]) } : {}),
          ...(s.profile === "bridge" ? { bridgeLostMs: lost } : {}),
        };
      } catch {
        return { loopP99Ms: Number.NaN };
      }
    },
    close: async () => {
      await stop(p);
      if (agent) await stop(agent.p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
        total += (st.size - 44) / (h.readUInt32LE(24) * h.readUInt16LE(22) * 2);
      }
    }
  };
  walk(dir);
  return total;
}

async function runOne(s: Server, n: number, durationS: number, o: AnchorsOptions): Promise<Row> {
  const srv = await startServer(s, o);
  const sendrecv = s.gen === "echo" || s.gen === "bridge";
  const genArgs = {
    controlUrls: [srv.url],
    secret: SECRET,
    n,
    profile: s.gen,
    durationS,
    clientDecode: sendrecv,
    ...(s.kind !== "rtcgw" ? { anchorUrl: srv.url, sendrecv } : {}),
    ...(s.offerCandidates ? { offerCandidates: true } : {}),
    ...(srv.agent ? { bridgeUrl: `ws://127.0.0.1:${srv.agent.port}/agent` } : {}),
  };
  const gen = spawn(
    "taskset",
    ["-c", "0", process.execPath, "--import", "tsx", "bench/load/generator.ts", JSON.stringify(genArgs)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let cpu0 = 0;
  let gen0 = 0;
  let agent0 = 0;
  let t0 = 0;
  let cpuPct = 0;
  let genCpuPct = 0;
  let agentCpuPct: number | undefined;
  let w: WindowFigures = {};
  let result: Record<string, unknown> = {};
  let connected = 0;
  for await (const line of createInterface({ input: gen.stdout! })) {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (msg.type === "CONNECTED") {
      connected = Number(msg.sessions);
      log(
        `  ${s.name} ${s.profile} N=${n}: ${msg.sessions} connected (${msg.failed} failed) in ${msg.setupMs} ms`,
      );
    } else if (msg.type === "WINDOW_START") {
      await srv.window0();
      cpu0 = treeCpuMs(srv.pid);
      gen0 = treeCpuMs(gen.pid!);
      if (srv.agent) agent0 = treeCpuMs(srv.agent.p.pid!);
      t0 = performance.now();
    } else if (msg.type === "WINDOW_END") {
      const dt = performance.now() - t0;
      cpuPct = ((treeCpuMs(srv.pid) - cpu0) / dt) * 100;
      genCpuPct = ((treeCpuMs(gen.pid!) - gen0) / dt) * 100;
      if (srv.agent) agentCpuPct = ((treeCpuMs(srv.agent.p.pid!) - agent0) / dt) * 100;
      w = await srv.window1();
      if (o.cpuProfDir && s.kind !== "anchor-python")
        log(
          `  cpu-prof: ${s.name} pid ${srv.pid}, window ${((t0 - srv.startedAt) / 1000).toFixed(1)}–${((t0 + dt - srv.startedAt) / 1000).toFixed(1)} s after its start (profile-top --from/--to)`,
        );
    } else if (msg.type === "RESULT") result = msg;
    else if (msg.type === "ERROR") log(`  generator error: ${msg.message}`);
  }
  // rtcgw's record: the WAV files against the calls' length (files are finalised on DELETE)
  let audioIn = result.audioIn as Row["audioIn"];
  if (s.kind === "rtcgw" && s.profile === "record" && result.callSeconds) {
    await sleep(500);
    const callS = Object.values(result.callSeconds as Record<string, number>).reduce((a, b) => a + b, 0);
    const r = callS > 0 ? wavSeconds(srv.dir) / callS : 0;
    audioIn = { mean: r, worst: Number.NaN };
  }
  const died = srv.proc.exitCode !== null;
  await srv.close();
  const lossIn = Number(result.lossIn ?? 1);
  const lossOut = sendrecv ? Number(result.lossOut ?? 1) : undefined;
  const worstLossOut = result.worstLossOut === undefined ? undefined : Number(result.worstLossOut);
  const refused = Number(result.refused ?? 0);
  const firstBusyAt = result.firstBusyAt === undefined ? undefined : Number(result.firstBusyAt);
  const audioOut = result.audioOut as Row["audioOut"];
  const why: string[] = [];
  if (died) why.push("server died");
  if (connected < n) why.push(`${n - connected} not connected${refused ? ` (${refused} refused 503)` : ""}`);
  if (lossIn >= HELD.lossMax) why.push("loss in");
  if (lossOut !== undefined && lossOut >= HELD.lossMax) why.push("loss out");
  if (audioIn && audioIn.mean < HELD.audio) why.push("audio in");
  if (sendrecv && (!audioOut || audioOut.mean < HELD.audio)) why.push("audio out");
  if (!(cpuPct < HELD.cpuMax)) why.push("CPU");
  // the load itself fell behind: the run says nothing about the server (not held, and marked)
  if (genCpuPct >= 90) why.push("GENERATOR saturated: run not valid");
  return {
    server: s.name,
    profile: s.profile,
    n,
    connected,
    cpuPct,
    perSession: connected ? cpuPct / connected : 0,
    ...(w.elu !== undefined ? { elu: w.elu } : {}),
    ...(w.loopP99Ms !== undefined ? { loopP99Ms: w.loopP99Ms } : {}),
    ...(w.bridgeLostMs ? { bridgeLost: { ms: w.bridgeLostMs, calls: connected } } : {}),
    lossIn,
    ...(lossOut !== undefined ? { lossOut } : {}),
    ...(worstLossOut !== undefined ? { worstLossOut } : {}),
    ...(refused ? { refused } : {}),
    ...(firstBusyAt !== undefined ? { firstBusyAt } : {}),
    ...(audioIn ? { audioIn } : {}),
    ...(audioOut ? { audioOut } : {}),
    genCpuPct,
    ...(agentCpuPct !== undefined ? { agentCpuPct } : {}),
    held: why.length === 0,
    why,
  };
}

async function idleCpu(s: Server, seconds: number, o: AnchorsOptions): Promise<number> {
  const srv = await startServer(s, o);
  await sleep(1000); // start-up work done
  const c0 = treeCpuMs(srv.pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const pct = ((treeCpuMs(srv.pid) - c0) / (performance.now() - t0)) * 100;
  await srv.close();
  return pct;
}

const median = (xs: number[]): number => {
  const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const optMedian = (xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? median(v) : undefined;
};
const worstOf = (xs: ({ mean: number; worst: number } | undefined)[]) => {
  const v = xs.filter((x): x is { mean: number; worst: number } => x !== undefined);
  return v.length
    ? { mean: Math.min(...v.map((x) => x.mean)), worst: Math.min(...v.map((x) => x.worst)) }
    : undefined;
};

/**
 * One server at one N over its rounds: the median CPU (and per session), the worst of the loss
 * and audio figures, held only if every round held — a noisy minute may make a run cheaper, not
 * a lossy one pass.
 */
function summarise(rs: Row[]): Row {
  if (rs.length === 1) return rs[0]!;
  const first = rs[0]!;
  const maxOf = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== undefined);
    return v.length ? Math.max(...v) : undefined;
  };
  const held = rs.filter((r) => r.held).length;
  const lossOut = maxOf(rs.map((r) => r.lossOut));
  const worstLossOut = maxOf(rs.map((r) => r.worstLossOut));
  const refused = maxOf(rs.map((r) => r.refused));
  const firstBusy = rs.map((r) => r.firstBusyAt).filter((x): x is number => x !== undefined);
  const elu = optMedian(rs.map((r) => r.elu));
  const loopP99Ms = optMedian(rs.map((r) => r.loopP99Ms));
  const audioIn = worstOf(rs.map((r) => r.audioIn));
  const audioOut = worstOf(rs.map((r) => r.audioOut));
  const agentCpuPct = optMedian(rs.map((r) => r.agentCpuPct));
  // the round whose calls lost or delayed the most, per call
  const perCall = (b: Row["bridgeLost"]) =>
    b ? Object.values(b.ms).reduce((a, x) => a + x, 0) / Math.max(1, b.calls) : -1;
  const bridgeLost = rs
    .map((r) => r.bridgeLost)
    .reduce((a, b) => (perCall(b) > perCall(a) ? b : a), undefined as Row["bridgeLost"]);
  return {
    server: first.server,
    profile: first.profile,
    n: first.n,
    heldRounds: [held, rs.length],
    connected: Math.min(...rs.map((r) => r.connected)),
    cpuPct: median(rs.map((r) => r.cpuPct)),
    perSession: median(rs.map((r) => r.perSession)),
    ...(elu !== undefined ? { elu } : {}),
    ...(loopP99Ms !== undefined ? { loopP99Ms } : {}),
    lossIn: Math.max(...rs.map((r) => r.lossIn)),
    ...(lossOut !== undefined ? { lossOut } : {}),
    ...(worstLossOut !== undefined ? { worstLossOut } : {}),
    ...(refused ? { refused } : {}),
    ...(firstBusy.length ? { firstBusyAt: Math.min(...firstBusy) } : {}),
    ...(audioIn ? { audioIn } : {}),
    ...(audioOut ? { audioOut } : {}),
    genCpuPct: Math.max(...rs.map((r) => r.genCpuPct)),
    ...(agentCpuPct !== undefined ? { agentCpuPct } : {}),
    ...(bridgeLost ? { bridgeLost } : {}),
    held: held === rs.length,
    why: [...new Set(rs.flatMap((r) => r.why))],
  };
}

/** per-session CPU over the rounds: "median (min–max)" */
function spread(rs: Row[]): string {
  const v = rs.map((r) => r.perSession);
  return rs.length > 1
    ? `${median(v).toFixed(3)} % (${Math.min(...v).toFixed(3)}–${Math.max(...v).toFixed(3)})`
    : `${v[0]!.toFixed(3)} %`;
}

/** a ratio a ÷ b taken within each round (the two ran minutes apart), then its median and range */
function pairedRatio(a: Row[], b: Row[]): { median: number; min: number; max: number } | undefined {
  const ratios: number[] = [];
  for (const x of a) {
    const y = b.find((r) => r.round === x.round);
    if (y && y.perSession > 0) ratios.push(x.perSession / y.perSession);
  }
  if (!ratios.length) return undefined;
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}
const ratioText = (r: { median: number; min: number; max: number }) =>
  r.min === r.max ? r.median.toFixed(2) : `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;

/** the bridge's loss counters as "to-caller/late 120 ms (1.3 per call), …" (non-zero ones) */
const lostText = ({ ms, calls }: { ms: Record<string, number>; calls: number }) => {
  const parts = Object.entries(ms)
    .filter(([, ms]) => ms > 0)
    .map(([k, ms]) => `${k} ${Math.round(ms)} ms (${(ms / Math.max(1, calls)).toFixed(1)} per call)`);
  return parts.length ? parts.join(", ") : "nothing dropped or late";
};

const pct = (x: number | undefined, d = 2) =>
  x === undefined || Number.isNaN(x) ? "–" : `${(x * 100).toFixed(d)} %`;
const f = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? "–" : x.toFixed(d));

export async function runAnchors(o: AnchorsOptions): Promise<void> {
  // this process (it reads /proc and talks HTTP around the windows) stays off the servers' core
  spawnSync("taskset", ["-a", "-pc", "0", String(process.pid)], { stdio: "ignore" });
  const ns = o.ns ?? (o.quick ? [10, 25] : [10, 25, 50, 100, 150, 200, 300, 400, 500]);
  const durationS = o.durationS ?? (o.quick ? 4 : 15);
  const idleS = o.quick ? 3 : 10;
  const all = o.treeB
    ? [
        ...SERVERS,
        ...SERVERS.filter((s) => s.name === "rtcgw").map((s) => ({ ...s, name: "rtcgw-b", tree: o.treeB })),
      ]
    : SERVERS;
  const servers = all.filter((s) =>
    o.only ? o.only.includes(s.name) || o.only.includes(`${s.name}:${s.profile}`) : !s.optIn,
  );
  const started = new Date();
  console.log(
    `rtcgw bench:sessions --anchors${o.quick ? " --quick" : ""} — ${started.toISOString()}, ${durationS} s window, N = ${ns.join(", ")}${o.rounds && o.rounds > 1 ? `, ${o.rounds} rounds (servers interleaved within each)` : ""}${o.treeB ? `, rtcgw-b = ${o.treeB}` : ""}; every server on core 1 (taskset -c 1), the load generator on core 0`,
  );
  console.log(
    `held = all N connected, ≥ ${HELD.audio * 100} % of the audio both ways (mean over sessions, over the window), packet loss < ${HELD.lossMax * 100} % both ways, server CPU < ${HELD.cpuMax} % of its core`,
  );
  const bare = JSON.parse(
    spawnSync("taskset", ["-c", "1", process.execPath, "--import", "tsx", "bench/anchors/bare-decode.ts"], {
      encoding: "utf8",
    }).stdout.trim(),
  ) as { us16k: number; us48k: number };
  const bareDecodePct = (bare.us16k * 50) / 1e4; // µs per packet × 50 packets/s → % of a core
  console.log(
    `bare Opus decode (@evan/opus WASM, this run, core 1): ${bare.us16k.toFixed(1)} µs/packet at 16 kHz (${bareDecodePct.toFixed(3)} % of a core per session), ${bare.us48k.toFixed(1)} µs at 48 kHz`,
  );

  const rounds = Math.max(1, o.rounds ?? 1);
  const keyOf = (x: { name?: string; server?: string; profile: string }) =>
    `${x.name ?? x.server}:${x.profile}`;
  /** every single run; `rows` holds one row per server and N (the median of its rounds) */
  const runs: Row[] = [];
  const rows: Row[] = [];
  const idle: Record<string, number> = {};
  for (const s of servers) if (!(s.name in idle)) idle[s.name] = await idleCpu(s, idleS, o);
  // N by N, the servers interleaved within each round: every server meets the same minutes of
  // the VM; a server stops after its first N not held (unless --keep-going)
  let active = servers;
  for (const n of ns) {
    if (active.length === 0) break;
    const failed = new Set<string>();
    for (let round = 1; round <= rounds; round++) {
      for (const s of active) {
        const key = keyOf(s);
        if (failed.has(key)) continue;
        let row: Row;
        try {
          row = { ...(await runOne(s, n, durationS, o)), ...(rounds > 1 ? { round } : {}) };
        } catch (e) {
          log(`  ${key} N=${n}: ${(e as Error).message}`);
          failed.add(key);
          continue;
        }
        runs.push(row);
        console.log(
          `${key.padEnd(18)} N=${String(n).padStart(4)}${rounds > 1 ? ` r${round}` : ""}  ${String(row.connected).padStart(4)} conn  CPU ${f(row.cpuPct).padStart(5)} % (${row.perSession.toFixed(3)} %/session)  ELU ${pct(row.elu, 0)}  lag p99 ${f(row.loopP99Ms)} ms  loss in ${pct(row.lossIn)} out ${pct(row.lossOut)}${row.worstLossOut !== undefined ? ` (worst call ${pct(row.worstLossOut)})` : ""}${row.firstBusyAt !== undefined ? `  503 first at ${row.firstBusyAt} accepted, ${row.refused ?? 0} refused` : ""}  audio in ${pct(row.audioIn?.mean)} out ${pct(row.audioOut?.mean)} (worst call ${pct(row.audioOut?.worst)})  gen ${f(row.genCpuPct, 0)} %${row.bridgeLost ? `  node's bridge counters: ${lostText(row.bridgeLost)}` : ""}  ${row.held ? "held" : `NOT held (${row.why.join(", ")})`}`,
        );
      }
    }
    for (const s of active) {
      const mine = runs.filter((r) => r.n === n && keyOf(r) === keyOf(s));
      if (mine.length) rows.push(summarise(mine));
    }
    active = active.filter(
      (s) =>
        !failed.has(keyOf(s)) && (o.keepGoing || rows.find((r) => r.n === n && keyOf(r) === keyOf(s))?.held),
    );
  }

  const roundsOf = (r: Row) => runs.filter((x) => x.n === r.n && keyOf(x) === keyOf(r));
  console.log(
    `\n| server | profile | N | connected | CPU % of its core | per session${rounds > 1 ? ` (median of ${rounds} rounds, min–max)` : ""} | ELU | loop p99 | loss in | loss out | audio in (mean / worst) | audio out (mean / worst) | generator CPU | held |`,
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows)
    console.log(
      `| ${r.server} | ${r.profile} | ${r.n} | ${r.connected} | ${f(r.cpuPct)} | ${spread(roundsOf(r))} | ${pct(r.elu, 0)} | ${f(r.loopP99Ms)} ms | ${pct(r.lossIn)} | ${pct(r.lossOut)} | ${pct(r.audioIn?.mean)} / ${pct(r.audioIn?.worst)} | ${pct(r.audioOut?.mean)} / ${pct(r.audioOut?.worst)} | ${f(r.genCpuPct, 0)} %${r.agentCpuPct !== undefined ? ` (+ agent ${f(r.agentCpuPct, 0)} %)` : ""} | ${r.held ? "yes" : `no: ${r.why.join(", ")}`}${r.heldRounds ? ` (${r.heldRounds[0]}/${r.heldRounds[1]} rounds)` : ""} |`,
    );

  console.log("\n| server | idle CPU (no session, % of a core) | largest N held | per session there |");
  console.log("|---|---:|---:|---:|");
  const groups = [...new Set(rows.map((r) => `${r.server}:${r.profile}`))];
  for (const g of groups) {
    const [name, profile] = g.split(":");
    const held = rows.filter((r) => r.server === name && r.profile === profile && r.held).at(-1);
    const id = idle[name!];
    console.log(
      `| ${name} ${profile} | ${f(id, 2)} | ${held ? held.n : "none"} | ${held ? `${held.perSession.toFixed(3)} %` : "–"} |`,
    );
  }

  // issue 18 item 3: where rtcgw drew its line, and what the calls it kept lost
  const saturated = rows.filter((r) => r.server === "rtcgw" && r.firstBusyAt !== undefined);
  if (saturated.length) {
    console.log(
      "\nsaturation: the node refuses (503 node-busy) before a held call loses > 0.5 % of its audio:",
    );
    for (const r of saturated) {
      const worst = r.worstLossOut;
      const audioWorst = r.audioOut?.worst;
      const ok =
        worst !== undefined &&
        worst <= HELD.lossMax &&
        (audioWorst === undefined || audioWorst >= HELD.audio);
      console.log(
        `  rtcgw ${r.profile} N=${r.n}: first 503 with ${r.firstBusyAt} accepted, ${r.refused ?? 0} offers refused after retries, ${r.connected} held; worst held call lost ${pct(worst)} of its return frames, got ${pct(audioWorst)} of its audio back over the window: ${worst === undefined ? "not measured (one-way profile)" : ok ? "met" : "NOT met"}${r.bridgeLost ? ` (the node's own count over the window${r.heldRounds ? ", its worst round" : ""}: ${lostText(r.bridgeLost)})` : ""}`,
      );
    }
  }

  // rtcgw ÷ each anchor, per session, at equal N (the bridge against the echo anchors); with
  // rounds, each ratio is taken within a round and the median of them printed
  const isRtcgw = (name: string) => name.startsWith("rtcgw");
  console.log(
    `\nrtcgw ÷ anchor, CPU per session at equal N (< 1: rtcgw cheaper; * = not held${rounds > 1 ? "; median of the ratios paired within each round, min–max" : ""}):`,
  );
  console.log("| rtcgw profile | anchor | N | rtcgw | anchor | ratio |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const r of rows.filter((x) => isRtcgw(x.server))) {
    const against = r.profile === "bridge" ? "echo" : r.profile;
    for (const a of rows.filter(
      (x) =>
        x.n === r.n &&
        x !== r &&
        !x.server.startsWith("floor") &&
        x.profile === against &&
        // rtcgw-b (an A/B tree) and rtcgw-wasm (its WASM encoder) are compared with rtcgw, not rtcgw with them twice
        (!isRtcgw(x.server) || (r.server === "rtcgw" && x.server !== "rtcgw")),
    )) {
      const ratio = pairedRatio(roundsOf(r), roundsOf(a)) ?? {
        median: r.perSession / a.perSession,
        min: r.perSession / a.perSession,
        max: r.perSession / a.perSession,
      };
      console.log(
        `| ${r.server === "rtcgw" ? "" : `${r.server} `}${r.profile} | ${a.server} ${a.profile} | ${r.n} | ${r.perSession.toFixed(3)} %${r.held ? "" : "*"} | ${a.perSession.toFixed(3)} %${a.held ? "" : "*"} | ${ratioText(ratio)} |`,
      );
    }
  }
  // the record target: ≤ 1.1 × (transport floor + bare decode), same N, same run (same round)
  console.log(
    "\nrecord target: rtcgw record ≤ 1.1 × (transport floor + bare Opus decode at 16 kHz), per session:",
  );
  for (const r of rows.filter((x) => isRtcgw(x.server) && x.profile === "record")) {
    const floor = rows.find((x) => x.server === "floor-recv" && x.n === r.n);
    if (!floor) continue;
    const withDecode = (rs: Row[]) => rs.map((x) => ({ ...x, perSession: x.perSession + bareDecodePct }));
    const ratio = pairedRatio(roundsOf(r), withDecode(roundsOf(floor)));
    const limit = 1.1 * (floor.perSession + bareDecodePct);
    const times = ratio ? ratio.median : r.perSession / (floor.perSession + bareDecodePct);
    console.log(
      `  ${r.server} N=${r.n}: record ${r.perSession.toFixed(3)} % vs 1.1 × (${floor.perSession.toFixed(3)} + ${bareDecodePct.toFixed(3)}) = ${limit.toFixed(3)} % → ${times <= 1.1 ? "met" : "not met"}: ${ratio ? ratioText(ratio) : times.toFixed(2)} × (floor + decode)`,
    );
  }
  console.log(
    `\nfinished ${new Date().toISOString()} (${((Date.now() - started.getTime()) / 60000).toFixed(1)} min)`,
  );
}
