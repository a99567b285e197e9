// Differential test: random sequences of registry calls (fast-check) run against all three stores
// side by side; every result (or error class) must be the same. This catches divergence the
// hand-written contract cases did not think of. Time does not move here (Redis TTLs are real
// time); expiry is covered by contract.ts.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoRegistry } from "../../src/registry/dynamodb.js";
import { MemoryRegistry } from "../../src/registry/memory.js";
import { RedisRegistry } from "../../src/registry/redis.js";
import type { Registry, SessionPatch } from "../../src/registry/types.js";
import { type DynaliteServer, startDynalite } from "../support/dynalite.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let redis: RedisServer;
let dynalite: DynaliteServer;
beforeAll(async () => {
  [redis, dynalite] = await Promise.all([startRedisServer(), startDynalite({ inMemory: true })]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), dynalite?.dispose()]);
});

const LONG = 60_000;
const HASH = "ef".repeat(32);
const nodeId = fc.constantFrom("n1", "n2", "n3");
const sessionId = fc.constantFrom("s1", "s2", "s3", "s4");
const state = fc.constantFrom("new", "connecting", "connected", "closed" as const);

type Call = (r: Registry) => Promise<unknown>;
const call = fc.oneof(
  fc
    .record({
      id: nodeId,
      capacity: fc.integer({ min: 0, max: 3 }),
      load: fc.integer({ min: 0, max: 4 }),
      draining: fc.boolean(),
    })
    .map((n): [string, Call] => [
      `registerNode(${JSON.stringify(n)})`,
      (r) => r.registerNode({ ...n, controlUrl: "http://127.0.0.1:9090" }, LONG),
    ]),
  fc
    .record({
      id: nodeId,
      load: fc.integer({ min: 0, max: 4 }),
      draining: fc.option(fc.boolean(), { nil: undefined }),
    })
    .map(({ id, load, draining }): [string, Call] => [
      `heartbeatNode(${id}, ${load}, ${draining})`,
      (r) => r.heartbeatNode(id, { load, ttlMs: LONG, ...(draining === undefined ? {} : { draining }) }),
    ]),
  nodeId.map((id): [string, Call] => [`removeNode(${id})`, (r) => r.removeNode(id)]),
  nodeId.map((id): [string, Call] => [`getNode(${id})`, (r) => r.getNode(id)]),
  fc.constant<[string, Call]>(["listNodes()", (r) => r.listNodes()]),
  // nodes about as loaded as the least are picked among at random: compare the utilisation
  // picked (capacities ≤ 3 here: only exact ties share the band), not which node
  fc.constant<[string, Call]>([
    "pickNode()",
    (r) => r.pickNode().then((n) => n && { utilisation: n.load / n.capacity }),
  ]),
  fc.record({ id: sessionId, node: nodeId, state }).map(({ id, node, state }): [string, Call] => [
    `createSession(${id}, ${node}, ${state})`,
    (r) =>
      r.createSession({
        id,
        nodeId: node,
        kind: "session",
        profile: "echo",
        tokenHash: HASH,
        state,
        etag: '"0"',
        ttlMs: LONG,
      }),
  ]),
  sessionId.map((id): [string, Call] => [`getSession(${id})`, (r) => r.getSession(id)]),
  fc
    .record({
      id: sessionId,
      version: fc.integer({ min: 0, max: 4 }),
      patch: fc.record(
        { state, etag: fc.constantFrom('"a"', '"b"'), nodeId, profile: fc.constantFrom("echo", "record") },
        { requiredKeys: [] },
      ),
    })
    .map(({ id, version, patch }): [string, Call] => [
      `updateSession(${id}, ${version}, ${JSON.stringify(patch)})`,
      (r) => r.updateSession(id, version, patch as SessionPatch),
    ]),
  sessionId.map((id): [string, Call] => [`deleteSession(${id})`, (r) => r.deleteSession(id)]),
  nodeId.map((id): [string, Call] => [`listSessionsByNode(${id})`, (r) => r.listSessionsByNode(id)]),
  fc
    .record({ id: sessionId, reason: fc.constantFrom("deleted", "peer-closed", "node-lost") })
    .map(({ id, reason }): [string, Call] => [
      `endSession(${id}, ${reason})`,
      (r) => r.endSession(id, { reason, ttlMs: LONG }),
    ]),
  sessionId.map((id): [string, Call] => [`getTombstone(${id})`, (r) => r.getTombstone(id)]),
  nodeId.map((id): [string, Call] => [`markNodeSuspect(${id})`, (r) => r.markNodeSuspect(id, LONG)]),
);

/** Results without the fields that legitimately differ (clocks), lists in a stable order. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v))
    return v.map(normalize).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  if (v && typeof v === "object") {
    const { createdAt: _c, expiresAt: _e, endedAt: _d, ...rest } = v as Record<string, unknown>;
    // a suspect mark's time is the writer's clock; that there is one must agree
    if (rest.suspectUntil !== undefined) rest.suspectUntil = "set";
    return rest;
  }
  return v;
}

async function outcome(r: Registry, f: Call): Promise<unknown> {
  try {
    return { ok: normalize(await f(r)) };
  } catch (e) {
    return { error: (e as Error).name };
  }
}

describe("memory, redis and dynamodb agree", () => {
  it("on random call sequences", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 25 }), async (calls) => {
        run++;
        const dynamo = new DynamoRegistry({ table: `diff-${run}`, endpoint: dynalite.endpoint });
        await dynamo.ensureTable();
        const stores: Registry[] = [
          new MemoryRegistry(),
          new RedisRegistry(redis.url, { keyPrefix: `diff-${run}:` }),
          dynamo,
        ];
        try {
          for (const [label, f] of calls) {
            const [m, rd, dy] = await Promise.all(stores.map((s) => outcome(s, f)));
            expect(rd, `redis after ${label}`).toEqual(m);
            expect(dy, `dynamodb after ${label}`).toEqual(m);
          }
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
      }),
      { numRuns: 40, seed: 20261124 },
    );
  });
});
