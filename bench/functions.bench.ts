// `npm run bench:functions`: the function bundles' sizes and cold start. Each bundle is built for
// the dynamodb store (the cloud default), then for every function a fresh `node` process imports
// the bundle and handles its first event against a real DynamoDB implementation (dynalite) —
// the median of several runs. Anchors, measured in the same run: a fresh `node` process that
// imports nothing (what any lambda pays before our code starts), and the whip bundle built for the
// memory store: its import is the floor the dynamodb store's import is measured against (its
// invocation is not comparable: functions refuse the memory store with a 500). The functions are
// run round robin after one uncounted warm-up round. Last, for attribution, whip's whole path:
// 201 through a real media node registered in the table (the main rows find no node: 503).
// BENCH_BEFORE=<dir of bundles> adds those bundles to the same rounds, for a before/after table.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildFunctions, formatReport } from "../scripts/build-functions.js";
import { loadConfig } from "../src/config/index.js";
import { createLogger } from "../src/log/index.js";
import { startMediaNode } from "../src/node/index.js";
import { DynamoRegistry } from "../src/registry/dynamodb.js";
import type { HandlerName } from "../src/signaling/routes.js";
import { ClientPeer } from "../test/support/client-peer.js";
import { startDynalite } from "../test/support/dynalite.js";
import { runChild } from "../test/support/run-child.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
/** optional: a directory of other bundles (<name>/index.mjs, e.g. an older commit's build) measured in the same rounds */
const BEFORE = process.env.BENCH_BEFORE;
const TARGET_MS = 100;
const TABLE = "rtcgw-bench";

/** The first event each function gets: a realistic request that reaches the registry. */
const FIRST_EVENT: Record<
  HandlerName,
  {
    routeKey: string;
    path: string;
    body?: string;
    headers?: Record<string, string>;
    pathParameters?: Record<string, string>;
  }
> = {
  whip: {
    routeKey: "POST /v1/whip",
    path: "/v1/whip",
    headers: { "content-type": "application/sdp" },
    body: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n",
  },
  sessions: {
    routeKey: "GET /v1/sessions/{id}",
    path: `/v1/sessions/${"A".repeat(44)}`,
    pathParameters: { id: "A".repeat(44) },
    headers: { authorization: "Bearer x" },
  },
  whep: {
    routeKey: "POST /v1/whep/{id}",
    path: `/v1/whep/${"A".repeat(44)}`,
    pathParameters: { id: "A".repeat(44) },
    headers: { "content-type": "application/sdp" },
    body: "v=0\r\n",
  },
  health: { routeKey: "GET /v1/health", path: "/v1/health" },
  options: { routeKey: "OPTIONS /v1/whip", path: "/v1/whip" },
};

function eventFor(name: HandlerName) {
  const e = FIRST_EVENT[name];
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: e.routeKey,
    rawPath: e.path,
    rawQueryString: "",
    headers: { host: "bench.local", ...e.headers },
    requestContext: {
      accountId: "000000000000",
      apiId: "bench",
      domainName: "bench.local",
      domainPrefix: "bench",
      http: {
        method: e.routeKey.split(" ")[0],
        path: e.path,
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "bench",
      },
      requestId: "bench",
      routeKey: e.routeKey,
      stage: "$default",
      time: "",
      timeEpoch: now,
    },
    ...(e.body ? { body: e.body } : {}),
    ...(e.pathParameters ? { pathParameters: e.pathParameters } : {}),
    isBase64Encoded: false,
  };
}

// runs in the fresh process: times are from the process's own time origin
const CHILD = `
const t0 = performance.now();
const file = process.argv[2];
let status = 0, t1 = t0, t2 = t0;
if (file) {
  const m = await import(file);
  t1 = performance.now();
  const r = await m.handler(JSON.parse(process.env.BENCH_EVENT));
  t2 = performance.now();
  status = r.statusCode;
}
process.stdout.write(JSON.stringify({ startMs: t0, importMs: t1 - t0, invokeMs: t2 - t1, coldMs: t2 - t0, status }));
process.exit(0);
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const reports = await buildFunctions({ registry: "dynamodb" });
  process.stdout.write(`${formatReport(reports, "dynamodb")}\n\n`);
  const memDir = mkdtempSync(join(tmpdir(), "rtcgw-fnbench-memory-"));
  const mem = (await buildFunctions({ registry: "memory", outDir: memDir })).find((r) => r.name === "whip")!;

  const db = await startDynalite({ inMemory: true });
  const reg = new DynamoRegistry({ table: TABLE, endpoint: db.endpoint });
  await reg.ensureTable();
  const dir = mkdtempSync(join(tmpdir(), "rtcgw-fnbench-"));
  const child = join(dir, "child.mjs");
  writeFileSync(child, CHILD);
  const secret = "bench-secret-0123456789abcdef";
  const env = {
    ...process.env,
    RTCGW_REGISTRY: `dynamodb:${TABLE}@${db.endpoint}`,
    RTCGW_NODE_SECRET: secret,
    LOG_LEVEL: "silent",
    AWS_REGION: "us-east-1",
  };
  type Sample = { startMs: number; importMs: number; invokeMs: number; coldMs: number; status: number };
  // async spawn: dynalite lives in this process and must keep answering while the child runs
  const run = async (file: string | undefined, event: unknown, registry = env.RTCGW_REGISTRY) => {
    const r = await runChild(process.execPath, [child, ...(file ? [pathToFileURL(file).href] : [])], {
      env: { ...env, RTCGW_REGISTRY: registry, BENCH_EVENT: JSON.stringify(event ?? {}) },
    });
    if (r.code !== 0) throw new Error(`child failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Sample;
  };

  // Round robin, so the shared machine's load drifts over every target alike; round 0 warms the
  // page cache and dynalite's own code paths and is not counted.
  const targets: { name: string; run: () => Promise<Sample> }[] = [
    { name: "empty", run: () => run(undefined, undefined) },
    ...reports.map((r) => ({ name: r.name, run: () => run(r.file, eventFor(r.name)) })),
    { name: "memory", run: () => run(mem.file, eventFor("whip"), "memory") },
    ...(BEFORE
      ? reports.map((r) => ({
          name: `before:${r.name}`,
          run: () => run(join(BEFORE, r.name, "index.mjs"), eventFor(r.name)),
        }))
      : []),
  ];
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round <= RUNS; round++)
    for (const t of targets) {
      const x = await t.run();
      if (round > 0) samples.get(t.name)!.push(x);
    }
  const med = (name: string, k: "importMs" | "invokeMs" | "coldMs" | "startMs") =>
    median(samples.get(name)!.map((x) => x[k]));
  const row = (label: string, name: string, target: string) =>
    `| ${label} | ${samples.get(name)![0]!.status} | ${med(name, "importMs").toFixed(1)} ms | ${med(name, "invokeMs").toFixed(1)} ms | ${med(name, "coldMs").toFixed(1)} ms | ${target} |`;

  const rows: string[] = [
    `cold start: fresh node process, import + first invocation against dynalite, median of ${RUNS} (round robin, after one warm-up round)`,
    `anchor: an empty node process reaches its first line in ${med("empty", "startMs").toFixed(1)} ms (not included below)`,
    "",
    "| function | first status | import | first invocation | cold start | target |",
    "|---|---:|---:|---:|---:|---|",
  ];
  let ok = true;
  for (const r of reports) {
    const pass = med(r.name, "coldMs") <= TARGET_MS;
    ok &&= pass;
    rows.push(row(r.name, r.name, `${pass ? "✓" : "✗"} ≤ ${TARGET_MS} ms`));
  }
  rows.push(row(`anchor: whip, memory store (${(mem.bytes / 1024).toFixed(1)} KB)`, "memory", "anchor"));
  if (BEFORE) {
    rows.push(
      "",
      `the same functions built from ${BEFORE}, in the same rounds:`,
      "",
      "| function | first status | import | first invocation | cold start | after → |",
      "|---|---:|---:|---:|---:|---|",
    );
    for (const r of reports) {
      const b = `before:${r.name}`;
      const after = med(r.name, "coldMs");
      const change = (after / med(b, "coldMs") - 1) * 100;
      const sign = change <= 0 ? "−" : "+";
      rows.push(
        row(`${r.name} (before)`, b, `${after.toFixed(1)} ms (${sign}${Math.abs(change).toFixed(0)} %)`),
      );
    }
  }

  // Attribution: the whole whip path, 201 through a real media node registered in the same table
  // (the rows above find no node and answer 503). Includes the node's own work on the offer.
  const node = await startMediaNode({
    config: loadConfig({ RTCGW_NODE_SECRET: secret, LOG_LEVEL: "silent", RECORDINGS_DIR: join(dir, "rec") }),
    registry: reg,
    logger: createLogger({ level: "silent" }),
    controlPort: 0,
    udpPort: 0,
  });
  const client = await ClientPeer.create({ direction: "sendonly", dataChannel: false });
  const whip = reports.find((r) => r.name === "whip")!;
  const withNode = { ...eventFor("whip"), body: client.offer };
  samples.set("whip-node", []);
  for (let round = 0; round <= RUNS; round++) {
    const x = await run(whip.file, withNode);
    if (round > 0) samples.get("whip-node")!.push(x);
  }
  rows.push(row("attribution: whip → 201 through a real media node", "whip-node", "attribution"));
  await client.close();
  await node.close();

  process.stdout.write(`${rows.join("\n")}\n`);
  await reg.close();
  await db.dispose();
  rmSync(memDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  if (!ok) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench:functions: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
