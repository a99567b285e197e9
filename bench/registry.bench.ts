// npm run bench:registry — latency of the signaling hot path (create a session, read it back,
// pick a node) against each registry store, with each store's bare round trip (ping) measured
// in the same run as the anchor: on a busy machine both move together, their ratio is what counts.
// Starts and stops its own redis-server and dynalite. BENCH_ITERATIONS=N to change the sample size.
import { randomBytes } from "node:crypto";
import { DynamoRegistry } from "../src/registry/dynamodb.js";
import { MemoryRegistry } from "../src/registry/memory.js";
import { RedisRegistry } from "../src/registry/redis.js";
import type { Registry } from "../src/registry/types.js";
import { startDynalite } from "../test/support/dynalite.js";
import { startRedisServer } from "../test/support/redis-server.js";

// The SDK's "Node 22 needed after January 2027" notice is true but would only clutter the table.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 1000);
const WARMUP = Math.min(200, Math.ceil(ITERATIONS / 5));
const NODES = 20;
const HASH = "cd".repeat(32);

interface Row {
  store: string;
  op: string;
  n: number;
  mean: number;
  p50: number;
  p99: number;
}

function stats(store: string, op: string, xs: number[]): Row {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { store, op, n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: q(0.5), p99: q(0.99) };
}

async function measure(store: string, r: Registry): Promise<Row[]> {
  for (let i = 0; i < NODES; i++) {
    await r.registerNode(
      {
        id: `bench-node-${i}`,
        controlUrl: `http://10.0.0.${i + 1}:9090`,
        capacity: 400,
        load: (i * 37) % 400,
      },
      600_000,
    );
  }
  const t = {
    create: [] as number[],
    get: [] as number[],
    pick: [] as number[],
    total: [] as number[],
    ping: [] as number[],
  };
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const id = randomBytes(16).toString("base64url");
    const t0 = performance.now();
    await r.ping();
    const t1 = performance.now();
    await r.createSession({
      id,
      nodeId: `bench-node-${i % NODES}`,
      kind: "session",
      profile: "echo",
      tokenHash: HASH,
      state: "new",
      etag: `"${id}"`,
      ttlMs: 600_000,
    });
    const t2 = performance.now();
    const got = await r.getSession(id);
    const t3 = performance.now();
    const picked = await r.pickNode();
    const t4 = performance.now();
    if (!got || !picked) throw new Error(`${store}: lost a session or found no node`);
    if (i < WARMUP) continue;
    t.ping.push(t1 - t0);
    t.create.push(t2 - t1);
    t.get.push(t3 - t2);
    t.pick.push(t4 - t3);
    t.total.push(t4 - t1);
  }
  return [
    stats(store, "create+get+pick", t.total),
    stats(store, "createSession", t.create),
    stats(store, "getSession", t.get),
    stats(store, `pickNode (${NODES} nodes)`, t.pick),
    stats(store, "anchor: ping", t.ping),
  ];
}

function table(rows: Row[]): string {
  const ms = (x: number) => (x < 0.1 ? x.toFixed(4) : x.toFixed(3));
  const lines = [
    "| store | operation | n | mean ms | p50 ms | p99 ms |",
    "|---|---|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.store} | ${r.op} | ${r.n} | ${ms(r.mean)} | ${ms(r.p50)} | ${ms(r.p99)} |`),
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const memory = new MemoryRegistry();
  rows.push(...(await measure("memory", memory)));
  await memory.close();

  const redisServer = await startRedisServer();
  try {
    const redis = new RedisRegistry(redisServer.url);
    rows.push(...(await measure("redis", redis)));
    await redis.close();
  } finally {
    await redisServer.stop();
  }

  const dyn = await startDynalite({ inMemory: true });
  try {
    const dynamo = new DynamoRegistry({ table: "bench", endpoint: dyn.endpoint });
    await dynamo.ensureTable();
    rows.push(...(await measure("dynamodb (dynalite)", dynamo)));
    await dynamo.close();
  } finally {
    await dyn.dispose();
  }

  const cpus = (await import("node:os")).cpus();
  process.stdout.write(
    `registry latency, ${ITERATIONS} iterations after ${WARMUP} warm-up, Node ${process.version}, ` +
      `${cpus.length} × ${cpus[0]?.model ?? "cpu"}; anchor = one bare round trip to the same store\n\n`,
  );
  process.stdout.write(`${table(rows)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:registry failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
