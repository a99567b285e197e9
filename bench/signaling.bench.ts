// `npm run bench:signaling`: offer → answer latency through the emulator (HTTP → payload-2.0
// event → function → signed control API → a real media node answering with node-datachannel),
// p50 and p99, sequential and 20 concurrent; every session is deleted afterwards. The anchor,
// measured in the same run: GET /v1/health through the same emulator (HTTP + event + function +
// registry, no node work). Targets: p50 ≤ 20 ms, p99 ≤ 60 ms.

import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalGateway } from "../src/cli/local-gateway.js";
import { loadConfig } from "../src/config/index.js";
import { signRequest } from "../src/control/hmac.js";
import { createLogger } from "../src/log/index.js";
import { ClientPeer } from "../test/support/client-peer.js";

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 100);
const CONCURRENCY = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const OFFERS = 10;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function main() {
  const config = loadConfig({
    RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-sigbench-")),
    LOG_LEVEL: "silent",
    RTCGW_NODE_CAPACITY: "1000",
  });
  const logger = createLogger({ level: "silent" });
  // memory registry, free ports, admission guard off (it would measure the bench's peers too)
  const gateway = await startLocalGateway({ config, logger });
  const { node, emulator: emu } = gateway;

  // real client offers (Opus + datachannel), made before the clock starts
  const clients = await Promise.all(Array.from({ length: OFFERS }, () => ClientPeer.create()));
  const offers = clients.map((c) => c.offer);
  let next = 0;

  const created: { url: string; token: string }[] = [];
  const offerOnce = async (): Promise<number> => {
    const offer = offers[next++ % offers.length]!;
    const t0 = performance.now();
    const res = await fetch(`${emu.url}/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: offer,
    });
    await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 201) throw new Error(`POST /v1/sessions answered ${res.status}`);
    created.push({ url: res.headers.get("location")!, token: res.headers.get("rtcgw-session-token")! });
    return ms;
  };
  const deleteAll = async () => {
    const all = created.splice(0);
    await Promise.all(
      all.map((s) =>
        fetch(emu.url + s.url, { method: "DELETE", headers: { authorization: `Bearer ${s.token}` } }).then(
          (r) => r.text(),
        ),
      ),
    );
  };
  const health = async () => {
    const t0 = performance.now();
    const r = await fetch(`${emu.url}/v1/health`);
    await r.text();
    return performance.now() - t0;
  };

  // attribution: the node's own work, POSTed straight to its control API (no emulator, no function)
  const direct: string[] = [];
  const nodeOnce = async (): Promise<number> => {
    const sessionId = randomBytes(16).toString("base64url");
    const body = JSON.stringify({
      sessionId,
      kind: "session",
      profile: "echo",
      offer: offers[next++ % offers.length],
    });
    const t0 = performance.now();
    const res = await fetch(`${node.controlUrl}/internal/sessions`, {
      method: "POST",
      headers: {
        ...signRequest(node.secret, "POST", "/internal/sessions", body),
        "content-type": "application/json",
      },
      body,
    });
    await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 201) throw new Error(`control POST answered ${res.status}`);
    direct.push(sessionId);
    return ms;
  };
  const deleteDirect = async () => {
    for (const id of direct.splice(0)) {
      const path = `/internal/sessions/${id}`;
      await fetch(node.controlUrl + path, {
        method: "DELETE",
        headers: signRequest(node.secret, "DELETE", path),
      });
    }
  };

  // warm-up (JIT, connections), not measured
  for (let i = 0; i < 5; i++) await offerOnce();
  await deleteAll();

  const anchor: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) anchor.push(await health());

  const seq: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    seq.push(await offerOnce());
    if (created.length >= 20) await deleteAll();
  }
  await deleteAll();

  const conc: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    conc.push(...(await Promise.all(Array.from({ length: CONCURRENCY }, () => offerOnce()))));
    await deleteAll();
  }
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
  const left = node.sessions();

  const row = (name: string, xs: number[], targets: boolean) => {
    const p50 = pct(xs, 50);
    const p99 = pct(xs, 99);
    const verdict = targets
      ? ` | ${p50 <= 20 ? "✓" : "✗"} p50 ≤ 20 · ${p99 <= 60 ? "✓" : "✗"} p99 ≤ 60`
      : " | anchor";
    return `| ${name} | ${xs.length} | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms | ${Math.max(...xs).toFixed(1)} ms${verdict} |`;
  };
  process.stdout.write(
    [
      "offer → answer through the emulator with a real media node (POST /v1/sessions, Opus + datachannel offer)",
      "",
      "| what | n | p50 | p99 | max | target |",
      "|---|---:|---:|---:|---:|---|",
      row("GET /v1/health (anchor)", anchor, false),
      row("offer → answer, sequential", seq, true),
      row(`offer → answer, ${CONCURRENCY} concurrent`, conc, true),
      row("node control API alone, sequential (attribution)", nodeSeq, false),
      row(`node control API alone, ${CONCURRENCY} concurrent (attribution)`, nodeConc, false),
      "",
      `sessions left on the node after the deletes: ${left}`,
      "",
    ].join("\n"),
  );

  for (const c of clients) await c.close();
  await gateway.close();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`bench:signaling: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
