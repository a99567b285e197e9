// The registry contract against dynalite (a real DynamoDB implementation) in this process.
import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DynamoRegistry,
  REGISTRY_TABLE_SCHEMA,
  registryTableDefinition,
} from "../../src/registry/dynamodb.js";
import { RegistryUnavailableError } from "../../src/registry/errors.js";
import { openRegistry } from "../../src/registry/open.js";
import { type DynaliteServer, startDynalite } from "../support/dynalite.js";
import { freePort } from "../support/redis-server.js";
import { node, registryContract, session } from "./contract.js";

let server: DynaliteServer;
beforeAll(async () => {
  server = await startDynalite();
});
afterAll(async () => {
  await server?.dispose();
});

describe("dynamodb registry", () => {
  // Expiry is computed and checked on the client, so a fake clock tests it without waiting.
  let now = Date.now();
  let n = 0;
  const tables = new WeakMap<DynamoRegistry, string>();
  const connect = (table: string) => {
    const r = new DynamoRegistry({ table, endpoint: server.endpoint, now: () => now });
    tables.set(r, table);
    return r;
  };
  registryContract({
    // Every test gets its own table: isolated data on one server.
    open: async () => {
      const r = connect(`registry-${++n}`);
      await r.ensureTable();
      return r;
    },
    connectAgain: async (r) => connect(tables.get(r as DynamoRegistry)!),
    elapse: async (ms) => {
      now += ms;
    },
    shortTtlMs: 1000,
    outage: { stop: () => server.stop(), start: () => server.start() },
  });

  it("is what openRegistry returns for dynamodb:TABLE@endpoint", async () => {
    const r = await openRegistry(
      { kind: "dynamodb", table: "opened", endpoint: server.endpoint },
      { ensureTable: true },
    );
    try {
      expect(r).toBeInstanceOf(DynamoRegistry);
      await r.createSession(session("s1", "n1"));
      expect((await r.getSession("s1"))?.id).toBe("s1");
    } finally {
      await r.close();
    }
  });

  it("writes the DynamoDB TTL attribute in epoch seconds (rounded up) beside the ms expiry", async () => {
    const r = connect("ttl-attr");
    await r.ensureTable();
    try {
      const s = await r.createSession(session("s1", "n1", { ttlMs: 1500 }));
      const { Item } = await r.http.call("GetItem", {
        TableName: "ttl-attr",
        Key: { pk: { S: "SESSION#s1" }, sk: { S: "SESSION" } },
      });
      expect(Number(Item![REGISTRY_TABLE_SCHEMA.expiresAtMsAttribute]!.N)).toBe(s.expiresAt);
      expect(Number(Item![REGISTRY_TABLE_SCHEMA.ttlAttribute]!.N)).toBe(Math.ceil(s.expiresAt / 1000));
      expect(Item!.gsi1pk!.S).toBe("NODE#n1");
    } finally {
      await r.close();
    }
  });

  it("expired items that DynamoDB has not deleted yet are invisible, and do not hold their id", async () => {
    const r = connect("lingering");
    await r.ensureTable();
    try {
      await r.registerNode(node("n1"), 1000);
      await r.createSession(session("s1", "n1", { ttlMs: 1000 }));
      now += 1001;
      // dynalite never deletes: the items are still stored …
      const raw = await r.http.call("Scan", { TableName: "lingering" });
      expect(raw.Items).toHaveLength(2);
      // … but no read returns them, and the id can be created again
      expect(await r.getSession("s1")).toBeUndefined();
      expect(await r.listSessionsByNode("n1")).toEqual([]);
      expect(await r.listNodes()).toEqual([]);
      expect((await r.createSession(session("s1", "n1"))).version).toBe(1);
    } finally {
      await r.close();
    }
  });

  it("exports a table definition with the key schema and the byNode index", () => {
    const def = registryTableDefinition("t");
    expect(def.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(def.GlobalSecondaryIndexes?.[0]?.IndexName).toBe("byNode");
  });

  it("a missing table is RegistryUnavailableError naming the table", async () => {
    const r = connect("does-not-exist");
    try {
      await expect(r.getSession("s1")).rejects.toBeInstanceOf(RegistryUnavailableError);
      await expect(r.getSession("s1")).rejects.toThrow(/table does-not-exist does not exist/);
    } finally {
      await r.close();
    }
  });

  it("an endpoint nobody listens on is RegistryUnavailableError quickly", async () => {
    const r = new DynamoRegistry({
      table: "x",
      endpoint: `http://127.0.0.1:${await freePort()}`,
      timeoutMs: 500,
    });
    try {
      const t0 = performance.now();
      await expect(r.ping()).rejects.toBeInstanceOf(RegistryUnavailableError);
      expect(performance.now() - t0).toBeLessThan(1500);
    } finally {
      await r.close();
    }
  });

  it("an endpoint that accepts connections but never answers is RegistryUnavailableError within the bound", async () => {
    // A black hole: TCP connects, no HTTP response ever comes (a hung load balancer, a frozen host).
    const sockets = new Set<Socket>();
    const hole = createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
    });
    await new Promise<void>((res) => hole.listen(0, "127.0.0.1", res));
    const port = (hole.address() as AddressInfo).port;
    const r = new DynamoRegistry({
      table: "x",
      endpoint: `http://127.0.0.1:${port}`,
      timeoutMs: 300,
      maxAttempts: 2,
    });
    try {
      const t0 = performance.now();
      const err = await r.getSession("s1").catch((e: unknown) => e);
      const ms = performance.now() - t0;
      expect(err).toBeInstanceOf(RegistryUnavailableError);
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(1500);
    } finally {
      await r.close();
      for (const s of sockets) s.destroy();
      await new Promise((res) => hole.close(res));
    }
  });

  it("the data survives the server's restart", async () => {
    const r = connect("durable");
    await r.ensureTable();
    try {
      const s = await r.createSession(session("kept", "n1"));
      await server.stop();
      await server.start();
      expect(await r.getSession("kept")).toEqual(s);
    } finally {
      await r.close();
    }
  });
});
