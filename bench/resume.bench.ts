// `npm run bench:resume`: how soon audio flows again after a resume. Each round, a
// node-datachannel caller makes a fresh echo session through the gateway (POST /v1/sessions), is
// heard back, drops its peer without DELETE (it stops sending and is never closed, as a lost
// network leaves it), and resumes the same session with a brand-new peer
// (POST /v1/sessions/{id}/resume). Timed from the POST to the first echoed RTP packet at the caller:
//   - resume: resume POST → first audio back on the new peer (the figure of issue 17);
//   - anchor: fresh session's offer POST → first audio back, the same caller code, same run.
// Both also split into POST → answer and POST → connected. Target: resume ≤ 500 ms p50 and no
// slower than a fresh session. Setup: `rtcgw dev` in this process (emulator HTTP → function →
// signed control API → one media node, memory registry) with the callers on the same event loop:
// one shared machine, so read the two rows against each other, not as absolutes.
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalGateway } from "../src/cli/local-gateway.js";
import { loadConfig } from "../src/config/index.js";
import { createLogger } from "../src/log/index.js";
import { ClientPeer } from "../test/support/client-peer.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Timing {
  answerMs: number;
  connectedMs: number;
  /** the first RTP packet back (for a resume, the echo's stream continuing: maybe silence) */
  packetMs: number;
  /** the first packet back that carries the caller's own tone, echoed */
  audioMs: number;
}

/** POST `body` to `url`, accept the answer on `c`, and time answer, connection and first audio */
async function timed(
  c: ClientPeer,
  url: string,
  headers: Record<string, string>,
  okStatus: number,
): Promise<{ t: Timing; res: Response }> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/sdp", ...headers },
    body: c.offer,
  });
  if (res.status !== okStatus) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  const answer = await res.text();
  const answerMs = performance.now() - t0;
  c.accept(answer);
  await c.connected(10_000);
  const connectedMs = performance.now() - t0;
  await c.until(() => c.firstAudibleAt !== undefined, 10_000, "the caller's tone echoed back");
  // the arrival times are wall time (Date.now) taken in the packet callback: t0 in wall time
  const wall0 = Date.now() - (performance.now() - t0);
  return {
    t: { answerMs, connectedMs, packetMs: c.firstReceivedAt! - wall0, audioMs: c.firstAudibleAt! - wall0 },
    res,
  };
}

async function main() {
  const config = loadConfig({
    ...process.env,
    RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-bench-resume-")),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    MEDIA_BIND_ADDRESS: "127.0.0.1",
  });
  const logger = createLogger({ level: config.LOG_LEVEL });
  const gw = await startLocalGateway({ config, logger });
  const base = gw.emulator!.url;
  const fresh: Timing[] = [];
  const resumed: Timing[] = [];
  const load0 = loadavg()[0]!;
  console.log(`bench:resume — ${ROUNDS} rounds (+${WARMUP} warm-up), load average ${load0.toFixed(2)}`);
  try {
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const opts = { direction: "sendrecv" as const, dataChannel: false as const };
      // offers are made before the clock starts: gathering is the caller's, not the gateway's
      const c1 = await ClientPeer.create(opts);
      const c2 = await ClientPeer.create(opts);
      try {
        const a = await timed(c1, `${base}/v1/sessions?profile=echo`, {}, 201);
        const location = a.res.headers.get("location")!;
        const auth = { authorization: `Bearer ${a.res.headers.get("rtcgw-session-token")}` };
        await c1.until(() => c1.stats.packetsReceived >= 10, 5000, "echo on the first peer");
        c1.stopSending(); // the network is gone: no DELETE, the peer is abandoned
        await sleep(100);
        const b = await timed(c2, `${base}${location}/resume`, auth, 200);
        if (i >= WARMUP) {
          fresh.push(a.t);
          resumed.push(b.t);
        }
        await fetch(`${base}${location}`, { method: "DELETE", headers: auth });
      } finally {
        await Promise.all([c1.close(), c2.close()]);
      }
    }
  } finally {
    await gw.close();
  }
  const row = (name: string, xs: Timing[]) => {
    const f = (k: keyof Timing) =>
      `${pct(
        xs.map((x) => x[k]),
        50,
      ).toFixed(0)} / ${pct(
        xs.map((x) => x[k]),
        99,
      ).toFixed(0)}`;
    console.log(
      `${name.padEnd(30)} ${f("answerMs").padStart(12)} ${f("connectedMs").padStart(15)} ${f("packetMs").padStart(17)} ${f("audioMs").padStart(15)}`,
    );
  };
  console.log(
    `\n${"ms, p50 / p99".padEnd(30)} ${"POST→answer".padStart(12)} ${"POST→connected".padStart(15)} ${"POST→first packet".padStart(17)} ${"POST→tone back".padStart(15)}`,
  );
  row("fresh session (anchor)", fresh);
  row("resume with a new peer", resumed);
  const r50 = pct(
    resumed.map((x) => x.audioMs),
    50,
  );
  const f50 = pct(
    fresh.map((x) => x.audioMs),
    50,
  );
  console.log(
    `\nresume → audio p50 ${r50.toFixed(0)} ms (target ≤ 500 ms: ${r50 <= 500 ? "met" : "NOT met"}); ` +
      `fresh ${f50.toFixed(0)} ms (resume no slower: ${r50 <= f50 ? "met" : `NOT met, +${(r50 - f50).toFixed(0)} ms`}); ` +
      `n = ${resumed.length}; load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
