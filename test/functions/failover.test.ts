// Failover in the signaling, function level: a node that does not answer (connection refused, no
// answer in time) is marked suspect and the offer is placed on another node in the same request;
// a node that missed its heartbeat is not picked; a session whose node is gone is reported ended
// ("node-lost"); /v1/health is 503 with the reason when no node can take a session. The live node
// is a real one (the harness's); the dead ones are a closed port and a server that never answers.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryRegistry } from "../../src/registry/memory.js";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";

let h: FnHarness;
const peers: ClientPeer[] = [];
const offer = async () => {
  const c = await ClientPeer.create();
  peers.push(c);
  return c.offer;
};

beforeAll(async () => {
  h = await startFnHarness();
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
});

/** a loopback port nothing listens on (bound, then closed): connections to it are refused */
async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

/** a control endpoint that accepts connections and never answers (a frozen node) */
async function hangingServer(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** a registry of this test's own: the dead node (emptiest: picked first) and the real node, busier */
async function registryWith(dead: { id: string; url: string }): Promise<MemoryRegistry> {
  const reg = new MemoryRegistry();
  await reg.registerNode({ id: dead.id, controlUrl: dead.url, capacity: 10, load: 0 }, 60_000);
  await reg.registerNode({ id: h.node.id, controlUrl: h.node.controlUrl, capacity: 10, load: 8 }, 60_000);
  return reg;
}

describe("failover", () => {
  it("a node that refuses connections: marked suspect, the offer placed on the other node in the same request", async () => {
    const reg = await registryWith({ id: "dead-node", url: await refusedUrl() });
    h.reconfigure({ registry: reg });
    try {
      const r = await invoke({
        method: "POST",
        path: "/v1/whip",
        headers: sdpHeaders(),
        body: await offer(),
      });
      expect(r.status).toBe(201);
      const id = r.headers.location!.split("/").pop()!;
      expect((await reg.getSession(id))?.nodeId).toBe(h.node.id);
      expect(await reg.listSessionsByNode("dead-node")).toEqual([]);
      expect((await reg.getNode("dead-node"))?.suspectUntil).toBeGreaterThan(Date.now());
      // the suspect node is out of the pick: the next offers go straight to the live node
      for (let i = 0; i < 3; i++) {
        const again = await invoke({
          method: "POST",
          path: "/v1/whip",
          headers: sdpHeaders(),
          body: await offer(),
        });
        expect(again.status).toBe(201);
      }
      expect(await reg.listSessionsByNode("dead-node")).toEqual([]);
    } finally {
      h.reconfigure({});
    }
  });

  it("a node that never answers: the offer is placed on the other node within one control timeout", async () => {
    const frozen = await hangingServer();
    const reg = await registryWith({ id: "frozen-node", url: frozen.url });
    h.reconfigure({ registry: reg, controlTimeoutMs: 400 });
    try {
      const t0 = performance.now();
      const r = await invoke({
        method: "POST",
        path: "/v1/whip",
        headers: sdpHeaders(),
        body: await offer(),
      });
      const took = performance.now() - t0;
      expect(r.status).toBe(201);
      // one control timeout, the cleanup DELETE to the frozen node (≤ 1 s), then the live node
      expect(took).toBeLessThan(400 + 1000 + 2000);
      expect(frozen.seen.some((s) => s.startsWith("POST /internal/sessions"))).toBe(true);
      expect((await reg.getNode("frozen-node"))?.suspectUntil).toBeGreaterThan(Date.now());
      expect(await reg.listSessionsByNode("frozen-node")).toEqual([]);
    } finally {
      h.reconfigure({});
      await frozen.close();
    }
  });

  it("a node that missed its heartbeat is not picked at all", async () => {
    const frozen = await hangingServer();
    const reg = new MemoryRegistry();
    // its whole record life is the stale margin: it is live, but has missed its heartbeat
    await reg.registerNode(
      { id: "quiet-node", controlUrl: frozen.url, capacity: 10, load: 0, staleMarginMs: 60_000 },
      60_000,
    );
    await reg.registerNode({ id: h.node.id, controlUrl: h.node.controlUrl, capacity: 10, load: 9 }, 60_000);
    h.reconfigure({ registry: reg });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await invoke({
          method: "POST",
          path: "/v1/whip",
          headers: sdpHeaders(),
          body: await offer(),
        });
        expect(r.status).toBe(201);
      }
      expect(frozen.seen).toEqual([]); // never tried
    } finally {
      h.reconfigure({});
      await frozen.close();
    }
  });

  it("with no node that answers: 503 + Retry-After naming it, no record left", async () => {
    const reg = new MemoryRegistry();
    await reg.registerNode({ id: "dead-1", controlUrl: await refusedUrl(), capacity: 10, load: 0 }, 60_000);
    await reg.registerNode({ id: "dead-2", controlUrl: await refusedUrl(), capacity: 10, load: 1 }, 60_000);
    h.reconfigure({ registry: reg });
    try {
      const r = await invoke({
        method: "POST",
        path: "/v1/whip",
        headers: sdpHeaders(),
        body: await offer(),
      });
      expect(r.status).toBe(503);
      expect(r.headers["retry-after"]).toBe("5");
      expect(r.json().reason).toMatch(/no media node answered \(2 tried\)/);
      expect(await reg.listSessionsByNode("dead-1")).toEqual([]);
      expect(await reg.listSessionsByNode("dead-2")).toEqual([]);
      // both suspect now: the next offer is refused at once, before any record or node call
      const next = await invoke({
        method: "POST",
        path: "/v1/whip",
        headers: sdpHeaders(),
        body: await offer(),
      });
      expect(next.status).toBe(503);
      expect(next.json().reason).toMatch(/no media node can take a session/);
      const health = await invoke({ method: "GET", path: "/v1/health" });
      expect(health.status).toBe(503);
      expect(health.headers["retry-after"]).toBe("5");
      expect(health.json()).toMatchObject({ status: "unavailable", nodes: { live: 2, accepting: 0 } });
      expect(health.json().reason).toMatch(/none of the 2 live media node/);
    } finally {
      h.reconfigure({});
    }
  });
});

/** a control endpoint that takes every session it is offered (answers 201) and records requests */
async function acceptingServer(
  nodeId: string,
): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/internal/sessions") {
        const { sessionId, etag } = JSON.parse(body) as { sessionId: string; etag: string };
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ sessionId, nodeId, answer: "v=0\r\n", etag }));
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe("a node that cannot record (its recordings disk is full)", () => {
  it("is not picked for sessions that record (whip's default, record, bridge with record=1) while another node can; echo still goes to it; /v1/health says degraded, naming it; with no node that can record: 503 + Retry-After", async () => {
    const recorder = await acceptingServer("recorder");
    const reg = new MemoryRegistry();
    // the real node is the emptiest, and its disk is full
    await reg.registerNode(
      {
        id: h.node.id,
        controlUrl: h.node.controlUrl,
        capacity: 10,
        load: 0,
        recordUnavailable: "disk-full",
      },
      60_000,
    );
    await reg.registerNode({ id: "recorder", controlUrl: recorder.url, capacity: 10, load: 8 }, 60_000);
    h.reconfigure({ registry: reg });
    const post = async (path: string) =>
      invoke({ method: "POST", path, headers: sdpHeaders(), body: await offer() });
    const nodeOf = async (r: { headers: Record<string, string> }) =>
      (await reg.getSession(r.headers.location!.split("/").pop()!))?.nodeId;
    try {
      for (const path of [
        "/v1/whip",
        "/v1/sessions?profile=record",
        `/v1/sessions?profile=bridge&bridge=${encodeURIComponent("ws://127.0.0.1:9/agent")}&record=1`,
      ]) {
        const r = await post(path);
        expect(r.status, path).toBe(201);
        expect(await nodeOf(r), path).toBe("recorder");
      }
      // sessions that write no file still go to the emptiest node
      const echo = await post("/v1/sessions");
      expect(echo.status).toBe(201);
      expect(await nodeOf(echo)).toBe(h.node.id);

      const health = await invoke({ method: "GET", path: "/v1/health" });
      expect(health.status).toBe(200);
      expect(health.json()).toMatchObject({
        status: "degraded",
        nodes: { live: 2, accepting: 2, recording: 1 },
      });
      // the reason says which of the node's checks tripped: its write probe, refused for want of room
      expect(health.json().reason).toMatch(
        /1 of the 2 accepting media node\(s\) cannot record \(disk-full: its write probe was refused for want of room\)/,
      );
      // … or its free space, below its floor (RTCGW_RECORDINGS_MIN_FREE_MB)
      await reg.heartbeatNode(h.node.id, { load: 0, ttlMs: 60_000, recordUnavailable: "disk-low" });
      const lowRecord = await post("/v1/sessions?profile=record");
      expect(lowRecord.status).toBe(201);
      expect(await nodeOf(lowRecord)).toBe("recorder");
      const low = await invoke({ method: "GET", path: "/v1/health" });
      expect(low.json()).toMatchObject({
        status: "degraded",
        cannotRecord: [{ nodeId: h.node.id, reason: "disk-low" }],
      });
      expect(low.json().reason).toMatch(
        /1 of the 2 accepting media node\(s\) cannot record \(disk-low: free space on its recordings disk is below its floor, RTCGW_RECORDINGS_MIN_FREE_MB\)/,
      );

      // the other node's disk fills too
      await reg.heartbeatNode("recorder", { load: 8, ttlMs: 60_000, recordUnavailable: "disk-full" });
      const none = await post("/v1/whip");
      expect(none.status).toBe(503);
      expect(none.headers["retry-after"]).toBe("5");
      expect(none.json().reason).toMatch(/no media node can record right now/);
      expect((await post("/v1/sessions")).status).toBe(201);
      const h2 = await invoke({ method: "GET", path: "/v1/health" });
      expect(h2.status).toBe(200);
      expect(h2.json()).toMatchObject({ status: "degraded", nodes: { accepting: 2, recording: 0 } });
      expect(h2.json().reason).toMatch(
        /none of the 2 accepting media node\(s\) can record \(disk-low: free space .*; disk-full: its write probe .*\)/,
      );
    } finally {
      h.reconfigure({});
      await recorder.close();
    }
  });
});

describe("sessions of a node that is gone", () => {
  const API = { authorization: "Bearer creator-token-0123456789" };

  async function sessionOn(reg: MemoryRegistry, nodeId: string) {
    const r = await invoke({
      method: "POST",
      path: "/v1/sessions",
      headers: sdpHeaders(API),
      body: await offer(),
    });
    expect(r.status).toBe(201);
    const id = r.headers.location!.split("/").pop()!;
    // the record says the session lives on `nodeId` (as if it had been placed there)
    const cur = (await reg.getSession(id))!;
    await reg.updateSession(id, cur.version, { nodeId, state: "connected" });
    return { id, url: `/v1/sessions/${id}`, secret: r.headers["rtcgw-session-token"]! };
  }

  /** sessions recorded on two nodes that do not answer (registered only now, so no offer has
   *  tried them: no suspect mark yet): "blip-node" still heartbeats, "dead-node" is past its
   *  heartbeat */
  async function blipAndDead(reg: MemoryRegistry) {
    const blip = await sessionOn(reg, "blip-node");
    const dead = await sessionOn(reg, "dead-node");
    const url = await refusedUrl();
    await reg.registerNode({ id: "blip-node", controlUrl: url, capacity: 10, load: 0 }, 60_000);
    await reg.registerNode(
      { id: "dead-node", controlUrl: url, capacity: 10, load: 0, staleMarginMs: 60_000 },
      60_000,
    );
    return { blip, dead };
  }

  it("no node record: GET says ended, node-lost; DELETE with either credential is 200", async () => {
    const reg = new MemoryRegistry();
    await reg.registerNode({ id: h.node.id, controlUrl: h.node.controlUrl, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg });
    try {
      const s = await sessionOn(reg, "vanished-node");
      const g = await invoke({
        method: "GET",
        path: s.url,
        headers: { authorization: `Bearer ${s.secret}` },
      });
      expect(g.status).toBe(200);
      expect(g.json()).toMatchObject({
        id: s.id,
        state: "ended",
        endReason: "node-lost",
        nodeId: "vanished-node",
      });
      expect(await reg.getSession(s.id)).toBeUndefined();
      expect(
        (await invoke({ method: "DELETE", path: s.url, headers: { authorization: `Bearer ${s.secret}` } }))
          .status,
      ).toBe(200);
      expect((await invoke({ method: "DELETE", path: s.url, headers: API })).status).toBe(200);
    } finally {
      h.reconfigure({});
    }
  });

  it("a listener of a session whose node is gone: 404 and the source ended node-lost (it was 503 'try again' until the source's record expired)", async () => {
    const reg = new MemoryRegistry();
    await reg.registerNode({ id: h.node.id, controlUrl: h.node.controlUrl, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg });
    const listen = async (s: { id: string; secret: string }) => {
      const c = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
      peers.push(c);
      return invoke({
        method: "POST",
        path: `/v1/whep/${s.id}`,
        headers: sdpHeaders({ authorization: `Bearer ${s.secret}` }),
        body: c.offer,
      });
    };
    try {
      // no node record at all
      const gone = await sessionOn(reg, "vanished-node");
      const r1 = await listen(gone);
      expect(r1.status).toBe(404);
      expect(r1.headers["retry-after"]).toBeUndefined();
      expect((await reg.getTombstone(gone.id))?.reason).toBe("node-lost");
      // a node record, but the node neither answers nor heartbeats
      const dead = await sessionOn(reg, "dead-node");
      await reg.registerNode(
        { id: "dead-node", controlUrl: await refusedUrl(), capacity: 10, load: 0, staleMarginMs: 60_000 },
        60_000,
      );
      const r2 = await listen(dead);
      expect(r2.status).toBe(404);
      expect((await reg.getTombstone(dead.id))?.reason).toBe("node-lost");
      expect(await reg.listSessionsByNode("dead-node")).toEqual([]);
    } finally {
      h.reconfigure({});
    }
  });

  it("a node that neither answers nor heartbeats: GET says ended, node-lost; one that only fails to answer is kept", async () => {
    const reg = new MemoryRegistry();
    await reg.registerNode({ id: h.node.id, controlUrl: h.node.controlUrl, capacity: 10, load: 0 }, 60_000);
    const url = await refusedUrl();
    // answering nothing, but heartbeating (fresh): a blip is not a death
    await reg.registerNode({ id: "blip-node", controlUrl: url, capacity: 10, load: 0 }, 60_000);
    // answering nothing and past its heartbeat
    await reg.registerNode(
      { id: "dead-node", controlUrl: url, capacity: 10, load: 0, staleMarginMs: 60_000 },
      60_000,
    );
    h.reconfigure({ registry: reg });
    try {
      const blip = await sessionOn(reg, "blip-node");
      const g1 = await invoke({ method: "GET", path: blip.url, headers: API });
      expect(g1.status).toBe(200);
      expect(g1.json()).toMatchObject({ state: "connected", nodeReachable: false });
      expect((await reg.getNode("blip-node"))?.suspectUntil).toBeGreaterThan(Date.now());

      const dead = await sessionOn(reg, "dead-node");
      const g2 = await invoke({ method: "GET", path: dead.url, headers: API });
      expect(g2.status).toBe(200);
      expect(g2.json()).toMatchObject({ state: "ended", endReason: "node-lost" });
    } finally {
      h.reconfigure({});
    }
  });

  it("a PATCH (trickle) of a session whose node is gone: 404 and the session ended node-lost, as GET, resume, DELETE and listeners end it (it was 404 with the record left for its TTL); on a node that only fails to answer: 502 + Retry-After, marked suspect, kept", async () => {
    const reg = new MemoryRegistry();
    await reg.registerNode({ id: h.node.id, controlUrl: h.node.controlUrl, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg });
    const trickle = (s: { url: string; secret: string }) =>
      invoke({
        method: "PATCH",
        path: s.url,
        headers: {
          authorization: `Bearer ${s.secret}`,
          "content-type": "application/trickle-ice-sdpfrag",
          "if-match": "*",
        },
        body: "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n",
      });
    try {
      // no node record at all
      const gone = await sessionOn(reg, "vanished-node");
      const p1 = await trickle(gone);
      expect(p1.status).toBe(404);
      expect(p1.json().reason).toMatch(/node-lost/);
      expect(await reg.getSession(gone.id)).toBeUndefined();
      expect((await reg.getTombstone(gone.id))?.reason).toBe("node-lost");
      // the next PATCH says the same (the tombstone's 404)
      expect((await trickle(gone)).json().reason).toMatch(/node-lost/);

      const { blip, dead } = await blipAndDead(reg);
      // answering nothing, heartbeat fresh: a blip is not a death
      const p2 = await trickle(blip);
      expect(p2.status).toBe(502);
      expect(p2.headers["retry-after"]).toBe("5");
      expect((await reg.getNode("blip-node"))?.suspectUntil).toBeGreaterThan(Date.now());
      expect((await reg.getSession(blip.id))?.state).toBe("connected");
      // answering nothing and past its heartbeat: gone
      const p3 = await trickle(dead);
      expect(p3.status).toBe(404);
      expect(await reg.getSession(dead.id)).toBeUndefined();
      expect((await reg.getTombstone(dead.id))?.reason).toBe("node-lost");
    } finally {
      h.reconfigure({});
    }
  });

  it("a resume on a node that neither answers nor heartbeats: 410 node-lost (not 502 'try again' until its record expires); on one that only fails to answer: 502, marked suspect", async () => {
    const reg = new MemoryRegistry();
    await reg.registerNode({ id: h.node.id, controlUrl: h.node.controlUrl, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg });
    const resume = async (s: { url: string; secret: string }) =>
      invoke({
        method: "POST",
        path: `${s.url}/resume`,
        headers: sdpHeaders({ authorization: `Bearer ${s.secret}` }),
        body: await offer(),
      });
    try {
      // placed on the live node, then recorded on the two that do not answer (registered only
      // now, so no offer has tried them: no suspect mark yet)
      const { blip, dead } = await blipAndDead(reg);
      const r1 = await resume(blip);
      expect(r1.status).toBe(502);
      expect(r1.headers["retry-after"]).toBeDefined();
      expect((await reg.getNode("blip-node"))?.suspectUntil).toBeGreaterThan(Date.now());
      expect((await reg.getSession(blip.id))?.state).toBe("connected");

      const r2 = await resume(dead);
      expect(r2.status).toBe(410);
      expect(r2.json()).toMatchObject({ error: "session-ended" });
      expect(await reg.getSession(dead.id)).toBeUndefined();
      expect((await reg.getTombstone(dead.id))?.reason).toBe("node-lost");
    } finally {
      h.reconfigure({});
    }
  });
});
