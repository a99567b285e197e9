// `npm run bench:functions`: the function bundles' sizes and cold start. Each bundle is built for
// the dynamodb store (the cloud default), then for every function a fresh `node` process imports
// the bundle and handles its first event against a real DynamoDB implementation (dynalite) —
// the median of several runs. Anchors, measured in the same run: a fresh `node` process that
// imports nothing (what any lambda pays before our code starts), and the whip bundle built for the
// memory store: its import is the floor the dynamodb store's import is measured against (its
// invocation is not comparable: functions refuse the memory store with a 500).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildFunctions, formatReport } from "../scripts/build-functions.js";
import { DynamoRegistry } from "../src/registry/dynamodb.js";
import type { HandlerName } from "../src/signaling/routes.js";
import { startDynalite } from "../test/support/dynalite.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
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

  const db = await startDynalite({ inMemory: true });
  const reg = new DynamoRegistry({ table: TABLE, endpoint: db.endpoint });
  await reg.ensureTable();
  await reg.close();
  const dir = mkdtempSync(join(tmpdir(), "rtcgw-fnbench-"));
  const child = join(dir, "child.mjs");
  writeFileSync(child, CHILD);
  const env = {
    ...process.env,
    RTCGW_REGISTRY: `dynamodb:${TABLE}@${db.endpoint}`,
    RTCGW_NODE_SECRET: "bench-secret-0123456789abcdef",
    LOG_LEVEL: "silent",
    AWS_REGION: "us-east-1",
  };
  type Sample = { startMs: number; importMs: number; invokeMs: number; coldMs: number; status: number };
  // async spawn: dynalite lives in this process and must keep answering while the child runs
  const run = (file: string | undefined, event: unknown, registry = env.RTCGW_REGISTRY) =>
    new Promise<Sample>((resolve, reject) => {
      const c = spawn(process.execPath, [child, ...(file ? [pathToFileURL(file).href] : [])], {
        env: { ...env, RTCGW_REGISTRY: registry, BENCH_EVENT: JSON.stringify(event ?? {}) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      c.stdout.on("data", (d) => {
        out += d;
      });
      c.stderr.on("data", (d) => {
        err += d;
      });
      c.on("exit", (code) =>
        code === 0 ? resolve(JSON.parse(out) as Sample) : reject(new Error(`child failed: ${err}`)),
      );
    });
  const times = async (n: number, f: () => Promise<Sample>) => {
    const out: Sample[] = [];
    for (let i = 0; i < n; i++) out.push(await f());
    return out;
  };

  const anchor = await times(RUNS, () => run(undefined, undefined));
  const nodeStart = median(anchor.map((a) => a.startMs));
  const rows: string[] = [
    `cold start: fresh node process, import + first invocation against dynalite, median of ${RUNS}`,
    `anchor: an empty node process reaches its first line in ${nodeStart.toFixed(1)} ms (not included below)`,
    "",
    "| function | first status | import | first invocation | cold start | target |",
    "|---|---:|---:|---:|---:|---|",
  ];
  let ok = true;
  for (const r of reports) {
    const runs = await times(RUNS, () => run(r.file, eventFor(r.name)));
    const cold = median(runs.map((x) => x.coldMs));
    const pass = cold <= TARGET_MS;
    ok &&= pass;
    rows.push(
      `| ${r.name} | ${runs[0]!.status} | ${median(runs.map((x) => x.importMs)).toFixed(1)} ms | ${median(runs.map((x) => x.invokeMs)).toFixed(1)} ms | ${cold.toFixed(1)} ms | ${pass ? "✓" : "✗"} ≤ ${TARGET_MS} ms |`,
    );
  }
  const memDir = mkdtempSync(join(tmpdir(), "rtcgw-fnbench-memory-"));
  const mem = (await buildFunctions({ registry: "memory", outDir: memDir })).find((r) => r.name === "whip")!;
  const memRuns = await times(RUNS, () => run(mem.file, eventFor("whip"), "memory"));
  rows.push(
    `| anchor: whip, memory store (${(mem.bytes / 1024).toFixed(1)} KB) | ${memRuns[0]!.status} | ${median(memRuns.map((x) => x.importMs)).toFixed(1)} ms | ${median(memRuns.map((x) => x.invokeMs)).toFixed(1)} ms | ${median(memRuns.map((x) => x.coldMs)).toFixed(1)} ms | anchor |`,
  );
  rmSync(memDir, { recursive: true, force: true });
  process.stdout.write(`${rows.join("\n")}\n`);
  await db.dispose();
  if (!ok) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench:functions: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
