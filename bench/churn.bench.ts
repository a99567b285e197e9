// npm run bench:churn — connect/abort churn and a soak against one media node process: does
// anything leak when clients misbehave?
//
// Churn: `--cycles` (2000) connect/abort cycles, `--parallel` (8) at a time, of mixed clients:
//   close    connects, sends 200 ms of audio, closes properly
//   abort    posts its offer, closes before ever applying the answer (never connects)
//   garbage  connects, sends 50 random datagrams on its audio track (not RTP), then closes
//   vanish   connects in a child process that is SIGKILLed (no DTLS alert, nothing): the
//            node can only reap it by its timeouts (3 s, then a 5 s resume window, here)
// At each checkpoint (`--checkpoints 500,1000,…`, default every quarter) the churn pauses until
// the node's watchdog has reaped every session, the node is made to run a full GC (through the
// inspector: the node runs with `--inspect` on loopback, see load/inspector.ts) and its memory is
// read: rss, heapUsed, external, arrayBuffers (process.memoryUsage()), and where the resident
// pages live (glibc's main and thread arenas, other anonymous memory, files: load/smaps.ts).
// Reported: sessions left (the node's own count), open fds and memory against the baseline taken
// the same way before the churn, growth per 1000 cycles between the later checkpoints (a leak
// grows with the cycles, a high-water mark does not), event-loop p99.
//   --malloc-trim      then call malloc_trim(0) in the node through gdb: what RSS loses there
//                      was free memory glibc held, not memory anything still uses
//   --snapshots DIR    V8 heap snapshots at baseline and after the churn (compare them with
//                      `npx tsx bench/load/heap-diff.ts a.heapsnapshot b.heapsnapshot`)
//   --node-env K=V     the node's environment only (MALLOC_ARENA_MAX=2, LD_PRELOAD=…)
// Soak (`--soak-minutes`, default 10; 0 = skip): `--soak-calls` (100) calls of `--soak-profile`
// (record) held that long, the node's memory read each minute (as it is, then after a forced GC)
// and the slope of each figure from minute 2 on (a trend up would be a leak). `--cycles 0` runs the soak alone.
//
//   npm run bench:churn -- [--cycles 2000] [--parallel 8] [--soak-minutes 10] [--soak-calls 100]
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { signRequest } from "../src/control/hmac.js";
import { workerAllocator } from "../src/node/process/allocator.js";
import { freeUdpPort } from "../src/node/process/udp-port.js";
import { ClientPeer, VanishingClients } from "../test/support/client-peer.js";
import { busyLine } from "./load/busy-line.js";
import { Inspector, inspectorUrl, type MemoryFigures } from "./load/inspector.js";
import { type SmapsBreakdown, smaps } from "./load/smaps.js";

const { values: args } = parseArgs({
  options: {
    cycles: { type: "string", default: "2000" },
    parallel: { type: "string", default: "8" },
    "soak-minutes": { type: "string", default: "10" },
    "soak-calls": { type: "string", default: "100" },
    "soak-profile": { type: "string", default: "record" },
    /** cycle counts where the churn pauses to drain, GC and measure (default: every quarter) */
    checkpoints: { type: "string" },
    snapshots: { type: "string" },
    "malloc-trim": { type: "boolean", default: false },
    /** NAME=value for the node's environment only (MALLOC_ARENA_MAX=2, LD_PRELOAD=…) */
    "node-env": { type: "string", multiple: true, default: [] },
  },
});
const CYCLES = Number(args.cycles);
const PARALLEL = Number(args.parallel);
const SOAK_MIN = Number(args["soak-minutes"]);
const SOAK_CALLS = Number(args["soak-calls"]);
const SOAK_PROFILE = args["soak-profile"]!;
const CHECKPOINTS = [
  ...new Set(
    [
      ...(args.checkpoints?.split(",").map(Number) ?? [1, 2, 3].map((q) => Math.round((CYCLES * q) / 4))),
      CYCLES,
    ].filter((n) => n > 0 && n <= CYCLES),
  ),
].sort((a, b) => a - b);
/** a folder to write V8 heap snapshots of the node into (baseline, after the churn + GC) */
const SNAPSHOTS = args.snapshots;
/** after the GC, have glibc give back what it holds free (malloc_trim(0), called through gdb) */
const MALLOC_TRIM = args["malloc-trim"];
const NODE_ENV: Record<string, string> = Object.fromEntries(
  args["node-env"]!.map((kv) => {
    const i = kv.indexOf("=");
    if (i < 1) throw new Error(`--node-env wants NAME=value, got ${kv}`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);
const SECRET = "churn-bench-secret-0123456789";

function freeTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
/** socket inode → "tcp 127.0.0.1:5000 ← 127.0.0.1:41234" (state), from /proc/<pid>/net */
function socketNames(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  const addr = (hex: string) => {
    const [ip, port] = hex.split(":") as [string, string];
    const v4 =
      ip.length === 8
        ? ip
            .match(/../g)!
            .reverse()
            .map((b) => Number.parseInt(b, 16))
            .join(".")
        : `[${ip}]`;
    return `${v4}:${Number.parseInt(port, 16)}`;
  };
  for (const proto of ["tcp", "tcp6", "udp", "udp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${proto}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const state = proto.startsWith("tcp") && f[3] === "01" ? " established" : "";
      out.set(f[9]!, `${proto} ${addr(f[1]!)} ↔ ${addr(f[2]!)}${state}`);
    }
  }
  return out;
}

/** what each open descriptor is (socket:[inode], anon_inode:[eventfd], a path…), by number */
function fdTargets(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {} // closed meanwhile
  }
  return out;
}

let url = "";
/** the node's id: control requests are signed for it (a signature names its target node) */
let nodeId = "";
async function control(method: string, path: string, body?: unknown) {
  const text = body === undefined ? "" : JSON.stringify(body);
  const res = await fetch(url + path, {
    method,
    headers: signRequest(SECRET, nodeId, method, path, text),
    ...(text ? { body: text } : {}),
  });
  return {
    status: res.status,
    json: (await res.json().catch(() => undefined)) as { answer?: string; load?: number; code?: string },
  };
}
const newId = () => randomBytes(16).toString("base64url");
const offer = (id: string, sdp: string, profile = "record") =>
  control("POST", "/internal/sessions", { sessionId: id, kind: "session", profile, offer: sdp });
const load = async () => (await control("GET", "/internal/health")).json?.load ?? -1;
async function loopP99Ms(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /rtcgw_event_loop_delay_seconds\{[^}]*stat="p99"[^}]*\} ([\d.e+-]+)/.exec(text);
  return m ? Number(m[1]) * 1000 : Number.NaN;
}
/** rtcgw_session_teardowns_total by reason, from the node's /metrics */
async function teardowns(): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const by = new Map<string, number>();
  for (const m of text.matchAll(/^rtcgw_session_teardowns_total\{([^}]*)\} (\d+)/gm)) {
    const reason = /reason="([^"]*)"/.exec(m[1]!)?.[1] ?? "?";
    by.set(reason, (by.get(reason) ?? 0) + Number(m[2]));
  }
  return [...by].map(([r, n]) => `${r} ${n}`).join(", ");
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = "close" | "abort" | "garbage" | "vanish";
const KINDS: Kind[] = ["close", "abort", "garbage", "vanish"];
const done: Record<Kind, number> = { close: 0, abort: 0, garbage: 0, vanish: 0 };
const failed: Record<Kind, number> = { close: 0, abort: 0, garbage: 0, vanish: 0 };
/** why cycles failed (an offer refused with its status, a connect that timed out…) */
const reasons = new Map<string, number>();
/** the first few refusals' messages: the guard's figures say why it refused */
const refusalMessages: string[] = [];
/** a refused offer, by the load guard's line that refused it (503) or the status */
const offerFailed = (r: { status: number; json?: unknown }) => {
  const reason = (r.json as { reason?: string } | undefined)?.reason;
  if (reason && refusalMessages.length < 5) refusalMessages.push(reason);
  return new Error(
    `offer ${r.status}${r.status === 503 ? ` (${busyLine(r as Parameters<typeof busyLine>[0])})` : ""}`,
  );
};

async function cycle(kind: Kind, vanishing: VanishingClients): Promise<void> {
  const id = newId();
  if (kind === "vanish") {
    const p = await vanishing.create({ decode: false, dataChannel: false });
    const r = await offer(id, p.offer);
    if (r.status !== 201) throw offerFailed(r);
    await vanishing.accept(p.id, r.json.answer!);
    await vanishing.connected(p.id, 10_000);
    return; // the child is SIGKILLed with its peers every few cycles
  }
  const c = await ClientPeer.create({ decode: false, dataChannel: false, autoSend: kind === "close" });
  try {
    const r = await offer(id, c.offer);
    if (r.status !== 201) throw offerFailed(r);
    if (kind === "abort") return; // never applies the answer
    c.accept(r.json.answer!);
    await c.connected(10_000);
    if (kind === "garbage") {
      for (let i = 0; i < 50; i++) {
        try {
          c.track.sendMessageBinary(randomBytes(1 + ((i * 37) % 300)));
        } catch {}
      }
    }
    await sleep(200);
  } finally {
    await c.close();
  }
}

const MB = (b: number) => (b / 2 ** 20).toFixed(1);
const figures = (m: MemoryFigures) =>
  `rss ${MB(m.rss)}  heapUsed ${MB(m.heapUsed)}  external ${MB(m.external)}  arrayBuffers ${MB(m.arrayBuffers)} MB`;

const native = (b: SmapsBreakdown) =>
  `glibc main arena ${MB(b.brkHeap)}, ${b.arenaCount} thread arenas ${MB(b.threadArenas)}, other anon ${MB(b.otherAnon)}, files ${MB(b.file)} MB`;

/**
 * malloc_trim(0) in the node, through gdb (attaches, calls, detaches): glibc returns the free
 * pages of every arena to the kernel. What RSS loses here was free memory glibc kept, not a leak.
 */
function mallocTrim(pid: number): void {
  const r = spawnSync("gdb", ["-p", String(pid), "-batch", "-nx", "-ex", "call (int) malloc_trim(0)"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  const m = /\$1 = (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`gdb could not call malloc_trim: ${r.error?.message ?? r.stderr.slice(-300)}`);
}

/** least-squares slope of y over x */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

async function main() {
  const nodePort = await freeTcpPort();
  const udp = await freeUdpPort("127.0.0.1");
  url = `http://127.0.0.1:${nodePort}`;
  const malloc = workerAllocator(
    (NODE_ENV.RTCGW_MALLOC ?? process.env.RTCGW_MALLOC) === "glibc" ? "glibc" : "jemalloc",
    { ...process.env, ...NODE_ENV },
  );
  // the inspector (on loopback, a port of its own) is how the bench reads the node's heap figures,
  // forces a GC and takes heap snapshots; the node itself has no debug route
  const node: ChildProcess = spawn(
    process.execPath,
    ["--inspect=127.0.0.1:0", "--import", "tsx", "src/node/process/worker.ts"],
    {
      env: {
        ...process.env,
        RTCGW_REGISTRY: "memory",
        RTCGW_NODE_SECRET: SECRET,
        NODE_PORT: String(nodePort),
        MEDIA_UDP_PORT: String(udp),
        RTCGW_NODE_CAPACITY: "5000",
        // for the churn, short timeouts: the clients that vanish or never connect are reaped
        // within seconds, and kept 5 s (not 20) for a resume that never comes. The soak alone
        // (--cycles 0) runs on the defaults: 3 s without media ended held calls on a loaded machine
        ...(CYCLES > 0
          ? {
              RTCGW_CONNECT_TIMEOUT: "3",
              RTCGW_MEDIA_TIMEOUT: "3",
              RTCGW_DISCONNECT_TIMEOUT: "2",
              RTCGW_RESUME_WINDOW: "5",
            }
          : {}),
        RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-churn-")),
        LOG_LEVEL: "error",
        // the allocator `rtcgw node` gives its workers (jemalloc when installed; RTCGW_MALLOC=glibc
        // in --node-env for glibc's malloc): this node is spawned directly, not by a supervisor
        ...malloc.env,
        ...NODE_ENV,
      },
      // the IPC channel: the worker reports "ready" with its node id there, as to its supervisor
      stdio: ["ignore", "inherit", "pipe", "ipc"],
    },
  );
  const ready = new Promise<string>((resolve, reject) => {
    node.on("message", (m: { type?: string; nodeId?: string }) => {
      if (m.type === "ready") resolve(m.nodeId!);
      if (m.type === "failed") reject(new Error(`the node failed to start: ${JSON.stringify(m)}`));
    });
  });
  const wsUrl = inspectorUrl(node.stderr!);
  node.stderr!.on("data", (chunk: Buffer) => {
    const text = chunk.toString().replace(/^(Debugger listening on|For help, see).*\n/gm, "");
    if (text) process.stderr.write(text);
  });
  nodeId = await ready;
  const pid = node.pid!;
  const insp = await Inspector.connect(await wsUrl);
  if (SNAPSHOTS) mkdirSync(SNAPSHOTS, { recursive: true });
  const snapshot = async (name: string) => {
    if (!SNAPSHOTS) return;
    const file = join(SNAPSHOTS, `${name}.heapsnapshot`);
    await insp.heapSnapshot(file);
    console.log(`  heap snapshot: ${file}`);
  };
  console.log(
    `node ${pid} on ${malloc.allocator} (${malloc.reason})${Object.keys(NODE_ENV).length ? `, ${args["node-env"]!.join(" ")}` : ""}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  if (CYCLES === 0) return soak(pid, node, insp);
  // baseline: after one warm-up call of each kind has come and gone
  let vanishing = new VanishingClients();
  for (const k of KINDS) await cycle(k, vanishing).catch(() => {});
  await vanishing.kill();
  for (let i = 0; i < 60 && (await load()) !== 0; i++) await sleep(1000);
  // measured as the checkpoints are: 10 s after the last session (an allocator returns pages lazily)
  await sleep(10_000);
  await insp.gc();
  const base = { fds: fds(pid), sessions: await load(), mem: await insp.memory() };
  const baseFds = fdTargets(pid);
  const baseSmaps = smaps(pid);
  console.log(`baseline (after a GC): ${base.sessions} sessions, ${base.fds} fds, ${figures(base.mem)}`);
  console.log(`  resident: ${native(baseSmaps)}`);
  await snapshot("baseline");

  let next = 0;
  let p99 = 0;
  vanishing = new VanishingClients();
  let inVanishing = 0;
  let kills: Promise<void>[] = [];
  const worker = async (upTo: number) => {
    while (next < upTo) {
      const k = KINDS[next++ % KINDS.length]!;
      try {
        await cycle(k, vanishing);
        done[k]++;
      } catch (e) {
        failed[k]++;
        const why = (e as Error).message.replace(/\d{4,}/g, "N").slice(0, 60);
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
      if (k === "vanish" && ++inVanishing >= 8) {
        inVanishing = 0;
        const old = vanishing;
        vanishing = new VanishingClients();
        // other workers may still be mid-cycle on the old one: kill it once they are done
        // (a cycle gives up after 10 s), so its peers vanish connected
        kills.push(sleep(12_000).then(() => old.kill()));
      }
    }
  };
  const sampler = setInterval(async () => {
    p99 = Math.max(p99, await loopP99Ms().catch(() => 0));
  }, 2000);
  /** at each checkpoint: the churn paused, every session reaped, a full GC, then measured */
  const points: { cycles: number; drained: MemoryFigures; mem: MemoryFigures; smaps: SmapsBreakdown }[] = [];
  let left10s = 0;
  let drainedS = 0;
  let churnS = 0;
  for (const cp of CHECKPOINTS) {
    const segment = Date.now();
    await Promise.all(Array.from({ length: PARALLEL }, () => worker(cp)));
    await Promise.all(kills);
    kills = [];
    await vanishing.kill();
    vanishing = new VanishingClients();
    churnS += (Date.now() - segment) / 1000;
    // the watchdog's longest path (3 s without media, then the 5 s resume window), with room
    await sleep(10_000);
    left10s = await load();
    // a session the watchdog should have reaped by now: how long until it goes (if it ever does)
    drainedS = 10;
    while ((await load()) > 0 && drainedS < 70) {
      await sleep(1000);
      drainedS++;
    }
    const drained = await insp.memory();
    await insp.gc();
    points.push({ cycles: cp, drained, mem: await insp.memory(), smaps: smaps(pid) });
    console.log(`  after ${cp} cycles, drained and GC'd: ${figures(points.at(-1)!.mem)}`);
    console.log(`    resident: ${native(points.at(-1)!.smaps)}`);
  }
  await vanishing.kill();
  clearInterval(sampler);
  const after = { fds: fds(pid), sessions: await load() };
  // descriptors open now that were not at baseline (kinds only: a leak repeats one kind)
  const sockets = socketNames(pid);
  const newFds = [...fdTargets(pid)]
    .filter(([fd, target]) => baseFds.get(fd) !== target)
    .map(([, target]) => sockets.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? "") ?? target);
  const afterDrained = points.at(-1)!.drained;
  const afterGc = points.at(-1)!.mem;
  const afterSmaps = points.at(-1)!.smaps;
  let trimmed: { mem: MemoryFigures; smaps: SmapsBreakdown } | undefined;
  if (MALLOC_TRIM) {
    mallocTrim(pid);
    trimmed = { mem: await insp.memory(), smaps: smaps(pid) };
  }
  console.log(
    `\nchurn: ${CYCLES} cycles in ${churnS.toFixed(0)} s (${PARALLEL} at a time): ` +
      KINDS.map((k) => `${k} ${done[k]}${failed[k] ? ` (${failed[k]} failed)` : ""}`).join(", "),
  );
  if (reasons.size) console.log(`  failed cycles: ${[...reasons].map(([w, n]) => `${n} × ${w}`).join("; ")}`);
  for (const m of refusalMessages) console.log(`    refused: ${m}`);
  console.log(
    `  sessions left   ${left10s} 10 s after the last cycle, ${after.sessions} after ${drainedS} s (target 0; the same at every checkpoint)`,
  );
  console.log(`  teardowns       ${await teardowns()}`);
  console.log(
    `  fds             ${after.fds} vs ${base.fds} at baseline (${after.fds - base.fds >= 0 ? "+" : ""}${after.fds - base.fds})` +
      (newFds.length ? `; not open at baseline: ${newFds.join(", ")}` : ""),
  );
  console.log(`  event-loop p99  ${p99.toFixed(1)} ms (worst sample during the churn)`);
  console.log("  node memory (MB):          rss   heapUsed   external   arrayBuffers");
  const row = (label: string, m: MemoryFigures) =>
    console.log(
      `    ${label.padEnd(22)} ${MB(m.rss).padStart(6)} ${MB(m.heapUsed).padStart(10)} ${MB(m.external).padStart(10)} ${MB(m.arrayBuffers).padStart(14)}`,
    );
  row("baseline (after GC)", base.mem);
  row("after churn, drained", afterDrained);
  row("after a GC", afterGc);
  if (trimmed) row("after malloc_trim(0)", trimmed.mem);
  const d = (k: keyof MemoryFigures) => afterGc[k] - base.mem[k];
  row("growth (GC'd − base)", {
    rss: d("rss"),
    heapTotal: d("heapTotal"),
    heapUsed: d("heapUsed"),
    external: d("external"),
    arrayBuffers: d("arrayBuffers"),
  });
  console.log(`  resident at baseline:   ${native(baseSmaps)}`);
  console.log(`  resident after + GC:    ${native(afterSmaps)}`);
  if (trimmed) console.log(`  after malloc_trim(0):   ${native(trimmed.smaps)}`);
  console.log(
    `  RSS growth      ${MB(d("rss"))} MB (target < 10) = ${MB((d("rss") / CYCLES) * 1000)} MB per 1000 cycles on average`,
  );
  // a leak grows with the cycles; a high-water mark stops growing once reached (glibc keeps the
  // pages of the busiest moment): the slope between the later checkpoints tells them apart
  const late = points.slice(1);
  if (late.length >= 2) {
    const per1000 = (k: keyof MemoryFigures) =>
      MB(
        slope(
          late.map((p) => p.cycles),
          late.map((p) => p.mem[k]),
        ) * 1000,
      );
    console.log(
      `  growth per 1000 cycles, checkpoints ${late[0]!.cycles}–${late.at(-1)!.cycles} (least squares, GC'd): ` +
        `rss ${per1000("rss")}, heapUsed ${per1000("heapUsed")}, external ${per1000("external")}, arrayBuffers ${per1000("arrayBuffers")} MB`,
    );
  }
  await snapshot("after-churn-gc");

  await soak(pid, node, insp);
}

async function soak(pid: number, node: ChildProcess, insp: Inspector): Promise<void> {
  if (SOAK_MIN > 0) {
    const calls: ClientPeer[] = [];
    for (let i = 0; i < SOAK_CALLS; i++) {
      const c = await ClientPeer.create({ decode: false, dataChannel: false });
      // a saturated node says 503 node-busy (its load guard): try again shortly, as a client would
      let r = await offer(newId(), c.offer, SOAK_PROFILE);
      for (let t = 0; r.status === 503 && t < 120; t++) {
        await sleep(500);
        r = await offer(newId(), c.offer, SOAK_PROFILE);
      }
      if (r.status !== 201) throw new Error(`soak offer ${r.status}: ${JSON.stringify(r.json)}`);
      c.accept(r.json.answer!);
      calls.push(c);
    }
    await Promise.all(calls.map((c) => c.connected(20_000)));
    // each minute: memory as it is, then after a forced full GC (what is still held: the trend
    // of a leak, without the V8 heap's sawtooth)
    const sample = async () => {
      const live = await insp.memory();
      await insp.gc();
      return { live, gcd: await insp.memory() };
    };
    const samples = [await sample()];
    console.log(
      `\nsoak: ${SOAK_CALLS} ${SOAK_PROFILE} calls for ${SOAK_MIN} min; node memory each minute, then after a GC:`,
    );
    console.log(
      `  min 0: ${figures(samples[0]!.live)}\n    GC'd: ${figures(samples[0]!.gcd)}\n    resident: ${native(smaps(pid))}`,
    );
    let lowest = SOAK_CALLS;
    for (let m = 1; m <= SOAK_MIN; m++) {
      await sleep(60_000);
      samples.push(await sample());
      const sessions = await load();
      lowest = Math.min(lowest, sessions);
      console.log(
        `  min ${m}: ${figures(samples.at(-1)!.live)} (sessions ${sessions}, loop p99 ${(await loopP99Ms()).toFixed(1)} ms, load average ${loadavg()[0]!.toFixed(2)})`,
      );
      console.log(`    GC'd: ${figures(samples.at(-1)!.gcd)}`);
      console.log(`    resident: ${native(smaps(pid))}`);
    }
    if (lowest < SOAK_CALLS)
      console.log(
        `  ${SOAK_CALLS - lowest} of the ${SOAK_CALLS} calls ended during the soak: the memory of fewer calls is no trend (run it alone, --cycles 0, on the node's default timeouts)`,
      );
    // minutes 0–1 are warm-up (buffers, recordings' first writes): the trend is from minute 2
    const from = Math.min(2, samples.length - 2);
    if (samples.length - from >= 2) {
      const mins = samples.slice(from).map((_, i) => from + i);
      const per = (which: "live" | "gcd", k: keyof MemoryFigures) =>
        MB(
          slope(
            mins,
            samples.slice(from).map((s) => s[which][k]),
          ),
        );
      for (const which of ["live", "gcd"] as const)
        console.log(
          `  trend, minutes ${from}–${SOAK_MIN} (least squares${which === "gcd" ? ", GC'd" : ""}): rss ${per(which, "rss")} MB/min, heapUsed ${per(which, "heapUsed")} MB/min, external ${per(which, "external")} MB/min, arrayBuffers ${per(which, "arrayBuffers")} MB/min`,
        );
    }
    await Promise.all(calls.map((c) => c.close()));
  }
  insp.close();
  node.kill("SIGTERM");
  await new Promise((r) => node.once("exit", r));
  process.exit(0);
}

void main();
