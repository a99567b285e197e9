// npm run bench:churn — connect/abort churn and a soak against one media node process: does
// anything leak when clients misbehave?
//
// Churn: `--cycles` (2000) connect/abort cycles, `--parallel` (8) at a time, of mixed clients:
//   close    connects, sends 200 ms of audio, closes properly
//   abort    posts its offer, closes before ever applying the answer (never connects)
//   garbage  connects, sends 50 random datagrams on its audio track (not RTP), then closes
//   vanish   connects in a child process that is SIGKILLed (no DTLS alert, nothing): the
//            node can only reap it by its timeouts (1 s here)
// then waits for the node's watchdog and reports: sessions left (the node's own count), open
// fds and RSS of the node process against the baseline taken before the churn, event-loop p99.
// Soak (`--soak-minutes`, default 10; 0 = skip): `--soak-calls` (100) calls of `--soak-profile`
// (record) held that long, the node's RSS sampled each minute (a trend up would be a leak).
// `--cycles 0` runs the soak alone.
//
//   npm run bench:churn -- [--cycles 2000] [--parallel 8] [--soak-minutes 10] [--soak-calls 100]
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { signRequest } from "../src/control/hmac.js";
import { freeUdpPort } from "../src/node/process/udp-port.js";
import { ClientPeer, VanishingClients } from "../test/support/client-peer.js";

const { values: args } = parseArgs({
  options: {
    cycles: { type: "string", default: "2000" },
    parallel: { type: "string", default: "8" },
    "soak-minutes": { type: "string", default: "10" },
    "soak-calls": { type: "string", default: "100" },
    "soak-profile": { type: "string", default: "record" },
  },
});
const CYCLES = Number(args.cycles);
const PARALLEL = Number(args.parallel);
const SOAK_MIN = Number(args["soak-minutes"]);
const SOAK_CALLS = Number(args["soak-calls"]);
const SOAK_PROFILE = args["soak-profile"]!;
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

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

let url = "";
async function control(method: string, path: string, body?: unknown) {
  const text = body === undefined ? "" : JSON.stringify(body);
  const res = await fetch(url + path, {
    method,
    headers: signRequest(SECRET, method, path, text),
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
  const m = /rtcgw_event_loop_delay_seconds\{[^}]*quantile="0\.99"[^}]*\} ([\d.e+-]+)/.exec(text);
  return m ? Number(m[1]) * 1000 : Number.NaN;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = "close" | "abort" | "garbage" | "vanish";
const KINDS: Kind[] = ["close", "abort", "garbage", "vanish"];
const done: Record<Kind, number> = { close: 0, abort: 0, garbage: 0, vanish: 0 };
const failed: Record<Kind, number> = { close: 0, abort: 0, garbage: 0, vanish: 0 };
/** why cycles failed (an offer refused with its status, a connect that timed out…) */
const reasons = new Map<string, number>();

async function cycle(kind: Kind, vanishing: VanishingClients): Promise<void> {
  const id = newId();
  if (kind === "vanish") {
    const p = await vanishing.create({ decode: false, dataChannel: false });
    const r = await offer(id, p.offer);
    if (r.status !== 201) throw new Error(`offer ${r.status} ${(r.json as { code?: string })?.code ?? ""}`);
    await vanishing.accept(p.id, r.json.answer!);
    await vanishing.connected(p.id, 10_000);
    return; // the child is SIGKILLed with its peers every few cycles
  }
  const c = await ClientPeer.create({ decode: false, dataChannel: false, autoSend: kind === "close" });
  try {
    const r = await offer(id, c.offer);
    if (r.status !== 201) throw new Error(`offer ${r.status} ${(r.json as { code?: string })?.code ?? ""}`);
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

async function main() {
  const nodePort = await freeTcpPort();
  const udp = await freeUdpPort("127.0.0.1");
  url = `http://127.0.0.1:${nodePort}`;
  const node: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/node/process/worker.ts"], {
    env: {
      ...process.env,
      RTCGW_REGISTRY: "memory",
      RTCGW_NODE_SECRET: SECRET,
      NODE_PORT: String(nodePort),
      MEDIA_UDP_PORT: String(udp),
      RTCGW_NODE_CAPACITY: "5000",
      // short timeouts: the clients that vanish or never connect are reaped within seconds
      RTCGW_CONNECT_TIMEOUT: "3",
      RTCGW_MEDIA_TIMEOUT: "3",
      RTCGW_DISCONNECT_TIMEOUT: "2",
      RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-churn-")),
      LOG_LEVEL: "error",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/metrics`)).ok) break;
    } catch {}
    if (i > 300) throw new Error("the node did not start");
    await sleep(100);
  }
  const pid = node.pid!;
  if (CYCLES === 0) return soak(pid, node);
  // baseline: after one warm-up call of each kind has come and gone
  let vanishing = new VanishingClients();
  for (const k of KINDS) await cycle(k, vanishing).catch(() => {});
  await vanishing.kill();
  await sleep(8000);
  const base = { fds: fds(pid), rss: rssMb(pid), sessions: await load() };
  console.log(`baseline: ${base.sessions} sessions, ${base.fds} fds, RSS ${base.rss.toFixed(1)} MB`);

  const t0 = Date.now();
  let next = 0;
  let p99 = 0;
  vanishing = new VanishingClients();
  let inVanishing = 0;
  const kills: Promise<void>[] = [];
  const worker = async () => {
    while (next < CYCLES) {
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
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  await Promise.all(kills);
  await vanishing.kill();
  clearInterval(sampler);
  const churnS = (Date.now() - t0) / 1000;
  // the watchdog's longest timeout (3 s) and the close waits (2 s), with room
  await sleep(10_000);
  const after = { fds: fds(pid), rss: rssMb(pid), sessions: await load() };
  console.log(
    `\nchurn: ${CYCLES} cycles in ${churnS.toFixed(0)} s (${PARALLEL} at a time): ` +
      KINDS.map((k) => `${k} ${done[k]}${failed[k] ? ` (${failed[k]} failed)` : ""}`).join(", "),
  );
  if (reasons.size) console.log(`  failed cycles: ${[...reasons].map(([w, n]) => `${n} × ${w}`).join("; ")}`);
  console.log(`  sessions left   ${after.sessions}            (target 0)`);
  console.log(
    `  fds             ${after.fds} vs ${base.fds} at baseline (${after.fds - base.fds >= 0 ? "+" : ""}${after.fds - base.fds})`,
  );
  console.log(
    `  RSS             ${after.rss.toFixed(1)} MB vs ${base.rss.toFixed(1)} MB (${(after.rss - base.rss).toFixed(1)} MB growth; target < 10)`,
  );
  console.log(`  event-loop p99  ${p99.toFixed(1)} ms (worst sample during the churn)`);

  await soak(pid, node);
}

async function soak(pid: number, node: ChildProcess): Promise<void> {
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
    const samples = [rssMb(pid)];
    console.log(
      `\nsoak: ${SOAK_CALLS} ${SOAK_PROFILE} calls for ${SOAK_MIN} min; node RSS each minute (MB):`,
    );
    for (let m = 1; m <= SOAK_MIN; m++) {
      await sleep(60_000);
      samples.push(rssMb(pid));
      console.log(
        `  min ${m}: ${samples.at(-1)!.toFixed(1)}  (sessions ${await load()}, loop p99 ${(await loopP99Ms()).toFixed(1)} ms)`,
      );
    }
    const half = Math.floor(samples.length / 2);
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    console.log(
      `  first half mean ${mean(samples.slice(0, half || 1)).toFixed(1)} MB, second half ${mean(samples.slice(half)).toFixed(1)} MB`,
    );
    await Promise.all(calls.map((c) => c.close()));
  }
  node.kill("SIGTERM");
  await new Promise((r) => node.once("exit", r));
  process.exit(0);
}

void main();
