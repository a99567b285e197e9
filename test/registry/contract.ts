// The registry contract, run against every store (memory.test.ts, redis.test.ts, dynamodb.test.ts).
// A store passes only if it behaves exactly like the others on every case below.
import { afterEach, describe, expect, it } from "vitest";
import {
  ConflictError,
  type NewSession,
  type NodeRecord,
  NotFoundError,
  type Registry,
  RegistryUnavailableError,
  RegistryValidationError,
} from "../../src/registry/index.js";

export interface StoreHarness {
  /** a fresh, empty registry (isolated from other tests) */
  open(): Promise<Registry>;
  /** let `ms` of registry time pass: a fake clock where the store allows, else a real wait */
  elapse(ms: number): Promise<void>;
  /** a TTL short enough to wait out in expiry tests */
  shortTtlMs: number;
  /** a second client on the same data as `r` (stores with a server; memory has none) */
  connectAgain?: (r: Registry) => Promise<Registry>;
  /** take the store's server away and bring it back on the same address (not for memory) */
  outage?: { stop(): Promise<void>; start(): Promise<void> };
}

const LONG = 60_000;
const HASH = "ab".repeat(32);

export function node(id: string, over: Partial<NodeRecord> = {}): Omit<NodeRecord, "expiresAt"> {
  return { id, controlUrl: "http://127.0.0.1:9090", capacity: 10, load: 0, ...over };
}

export function session(id: string, nodeId: string, over: Partial<NewSession> = {}): NewSession {
  return {
    id,
    nodeId,
    kind: "session",
    profile: "echo",
    tokenHash: HASH,
    state: "new",
    etag: '"v1"',
    ttlMs: LONG,
    ...over,
  };
}

/** Settle all promises and sort outcomes: which fulfilled, which rejected with what. */
async function outcomes<T>(ps: Promise<T>[]) {
  const rs = await Promise.allSettled(ps);
  return {
    won: rs
      .filter((r): r is PromiseFulfilledResult<Awaited<T>> => r.status === "fulfilled")
      .map((r) => r.value),
    lost: rs.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as Error),
  };
}

export function registryContract(h: StoreHarness): void {
  const opened: Registry[] = [];
  const open = async () => {
    const r = await h.open();
    opened.push(r);
    return r;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((r) => r.close().catch(() => {})));
  });
  const ttl = h.shortTtlMs;

  describe("nodes", () => {
    it("registers, reads back and lists a node", async () => {
      const r = await open();
      const before = Date.now();
      const n = await r.registerNode(node("n1", { capacity: 5, load: 2 }), LONG);
      expect(n).toMatchObject({ id: "n1", capacity: 5, load: 2, controlUrl: "http://127.0.0.1:9090" });
      expect(n.draining).toBeUndefined();
      expect(n.expiresAt).toBeGreaterThanOrEqual(before + LONG - 1000);
      expect(await r.getNode("n1")).toEqual(n);
      expect(await r.listNodes()).toEqual([n]);
      expect(await r.getNode("n2")).toBeUndefined();
    });

    it("re-registering a node replaces its record (and clears draining)", async () => {
      const r = await open();
      await r.registerNode(node("n1", { draining: true, load: 3 }), LONG);
      const again = await r.registerNode(node("n1", { load: 0 }), LONG);
      expect(again.draining).toBeUndefined();
      expect(await r.getNode("n1")).toEqual(again);
      expect(await r.listNodes()).toHaveLength(1);
    });

    it("keeps a node's TURN URLs in order through get, list, pick and heartbeats; re-registering replaces them", async () => {
      const r = await open();
      const urls = [
        "turn:203.0.113.7:3478?transport=udp",
        "turn:203.0.113.7:3478?transport=tcp",
        "turns:turn-1.example.com:443?transport=tcp",
      ];
      const n = await r.registerNode(node("n1", { turnUrls: urls }), LONG);
      expect(n.turnUrls).toEqual(urls);
      expect((await r.getNode("n1"))?.turnUrls).toEqual(urls);
      expect((await r.listNodes())[0]?.turnUrls).toEqual(urls);
      expect((await r.pickNode())?.turnUrls).toEqual(urls);
      expect((await r.heartbeatNode("n1", { load: 3, ttlMs: LONG })).turnUrls).toEqual(urls);
      expect((await r.getNode("n1"))?.turnUrls).toEqual(urls);
      // a node without TURN: the field is absent, also after it announced some before
      const again = await r.registerNode(node("n1"), LONG);
      expect(again.turnUrls).toBeUndefined();
      expect((await r.getNode("n1"))?.turnUrls).toBeUndefined();
      expect((await r.registerNode(node("n2", { turnUrls: [] }), LONG)).turnUrls).toBeUndefined();
      expect((await r.getNode("n2"))?.turnUrls).toBeUndefined();
    });

    it("refuses TURN URLs that are not turn:/turns:, carry credentials or would break a Link header", async () => {
      const r = await open();
      for (const bad of [
        "stun:203.0.113.7:3478",
        "turn:user:pass@203.0.113.7:3478",
        "turn:203.0.113.7:3478, turn:evil.example.com",
        'turn:203.0.113.7>; rel="x"',
        "",
      ])
        await expect(r.registerNode(node("n1", { turnUrls: [bad] }), LONG)).rejects.toBeInstanceOf(
          RegistryValidationError,
        );
      await expect(
        r.registerNode(node("n1", { turnUrls: "turn:203.0.113.7" as unknown as string[] }), LONG),
      ).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(
        r.registerNode(
          node("n1", { turnUrls: Array.from({ length: 9 }, (_, i) => `turn:h${i}:3478`) }),
          LONG,
        ),
      ).rejects.toBeInstanceOf(RegistryValidationError);
      expect(await r.getNode("n1")).toBeUndefined();
    });

    it("heartbeat records load and draining and extends the TTL", async () => {
      const r = await open();
      const n = await r.registerNode(node("n1"), ttl);
      const hb = await r.heartbeatNode("n1", { load: 7, ttlMs: LONG, draining: true });
      expect(hb).toMatchObject({ id: "n1", load: 7, capacity: 10, draining: true, controlUrl: n.controlUrl });
      expect(hb.expiresAt).toBeGreaterThan(n.expiresAt);
      await h.elapse(ttl + 150);
      expect(await r.getNode("n1")).toEqual(hb);
      const undrained = await r.heartbeatNode("n1", { load: 1, ttlMs: LONG, draining: false });
      expect(undrained.draining).toBeUndefined();
      // draining left out = unchanged
      await r.heartbeatNode("n1", { load: 1, ttlMs: LONG, draining: true });
      expect((await r.heartbeatNode("n1", { load: 2, ttlMs: LONG })).draining).toBe(true);
    });

    it("a node that cannot record says so (register and heartbeat); it is picked for sessions that write no file, never for those that do; left out = unchanged, null = it can again", async () => {
      const r = await open();
      const full = await r.registerNode(node("full", { load: 0, recordUnavailable: "disk-full" }), LONG);
      expect(full.recordUnavailable).toBe("disk-full");
      expect((await r.getNode("full"))?.recordUnavailable).toBe("disk-full");
      await r.registerNode(node("busier", { load: 5 }), LONG);
      // the emptiest node takes an echo, not a recording
      expect((await r.pickNode())?.id).toBe("full");
      expect((await r.pickNode({}))?.id).toBe("full");
      expect((await r.pickNode({ record: true }))?.id).toBe("busier");
      // left out of a heartbeat (a node older than the field): unchanged
      expect((await r.heartbeatNode("full", { load: 0, ttlMs: LONG })).recordUnavailable).toBe("disk-full");
      expect((await r.listNodes()).find((n) => n.id === "full")?.recordUnavailable).toBe("disk-full");
      // the other node's disk fills too: no node records
      const b = await r.heartbeatNode("busier", { load: 5, ttlMs: LONG, recordUnavailable: "unwritable" });
      expect(b.recordUnavailable).toBe("unwritable");
      expect(await r.pickNode({ record: true })).toBeUndefined();
      // space freed: null clears it, and with draining in the same beat
      const cleared = await r.heartbeatNode("full", {
        load: 0,
        ttlMs: LONG,
        draining: false,
        recordUnavailable: null,
      });
      expect(cleared.recordUnavailable).toBeUndefined();
      expect((await r.getNode("full"))?.recordUnavailable).toBeUndefined();
      expect((await r.pickNode({ record: true }))?.id).toBe("full");
      // draining and cannot-record in one beat (both SET), then both cleared (both REMOVE)
      const both = await r.heartbeatNode("full", {
        load: 0,
        ttlMs: LONG,
        draining: true,
        recordUnavailable: "disk-full",
      });
      expect(both).toMatchObject({ draining: true, recordUnavailable: "disk-full" });
      const neither = await r.heartbeatNode("full", {
        load: 0,
        ttlMs: LONG,
        draining: false,
        recordUnavailable: null,
      });
      expect(neither.draining).toBeUndefined();
      expect(neither.recordUnavailable).toBeUndefined();
      // re-registering replaces it
      await r.heartbeatNode("busier", { load: 5, ttlMs: LONG, recordUnavailable: "disk-full" });
      expect((await r.registerNode(node("busier", { load: 5 }), LONG)).recordUnavailable).toBeUndefined();
      // a reason is one word an operator reads
      for (const bad of ["", "Disk Full", "-x", "a".repeat(41)]) {
        await expect(r.registerNode(node("x", { recordUnavailable: bad }), LONG)).rejects.toBeInstanceOf(
          RegistryValidationError,
        );
        await expect(
          r.heartbeatNode("full", { load: 0, ttlMs: LONG, recordUnavailable: bad }),
        ).rejects.toBeInstanceOf(RegistryValidationError);
      }
    });

    it("heartbeat of an unknown node is NotFoundError", async () => {
      const r = await open();
      await expect(r.heartbeatNode("ghost", { load: 0, ttlMs: LONG })).rejects.toBeInstanceOf(NotFoundError);
      expect(await r.listNodes()).toEqual([]);
    });

    it("a node that stops heartbeating expires: gone from get, list and pick; heartbeat is NotFoundError", async () => {
      const r = await open();
      await r.registerNode(node("short"), ttl);
      await r.registerNode(node("long"), LONG);
      expect((await r.listNodes()).map((n) => n.id).sort()).toEqual(["long", "short"]);
      await h.elapse(ttl + 150);
      expect(await r.getNode("short")).toBeUndefined();
      expect((await r.listNodes()).map((n) => n.id)).toEqual(["long"]);
      await r.removeNode("long");
      expect(await r.pickNode()).toBeUndefined();
      await expect(r.heartbeatNode("short", { load: 0, ttlMs: LONG })).rejects.toBeInstanceOf(NotFoundError);
      // registering again brings it back
      await r.registerNode(node("short"), LONG);
      expect((await r.listNodes()).map((n) => n.id)).toEqual(["short"]);
    });

    it("heartbeats keep a node alive beyond its first TTL", async () => {
      const r = await open();
      await r.registerNode(node("n1"), ttl);
      for (let i = 0; i < 3; i++) {
        await h.elapse(Math.round(ttl * 0.6));
        await r.heartbeatNode("n1", { load: i, ttlMs: ttl });
      }
      expect((await r.getNode("n1"))?.load).toBe(2);
    });

    it("removeNode is idempotent", async () => {
      const r = await open();
      await r.registerNode(node("n1"), LONG);
      await r.removeNode("n1");
      await r.removeNode("n1");
      await r.removeNode("never-was");
      expect(await r.getNode("n1")).toBeUndefined();
      expect(await r.listNodes()).toEqual([]);
    });
  });

  describe("pickNode", () => {
    it("returns undefined when there is no node", async () => {
      const r = await open();
      expect(await r.pickNode()).toBeUndefined();
    });

    it("picks the least-loaded live node, skipping expired, draining and full ones", async () => {
      const r = await open();
      await r.registerNode(node("expired", { load: 0 }), ttl);
      await r.registerNode(node("draining", { load: 0, draining: true }), LONG);
      await r.registerNode(node("full", { load: 10, capacity: 10 }), LONG);
      await r.registerNode(node("overfull", { load: 12, capacity: 10 }), LONG);
      await r.registerNode(node("zero-capacity", { load: 0, capacity: 0 }), LONG);
      await r.registerNode(node("busy", { load: 6 }), LONG);
      await r.registerNode(node("light", { load: 3 }), LONG);
      expect((await r.pickNode())?.id).toBe("expired"); // load 0 beats 3 while it lives
      await h.elapse(ttl + 150);
      expect((await r.pickNode())?.id).toBe("light");
      // load changes move the choice
      await r.heartbeatNode("light", { load: 9, ttlMs: LONG });
      expect((await r.pickNode())?.id).toBe("busy");
      // draining takes a node out even when it is the emptiest
      await r.heartbeatNode("busy", { load: 0, ttlMs: LONG, draining: true });
      expect((await r.pickNode())?.id).toBe("light");
      await r.heartbeatNode("light", { load: 10, ttlMs: LONG });
      expect(await r.pickNode()).toBeUndefined();
      // undraining brings it back
      await r.heartbeatNode("draining", { load: 1, ttlMs: LONG, draining: false });
      expect((await r.pickNode())?.id).toBe("draining");
    });

    it("compares utilisation across capacities, then free slots, then id", async () => {
      const r = await open();
      await r.registerNode(node("small", { load: 1, capacity: 2 }), LONG); // 50 %
      await r.registerNode(node("big", { load: 30, capacity: 100 }), LONG); // 30 %
      expect((await r.pickNode())?.id).toBe("big");
      await r.registerNode(node("bigger", { load: 60, capacity: 200 }), LONG); // 30 % too
      await r.registerNode(node("a-twin", { load: 61, capacity: 200 }), LONG); // 30.5 %: as loaded
      const picks = await Promise.all(Array.from({ length: 100 }, () => r.pickNode()));
      // each of the three is missed with p ≤ (1 − 70/349)^100 ≈ 2e-10; "small" never comes
      expect([...new Set(picks.map((p) => p?.id))].sort()).toEqual(["a-twin", "big", "bigger"]);
    });

    it("spreads a burst over the nodes about as loaded as the least (loads are stale within a heartbeat)", async () => {
      const r = await open();
      await r.registerNode(node("t1", { load: 2, capacity: 100 }), LONG);
      await r.registerNode(node("t2", { load: 4, capacity: 100 }), LONG);
      await r.registerNode(node("t3", { load: 6, capacity: 100 }), LONG);
      await r.registerNode(node("loaded", { load: 20, capacity: 100 }), LONG);
      // 60 simultaneous picks see the same loads: each of t1–t3 is missed with p < (2/3)^60 ≈ 3e-11
      const picks = await Promise.all(Array.from({ length: 60 }, () => r.pickNode()));
      expect([...new Set(picks.map((p) => p?.id))].sort()).toEqual(["t1", "t2", "t3"]);
    });
  });

  describe("suspect and stale nodes", () => {
    it("a node marked suspect is not picked until the mark expires; it stays live; re-registering clears it", async () => {
      const r = await open();
      await r.registerNode(node("a", { load: 0 }), LONG);
      await r.registerNode(node("b", { load: 5 }), LONG);
      await r.markNodeSuspect("a", ttl);
      expect((await r.pickNode())?.id).toBe("b");
      // live for everything else: its sessions are not orphans, its heartbeat keeps the mark
      expect((await r.getNode("a"))?.suspectUntil).toBeGreaterThan(Date.now() - 1000);
      await r.heartbeatNode("a", { load: 0, ttlMs: LONG });
      expect((await r.pickNode())?.id).toBe("b");
      await h.elapse(ttl + 150);
      expect((await r.pickNode())?.id).toBe("a");
      await r.markNodeSuspect("a", LONG);
      expect((await r.pickNode())?.id).toBe("b");
      await r.registerNode(node("a", { load: 0 }), LONG);
      expect((await r.pickNode())?.id).toBe("a");
      // an unknown node: nothing to mark, nothing created
      await r.markNodeSuspect("never-was", LONG);
      expect(await r.getNode("never-was")).toBeUndefined();
      await expect(r.markNodeSuspect("", LONG)).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(r.markNodeSuspect("a", 0)).rejects.toThrow(/ttlMs must be between 1/);
    });

    it("a node in the stale margin of its TTL (a heartbeat missed) is live but not picked", async () => {
      const r = await open();
      // record lives ttl + 1 s; the last (ttl + 1 s − 0.5 ttl) of it is the stale margin
      const life = ttl + 1000;
      await r.registerNode(node("quiet", { load: 0, staleMarginMs: life - Math.round(ttl / 2) }), life);
      await r.registerNode(node("other", { load: 5 }), LONG);
      expect((await r.getNode("quiet"))?.staleMarginMs).toBe(life - Math.round(ttl / 2));
      expect((await r.pickNode())?.id).toBe("quiet");
      await h.elapse(Math.round(ttl / 2) + 150);
      expect(await r.getNode("quiet")).toBeDefined(); // still live: its sessions are not orphans
      expect((await r.pickNode())?.id).toBe("other");
      // a heartbeat makes it fresh again
      await r.heartbeatNode("quiet", { load: 0, ttlMs: life });
      expect((await r.pickNode())?.id).toBe("quiet");
      await expect(r.registerNode(node("x", { staleMarginMs: LONG + 1 }), LONG)).rejects.toThrow(
        /staleMarginMs must be between 0/,
      );
    });
  });

  describe("tombstones", () => {
    it("endSession replaces the live record by a tombstone that says how and when it ended", async () => {
      const r = await open();
      const s = await r.createSession(session("s1", "n1", { kind: "whip" }));
      const before = Date.now();
      const t = await r.endSession("s1", { reason: "peer-closed", ttlMs: LONG });
      expect(t).toMatchObject({
        id: "s1",
        nodeId: "n1",
        kind: "whip",
        tokenHash: s.tokenHash,
        reason: "peer-closed",
      });
      expect(t!.endedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(t!.expiresAt).toBe(t!.endedAt + LONG);
      expect(await r.getSession("s1")).toBeUndefined();
      expect(await r.listSessionsByNode("n1")).toEqual([]);
      expect(await r.getTombstone("s1")).toEqual(t);
      // first end wins: a later DELETE finds the same tombstone
      expect(await r.endSession("s1", { reason: "deleted", ttlMs: LONG })).toEqual(t);
      expect(await r.deleteSession("s1")).toBe(false);
      expect(await r.getTombstone("s1")).toEqual(t);
    });

    it("ending an unknown session writes nothing", async () => {
      const r = await open();
      expect(await r.endSession("never-was", { reason: "deleted", ttlMs: LONG })).toBeUndefined();
      expect(await r.getTombstone("never-was")).toBeUndefined();
    });

    it("concurrent ends of one session: one tombstone, the same for every caller", async () => {
      const r = await open();
      await r.createSession(session("s1", "n1"));
      const reasons = ["deleted", "peer-closed", "node-lost", "shutdown", "deleted", "peer-closed"];
      const ts = await Promise.all(reasons.map((reason) => r.endSession("s1", { reason, ttlMs: LONG })));
      for (const t of ts) expect(t).toEqual(ts[0]);
      expect(await r.getTombstone("s1")).toEqual(ts[0]);
    });

    it("a tombstone expires after its TTL; the live record of a new session with the id is independent", async () => {
      const r = await open();
      await r.createSession(session("s1", "n1"));
      await r.endSession("s1", { reason: "deleted", ttlMs: ttl });
      await h.elapse(ttl + 150);
      expect(await r.getTombstone("s1")).toBeUndefined();
      expect(await r.endSession("s1", { reason: "deleted", ttlMs: ttl })).toBeUndefined();
    });

    it("refuses bad reasons and TTLs", async () => {
      const r = await open();
      await r.createSession(session("s1", "n1"));
      for (const [end, message] of [
        [{ reason: "", ttlMs: LONG }, /reason must be/],
        [{ reason: "Peer Closed", ttlMs: LONG }, /reason must be/],
        [{ reason: "x".repeat(41), ttlMs: LONG }, /reason must be/],
        [{ reason: "deleted", ttlMs: 0 }, /ttlMs must be between 1/],
      ] as const) {
        const p = r.endSession("s1", end);
        await expect(p).rejects.toBeInstanceOf(RegistryValidationError);
        await expect(p).rejects.toThrow(message);
      }
      await expect(r.getTombstone("")).rejects.toBeInstanceOf(RegistryValidationError);
      expect((await r.getSession("s1"))?.version).toBe(1); // nothing changed
    });
  });

  describe("sessions", () => {
    it("creates and reads back a session", async () => {
      const r = await open();
      const before = Date.now();
      const s = await r.createSession(
        session("s1", "n1", { kind: "whep", sourceSessionId: "src-1", ttlMs: LONG }),
      );
      expect(s).toEqual({
        id: "s1",
        nodeId: "n1",
        kind: "whep",
        profile: "echo",
        tokenHash: HASH,
        state: "new",
        etag: '"v1"',
        sourceSessionId: "src-1",
        version: 1,
        createdAt: s.createdAt,
        expiresAt: s.createdAt + LONG,
      });
      expect(s.createdAt).toBeGreaterThanOrEqual(before - 1000);
      expect(await r.getSession("s1")).toEqual(s);
      expect(await r.getSession("s2")).toBeUndefined();
      const plain = await r.createSession(session("s2", "n1"));
      expect(plain.sourceSessionId).toBeUndefined();
      expect(await r.getSession("s2")).toEqual(plain);
    });

    it("a second create of a live id is ConflictError and changes nothing", async () => {
      const r = await open();
      const first = await r.createSession(session("s1", "n1"));
      await expect(r.createSession(session("s1", "n2", { etag: '"other"' }))).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(await r.getSession("s1")).toEqual(first);
      expect(await r.listSessionsByNode("n2")).toEqual([]);
    });

    it("concurrent creates of one id: exactly one wins, the others are ConflictError", async () => {
      const r = await open();
      const N = 16;
      const { won, lost } = await outcomes(
        Array.from({ length: N }, (_, i) =>
          r.createSession(session("race", `node-${i}`, { etag: `"e${i}"` })),
        ),
      );
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(N - 1);
      for (const e of lost) expect(e).toBeInstanceOf(ConflictError);
      expect(await r.getSession("race")).toEqual(won[0]);
      const listed = await Promise.all(
        Array.from({ length: N }, (_, i) => r.listSessionsByNode(`node-${i}`)),
      );
      expect(listed.flat()).toEqual([won[0]]);
    });

    if (h.connectAgain)
      it("concurrent creates through separate clients: exactly one wins", async () => {
        // Several clients on one store, as several function instances would be.
        const first = await open();
        const clients = [first, ...(await Promise.all([1, 2, 3].map(() => h.connectAgain!(first))))];
        opened.push(...clients.slice(1));
        const { won, lost } = await outcomes(
          clients.flatMap((c, i) =>
            [0, 1, 2].map((j) => c.createSession(session("shared", `n${i}`, { etag: `"${i}-${j}"` }))),
          ),
        );
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(11);
        for (const e of lost) expect(e).toBeInstanceOf(ConflictError);
        for (const c of clients) expect(await c.getSession("shared")).toEqual(won[0]);
      });

    it("an expired session frees its id for a new create", async () => {
      const r = await open();
      await r.createSession(session("s1", "n1", { ttlMs: ttl }));
      await h.elapse(ttl + 150);
      expect(await r.getSession("s1")).toBeUndefined();
      const again = await r.createSession(session("s1", "n2"));
      expect(again.version).toBe(1);
      expect(await r.getSession("s1")).toEqual(again);
    });

    it("update applies a patch iff the version matches, and bumps the version", async () => {
      const r = await open();
      const s = await r.createSession(session("s1", "n1"));
      const u = await r.updateSession("s1", 1, { state: "connected", etag: '"v2"', profile: "record" });
      expect(u).toEqual({ ...s, state: "connected", etag: '"v2"', profile: "record", version: 2 });
      expect(await r.getSession("s1")).toEqual(u);
      await expect(r.updateSession("s1", 1, { state: "closed" })).rejects.toBeInstanceOf(ConflictError);
      await expect(r.updateSession("s1", 3, { state: "closed" })).rejects.toBeInstanceOf(ConflictError);
      expect(await r.getSession("s1")).toEqual(u);
      // a key present but undefined leaves the field as it is
      const partial = await r.updateSession("s1", 2, { state: undefined, etag: '"v3"' });
      expect(partial).toEqual({ ...u, etag: '"v3"', version: 3 });
      const noop = await r.updateSession("s1", 3, {});
      expect(noop.version).toBe(4);
      expect(noop.expiresAt).toBe(s.expiresAt);
    });

    it("concurrent updates from one version: exactly one wins", async () => {
      const r = await open();
      await r.createSession(session("s1", "n1"));
      const N = 10;
      const { won, lost } = await outcomes(
        Array.from({ length: N }, (_, i) => r.updateSession("s1", 1, { etag: `"u${i}"` })),
      );
      expect(won).toHaveLength(1);
      expect(won[0]!.version).toBe(2);
      expect(lost).toHaveLength(N - 1);
      for (const e of lost) expect(e).toBeInstanceOf(ConflictError);
      expect(await r.getSession("s1")).toEqual(won[0]);
    });

    it("update with ttlMs extends the session's life", async () => {
      const r = await open();
      await r.createSession(session("s1", "n1", { ttlMs: ttl }));
      await h.elapse(Math.round(ttl * 0.6));
      const u = await r.updateSession("s1", 1, { state: "connected", ttlMs: ttl });
      await h.elapse(Math.round(ttl * 0.6));
      expect(await r.getSession("s1")).toEqual(u);
      await h.elapse(ttl);
      expect(await r.getSession("s1")).toBeUndefined();
    });

    it("update of an unknown or expired session is NotFoundError", async () => {
      const r = await open();
      await expect(r.updateSession("nope", 1, { state: "closed" })).rejects.toBeInstanceOf(NotFoundError);
      await r.createSession(session("s1", "n1", { ttlMs: ttl }));
      await h.elapse(ttl + 150);
      await expect(r.updateSession("s1", 1, { state: "closed" })).rejects.toBeInstanceOf(NotFoundError);
      expect(await r.getSession("nope")).toBeUndefined();
    });

    it("moving a session to another node moves it between node listings", async () => {
      const r = await open();
      await r.createSession(session("s1", "n1"));
      const u = await r.updateSession("s1", 1, { nodeId: "n2" });
      expect(u.nodeId).toBe("n2");
      expect(await r.listSessionsByNode("n1")).toEqual([]);
      expect(await r.listSessionsByNode("n2")).toEqual([u]);
    });

    it("delete is idempotent: true once, then false", async () => {
      const r = await open();
      await r.createSession(session("s1", "n1"));
      expect(await r.deleteSession("s1")).toBe(true);
      expect(await r.deleteSession("s1")).toBe(false);
      expect(await r.deleteSession("never-was")).toBe(false);
      expect(await r.getSession("s1")).toBeUndefined();
      expect(await r.listSessionsByNode("n1")).toEqual([]);
      await expect(r.updateSession("s1", 1, {})).rejects.toBeInstanceOf(NotFoundError);
      // the id is free again
      expect((await r.createSession(session("s1", "n1"))).version).toBe(1);
    });

    it("an expired session is gone from get, node listings and delete", async () => {
      const r = await open();
      await r.createSession(session("short", "n1", { ttlMs: ttl }));
      const long = await r.createSession(session("long", "n1"));
      expect((await r.listSessionsByNode("n1")).map((s) => s.id).sort()).toEqual(["long", "short"]);
      await h.elapse(ttl + 150);
      expect(await r.getSession("short")).toBeUndefined();
      expect(await r.listSessionsByNode("n1")).toEqual([long]);
      expect(await r.deleteSession("short")).toBe(false);
    });

    it("lists sessions by node; a node's expiry or removal leaves its sessions findable (orphans)", async () => {
      const r = await open();
      await r.registerNode(node("dying"), ttl);
      await r.registerNode(node("removed"), LONG);
      await r.registerNode(node("other"), LONG);
      const a = await r.createSession(session("a", "dying"));
      const b = await r.createSession(session("b", "dying"));
      const c = await r.createSession(session("c", "other"));
      const d = await r.createSession(session("d", "removed"));
      await h.elapse(ttl + 150);
      await r.removeNode("removed");
      expect(await r.getNode("dying")).toBeUndefined();
      const byId = (x: { id: string }, y: { id: string }) => x.id.localeCompare(y.id);
      expect((await r.listSessionsByNode("dying")).sort(byId)).toEqual([a, b]);
      expect(await r.listSessionsByNode("removed")).toEqual([d]);
      expect(await r.listSessionsByNode("other")).toEqual([c]);
      expect(await r.listSessionsByNode("nobody")).toEqual([]);
    });

    it("lists many sessions of one node", async () => {
      const r = await open();
      const ids = Array.from({ length: 60 }, (_, i) => `s-${String(i).padStart(3, "0")}`);
      await Promise.all(ids.map((id) => r.createSession(session(id, "n1"))));
      const listed = (await r.listSessionsByNode("n1")).map((s) => s.id).sort();
      expect(listed).toEqual(ids);
    });
  });

  describe("single-use claims (client token ids)", () => {
    it("the first claim of a key wins, later ones lose until it expires; other keys are independent", async () => {
      const r = await open();
      expect(await r.claimOnce("jti-1", LONG)).toBe(true);
      expect(await r.claimOnce("jti-1", LONG)).toBe(false);
      expect(await r.claimOnce("jti-2", LONG)).toBe(true);
      // a claim is not a session: nothing shows up among sessions
      expect(await r.getSession("jti-1")).toBeUndefined();
    });

    it("concurrent claims of one key: exactly one true", async () => {
      const r = await open();
      const got = await Promise.all(Array.from({ length: 16 }, () => r.claimOnce("race-jti", LONG)));
      expect(got.filter(Boolean)).toHaveLength(1);
    });

    if (h.connectAgain)
      it("concurrent claims through separate clients: exactly one true", async () => {
        const first = await open();
        const clients = [first, ...(await Promise.all([1, 2, 3].map(() => h.connectAgain!(first))))];
        opened.push(...clients.slice(1));
        const got = await Promise.all(
          clients.flatMap((c) => [0, 1, 2].map(() => c.claimOnce("shared-jti", LONG))),
        );
        expect(got.filter(Boolean)).toHaveLength(1);
      });

    it("an expired claim frees its key", async () => {
      const r = await open();
      expect(await r.claimOnce("short-jti", ttl)).toBe(true);
      await h.elapse(ttl + 150);
      expect(await r.claimOnce("short-jti", LONG)).toBe(true);
      expect(await r.claimOnce("short-jti", LONG)).toBe(false);
    });

    it("a released claim can be claimed again; release is idempotent", async () => {
      const r = await open();
      expect(await r.claimOnce("given-back", LONG)).toBe(true);
      await r.releaseClaim("given-back");
      await r.releaseClaim("given-back");
      await r.releaseClaim("never-claimed");
      expect(await r.claimOnce("given-back", LONG)).toBe(true);
      expect(await r.claimOnce("given-back", LONG)).toBe(false);
    });

    it("refuses bad keys and TTLs", async () => {
      const r = await open();
      await expect(r.claimOnce("", LONG)).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(r.claimOnce("has space", LONG)).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(r.claimOnce("ok", 0)).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(r.releaseClaim("x".repeat(1000))).rejects.toBeInstanceOf(RegistryValidationError);
    });
  });

  describe("validation", () => {
    const long = (n: number) => "x".repeat(n);
    const badSessions: [string, Partial<NewSession>, RegExp][] = [
      ["empty id", { id: "" }, /session id must not be empty/],
      ["129-char id", { id: long(129) }, /session id must be at most 128 characters, got 129/],
      ["id with a space", { id: "a b" }, /session id may only contain/],
      ["id with a slash", { id: "../x" }, /session id may only contain/],
      ["id not a string", { id: 42 as unknown as string }, /session id must be a string/],
      ["empty nodeId", { nodeId: "" }, /nodeId must not be empty/],
      ["oversized nodeId", { nodeId: long(200) }, /nodeId must be at most 128/],
      ["empty profile", { profile: "" }, /profile must not be empty/],
      ["oversized profile", { profile: long(65) }, /profile must be at most 64/],
      ["bad kind", { kind: "video" as NewSession["kind"] }, /kind must be one of whip, session, whep/],
      ["bad state", { state: "dead" as NewSession["state"] }, /state must be one of/],
      ["short tokenHash", { tokenHash: "abc" }, /tokenHash must be a SHA-256 digest/],
      ["empty etag", { etag: "" }, /etag must not be empty/],
      ["oversized etag", { etag: long(257) }, /etag must be at most 256/],
      ["etag with a newline", { etag: '"a\nb"' }, /etag may only contain visible ASCII/],
      ["empty sourceSessionId", { sourceSessionId: "" }, /sourceSessionId must not be empty/],
      ["zero ttl", { ttlMs: 0 }, /ttlMs must be between 1 and/],
      ["negative ttl", { ttlMs: -5 }, /ttlMs must be between 1 and/],
      ["NaN ttl", { ttlMs: Number.NaN }, /ttlMs must be a whole number/],
      ["fractional ttl", { ttlMs: 1.5 }, /ttlMs must be a whole number/],
      ["ttl over a week", { ttlMs: 8 * 24 * 3600 * 1000 }, /ttlMs must be between 1 and 604800000/],
    ];
    for (const [what, over, message] of badSessions) {
      it(`createSession refuses ${what}`, async () => {
        const r = await open();
        const p = r.createSession(session("ok-id", "n1", over));
        await expect(p).rejects.toBeInstanceOf(RegistryValidationError);
        await expect(p).rejects.toThrow(message);
        expect(await r.getSession("ok-id")).toBeUndefined();
        expect(await r.listSessionsByNode("n1")).toEqual([]);
      });
    }

    it("accepts a 128-character id of every allowed character class", async () => {
      const r = await open();
      const id = `Az09_.:-${long(120)}`;
      expect(id).toHaveLength(128);
      await r.createSession(session(id, id));
      expect((await r.getSession(id))?.id).toBe(id);
      expect((await r.listSessionsByNode(id)).map((s) => s.id)).toEqual([id]);
      await r.registerNode(node(id), LONG);
      expect((await r.getNode(id))?.id).toBe(id);
    });

    const badNodes: [string, Partial<NodeRecord>, number, RegExp][] = [
      ["empty id", { id: "" }, LONG, /node id must not be empty/],
      ["oversized id", { id: long(129) }, LONG, /node id must be at most 128/],
      ["non-http controlUrl", { controlUrl: "ftp://x/" }, LONG, /controlUrl must use http: or https:/],
      [
        "relative controlUrl",
        { controlUrl: "/internal" },
        LONG,
        /controlUrl must be an absolute http\(s\) URL/,
      ],
      ["empty controlUrl", { controlUrl: "" }, LONG, /controlUrl must be a non-empty/],
      [
        "oversized controlUrl",
        { controlUrl: `http://h/${long(3000)}` },
        LONG,
        /controlUrl must be at most 2048/,
      ],
      ["negative capacity", { capacity: -1 }, LONG, /capacity must be between 0 and/],
      ["fractional load", { load: 1.5 }, LONG, /load must be a whole number/],
      ["string load", { load: "3" as unknown as number }, LONG, /load must be a whole number/],
      ["zero ttl", {}, 0, /ttlMs must be between 1/],
    ];
    for (const [what, over, ttlMs, message] of badNodes) {
      it(`registerNode refuses ${what}`, async () => {
        const r = await open();
        const p = r.registerNode(node("n1", over), ttlMs);
        await expect(p).rejects.toBeInstanceOf(RegistryValidationError);
        await expect(p).rejects.toThrow(message);
        expect(await r.listNodes()).toEqual([]);
      });
    }

    it("heartbeat, get, update, delete and list refuse bad ids and values", async () => {
      const r = await open();
      await r.registerNode(node("n1"), LONG);
      await r.createSession(session("s1", "n1"));
      const bad: [Promise<unknown>, RegExp][] = [
        [r.heartbeatNode("", { load: 0, ttlMs: LONG }), /node id must not be empty/],
        [r.heartbeatNode("n1", { load: -1, ttlMs: LONG }), /load must be between 0/],
        [r.heartbeatNode("n1", { load: 0, ttlMs: 0 }), /ttlMs must be between 1/],
        [r.getNode(long(129)), /node id must be at most 128/],
        [r.removeNode(""), /node id must not be empty/],
        [r.getSession(""), /session id must not be empty/],
        [r.deleteSession("a b"), /session id may only contain/],
        [r.listSessionsByNode(""), /nodeId must not be empty/],
        [r.updateSession("s1", -1, {}), /expectedVersion must be between 0/],
        [r.updateSession("s1", 1, { state: "gone" as "closed" }), /state must be one of/],
        [r.updateSession("s1", 1, { etag: long(300) }), /etag must be at most 256/],
        [r.updateSession("s1", 1, { nodeId: "" }), /nodeId must not be empty/],
        [r.updateSession("s1", 1, { ttlMs: -1 }), /ttlMs must be between 1/],
        [
          r.updateSession("s1", 1, { tokenHash: HASH } as object),
          /patch field "tokenHash" cannot be changed/,
        ],
      ];
      for (const [p, message] of bad) {
        await expect(p).rejects.toBeInstanceOf(RegistryValidationError);
        await expect(p).rejects.toThrow(message);
      }
      // nothing changed
      expect((await r.getSession("s1"))?.version).toBe(1);
      expect((await r.getNode("n1"))?.load).toBe(0);
    });
  });

  describe("lifecycle", () => {
    it("ping answers while the store is up", async () => {
      const r = await open();
      await expect(r.ping()).resolves.toBeUndefined();
      expect(["memory", "redis", "dynamodb"]).toContain(r.kind);
    });

    it("a closed registry raises RegistryUnavailableError", async () => {
      const r = await open();
      await r.close();
      await expect(r.ping()).rejects.toBeInstanceOf(RegistryUnavailableError);
      await expect(r.getSession("s1")).rejects.toBeInstanceOf(RegistryUnavailableError);
    });
  });

  if (h.outage) {
    const outage = h.outage;
    describe("the store going away", () => {
      it("raises RegistryUnavailableError quickly while down, and works again once it is back", async () => {
        const r = await open();
        await r.registerNode(node("n1"), LONG);
        await outage.stop();
        try {
          const calls: [string, () => Promise<unknown>][] = [
            ["ping", () => r.ping()],
            ["getNode", () => r.getNode("n1")],
            ["pickNode", () => r.pickNode()],
            ["createSession", () => r.createSession(session("s-down", "n1"))],
            ["heartbeatNode", () => r.heartbeatNode("n1", { load: 1, ttlMs: LONG })],
          ];
          for (const [name, call] of calls) {
            const t0 = performance.now();
            const err = await call().then(
              () => new Error(`${name} succeeded with the store down`),
              (e: unknown) => e,
            );
            const ms = performance.now() - t0;
            expect(err, name).toBeInstanceOf(RegistryUnavailableError);
            expect((err as RegistryUnavailableError).cause, name).toBeDefined();
            expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(2500);
          }
        } finally {
          await outage.start();
        }
        // back: the same registry object recovers by itself (reconnect), within a few seconds
        const until = Date.now() + 8000;
        for (;;) {
          try {
            await r.ping();
            break;
          } catch (e) {
            expect(e).toBeInstanceOf(RegistryUnavailableError);
            if (Date.now() > until) throw e;
            await new Promise((res) => setTimeout(res, 100));
          }
        }
        await r.registerNode(node("n1"), LONG);
        const s = await r.createSession(session("s-after", "n1"));
        expect(await r.getSession("s-after")).toEqual(s);
        expect((await r.pickNode())?.id).toBe("n1");
      });
    });
  }
}
