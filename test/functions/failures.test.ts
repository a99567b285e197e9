// When no node can take a session (503 + Retry-After), when the node does not answer in time
// (504, and no orphan: the record is removed and the node is told to drop the session), when a
// node refuses (its 503 passes on with Retry-After) and when the shared secret is wrong (502).
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryRegistry } from "../../src/registry/memory.js";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";

let h: FnHarness;
let offer: string;
const peers: ClientPeer[] = [];

beforeAll(async () => {
  h = await startFnHarness();
  const c = await ClientPeer.create();
  peers.push(c);
  offer = c.offer;
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
});

const OWN_ETAG = "0123456789abcdef";

/**
 * A control endpoint that behaves badly on POST (hangs, refuses, or answers with an ETag of its
 * own choosing, as a node older than the request's `etag` field would); it records every request.
 */
async function fakeNode(
  onPost: "hang" | "busy" | "own-etag" | "hang-after-create" | "fail-after-create",
  refusal: { error: string; reason: string } = {
    error: "draining",
    reason: "this media node is draining; try another node",
  },
): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.method} ${req.url}`);
    const takes =
      onPost === "own-etag" ||
      ((onPost === "hang-after-create" || onPost === "fail-after-create") &&
        req.url === "/internal/sessions");
    if (!(req.method === "POST" && takes)) req.resume();
    if (req.method === "POST" && onPost === "hang") return; // never answers
    // takes the session, then answers nothing about it (a node frozen mid-call, heartbeat fresh)
    if (onPost === "hang-after-create" && req.method !== "DELETE" && !takes) return;
    // takes the session, then fails on it (a bug on the node: 500)
    if (onPost === "fail-after-create" && req.method !== "DELETE" && !takes) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "internal", reason: "something broke" }));
      return;
    }
    if (req.method === "POST" && takes) {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        const { sessionId } = JSON.parse(body) as { sessionId: string };
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ sessionId, nodeId: "own-etag-node", answer: "v=0\r\n", etag: OWN_ETAG }));
      });
      return;
    }
    if (req.method === "POST") {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "7" });
      res.end(JSON.stringify(refusal));
      return;
    }
    res.writeHead(204).end();
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

describe("no media node", () => {
  it("503 + Retry-After when the registry has no live node", async () => {
    const empty = new MemoryRegistry();
    h.reconfigure({ registry: empty });
    try {
      const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: offer });
      expect(r.status).toBe(503);
      expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
      expect(r.json().reason).toMatch(/no media node/);
    } finally {
      h.reconfigure({});
    }
  });

  it("a node that refuses with 503 (draining) is passed on with its Retry-After, record removed", async () => {
    const reg = new MemoryRegistry();
    const busy = await fakeNode("busy");
    await reg.registerNode({ id: "busy-node", controlUrl: busy.url, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg });
    try {
      const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: offer });
      expect(r.status).toBe(503);
      expect(r.headers["retry-after"]).toBe("7");
      expect(await reg.listSessionsByNode("busy-node")).toHaveLength(0);
    } finally {
      h.reconfigure({});
      await busy.close();
    }
  });
});

describe("a node that picks its own ETag", () => {
  it("the record is updated to the node's ETag, which the 201 carries", async () => {
    const reg = new MemoryRegistry();
    const node = await fakeNode("own-etag");
    await reg.registerNode({ id: "own-etag-node", controlUrl: node.url, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg });
    try {
      const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: offer });
      expect(r.status).toBe(201);
      expect(r.headers.etag).toBe(`"${OWN_ETAG}"`);
      const [rec] = await reg.listSessionsByNode("own-etag-node");
      expect(rec?.etag).toBe(OWN_ETAG);
    } finally {
      h.reconfigure({});
      await node.close();
    }
  });
});

// node-full: its session count is at capacity; node-busy: its event loop is saturated (load guard)
const REFUSALS = [
  { error: "node-full", reason: "this media node is at capacity" },
  { error: "node-busy", reason: "this media node's event loop is saturated" },
];

describe("a full or busy node behind a stale registry entry", () => {
  it.each(REFUSALS)(
    "503 $error: one other live node is tried, the session lands there, nothing is left on the refusing one",
    async (refusal) => {
      const reg = new MemoryRegistry();
      const busy = await fakeNode("busy", refusal);
      // the busy node looks emptier, so it is picked first
      await reg.registerNode({ id: "busy-node", controlUrl: busy.url, capacity: 10, load: 0 }, 60_000);
      await reg.registerNode({ id: h.node.id, controlUrl: h.node.controlUrl, capacity: 10, load: 5 }, 60_000);
      h.reconfigure({ registry: reg });
      const c = await ClientPeer.create();
      peers.push(c);
      try {
        const r = await invoke({
          method: "POST",
          path: "/v1/sessions",
          headers: sdpHeaders(),
          body: c.offer,
        });
        expect(r.status).toBe(201);
        expect(busy.seen.some((s) => s.startsWith("POST /internal/sessions"))).toBe(true);
        const id = r.headers.location!.split("/").pop()!;
        expect((await reg.getSession(id))?.nodeId).toBe(h.node.id);
        expect(await reg.listSessionsByNode("busy-node")).toHaveLength(0);
        c.accept(r.body);
        await c.connected(8000);
        expect(
          (
            await invoke({
              method: "DELETE",
              path: r.headers.location!,
              headers: { authorization: `Bearer ${r.headers["rtcgw-session-token"]}` },
            })
          ).status,
        ).toBe(200);
      } finally {
        h.reconfigure({});
        await busy.close();
      }
    },
  );

  it.each(REFUSALS)(
    "503 $error from two nodes: no third try, 503 + Retry-After, no record left",
    async (refusal) => {
      const reg = new MemoryRegistry();
      const a = await fakeNode("busy", refusal);
      const b = await fakeNode("busy", refusal);
      await reg.registerNode({ id: "node-a", controlUrl: a.url, capacity: 10, load: 0 }, 60_000);
      await reg.registerNode({ id: "node-b", controlUrl: b.url, capacity: 10, load: 1 }, 60_000);
      h.reconfigure({ registry: reg });
      try {
        const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: offer });
        expect(r.status).toBe(503);
        expect(r.headers["retry-after"]).toBe("7");
        expect(r.json().error).toBe(refusal.error);
        for (const n of [a, b]) expect(n.seen.filter((s) => s.startsWith("POST")).length).toBe(1);
        expect(await reg.listSessionsByNode("node-a")).toHaveLength(0);
        expect(await reg.listSessionsByNode("node-b")).toHaveLength(0);
      } finally {
        h.reconfigure({});
        await a.close();
        await b.close();
      }
    },
  );
});

describe("a node that does not answer in time", () => {
  it("a node that times out (the only one): 503 + Retry-After within the budget, marked suspect; no orphan record; the node is told to drop the session", async () => {
    const reg = new MemoryRegistry();
    const stuck = await fakeNode("hang");
    await reg.registerNode({ id: "stuck-node", controlUrl: stuck.url, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg, controlTimeoutMs: 300 });
    try {
      const t0 = performance.now();
      const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: offer });
      const took = performance.now() - t0;
      expect(r.status).toBe(503);
      expect(r.json().reason).toMatch(/no media node answered \(1 tried\)/);
      expect(r.headers["retry-after"]).toBe("5");
      expect(took).toBeLessThan(3_000);
      expect((await reg.getNode("stuck-node"))?.suspectUntil).toBeGreaterThan(Date.now());
      expect(await reg.listSessionsByNode("stuck-node")).toHaveLength(0);
      const post = stuck.seen.find((s) => s.startsWith("POST /internal/sessions"));
      expect(post).toBeDefined();
      // the cleanup DELETE to a node that timed out goes out in the background (it would only
      // time out too): it reaches the node without holding the answer
      const until = Date.now() + 2_000;
      while (!stuck.seen.some((s) => s.startsWith("DELETE /internal/sessions/")) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 10));
      expect(stuck.seen.find((s) => s.startsWith("DELETE /internal/sessions/"))).toBeDefined();
    } finally {
      h.reconfigure({});
      await stuck.close();
    }
  });
});

describe("a node that took the session and then does not answer in time (heartbeat still fresh)", () => {
  it("PATCH and resume are 504 media-node-timeout + Retry-After, as 502 and 503 are: the client knows when to try again", async () => {
    const reg = new MemoryRegistry();
    const stuck = await fakeNode("hang-after-create");
    await reg.registerNode({ id: "stuck-node", controlUrl: stuck.url, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg, controlTimeoutMs: 300 });
    try {
      const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: offer });
      expect(r.status).toBe(201);
      const auth = { authorization: `Bearer ${r.headers["rtcgw-session-token"]}` };
      const p = await invoke({
        method: "PATCH",
        path: r.headers.location!,
        headers: { ...auth, "content-type": "application/trickle-ice-sdpfrag", "if-match": "*" },
        body: "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n",
      });
      expect(p.status).toBe(504);
      expect(p.json().error).toBe("media-node-timeout");
      expect(p.headers["retry-after"]).toBe("5");
      const resumed = await invoke({
        method: "POST",
        path: `${r.headers.location!}/resume`,
        headers: sdpHeaders(auth),
        body: offer,
      });
      expect(resumed.status).toBe(504);
      expect(resumed.headers["retry-after"]).toBe("5");
    } finally {
      h.reconfigure({});
      await stuck.close();
    }
  });

  it("a node's own 5xx on PATCH is 502 media-node-error + Retry-After (only the secret mismatch, an operator's problem, has none)", async () => {
    const reg = new MemoryRegistry();
    const failing = await fakeNode("fail-after-create");
    await reg.registerNode({ id: "failing-node", controlUrl: failing.url, capacity: 10, load: 0 }, 60_000);
    h.reconfigure({ registry: reg });
    try {
      const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: offer });
      expect(r.status).toBe(201);
      const p = await invoke({
        method: "PATCH",
        path: r.headers.location!,
        headers: {
          authorization: `Bearer ${r.headers["rtcgw-session-token"]}`,
          "content-type": "application/trickle-ice-sdpfrag",
          "if-match": "*",
        },
        body: "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n",
      });
      expect(p.status).toBe(502);
      expect(p.json().error).toBe("media-node-error");
      expect(p.headers["retry-after"]).toBe("5");
    } finally {
      h.reconfigure({});
      await failing.close();
    }
  });
});

describe("a media stack that can restart ICE", () => {
  it("PATCH restart → 200 with the answer fragment and a new ETag, stored for the next If-Match", async () => {
    // a control endpoint standing in for a node whose stack supports ICE restarts (ours refuses)
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        if (req.method === "POST") {
          const { sessionId } = JSON.parse(body) as { sessionId: string };
          res
            .writeHead(201)
            .end(JSON.stringify({ sessionId, nodeId: "restart-node", answer: "v=0\r\n", etag: "e1" }));
        } else if (req.method === "PATCH") {
          res
            .writeHead(200)
            .end(
              JSON.stringify({ sdpfrag: "a=ice-ufrag:srv2\r\na=ice-pwd:serverpassword2\r\n", etag: "e2" }),
            );
        } else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const reg = new MemoryRegistry();
    await reg.registerNode(
      {
        id: "restart-node",
        controlUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        capacity: 5,
        load: 0,
      },
      60_000,
    );
    h.reconfigure({ registry: reg });
    try {
      const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: offer });
      expect(r.status).toBe(201);
      expect(r.headers.etag).toBe('"e1"');
      const auth = { authorization: `Bearer ${r.headers["rtcgw-session-token"]}` };
      const type = { "content-type": "application/trickle-ice-sdpfrag" };
      const frag =
        "a=ice-ufrag:new1\r\na=ice-pwd:newpasswordnewpassword\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n";
      const p = await invoke({
        method: "PATCH",
        path: r.headers.location!,
        headers: { ...auth, ...type, "if-match": "*" },
        body: frag,
      });
      expect(p.status).toBe(200);
      expect(p.headers["content-type"]).toBe("application/trickle-ice-sdpfrag");
      expect(p.headers.etag).toBe('"e2"');
      expect(p.body).toContain("a=ice-ufrag:srv2");
      const id = r.headers.location!.split("/").pop()!;
      expect((await reg.getSession(id))?.etag).toBe("e2");
      const stale = await invoke({
        method: "PATCH",
        path: r.headers.location!,
        headers: { ...auth, ...type, "if-match": '"e1"' },
        body: frag,
      });
      expect(stale.status).toBe(412);
    } finally {
      h.reconfigure({});
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("misconfiguration", () => {
  it("a wrong shared secret is the operator's problem: 502, no detail of the secret, no record left", async () => {
    h.reconfigure({ nodeSecret: "a-different-secret-0123456789" });
    try {
      const before = (await h.registry.listSessionsByNode(h.node.id)).length;
      const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: offer });
      expect(r.status).toBe(502);
      expect(r.json().reason).toMatch(/RTCGW_NODE_SECRET/);
      // no retry fixes a secret mismatch: no Retry-After (every retryable 5xx has one)
      expect(r.headers["retry-after"]).toBeUndefined();
      expect(r.body).not.toContain("a-different-secret");
      expect((await h.registry.listSessionsByNode(h.node.id)).length).toBe(before);
    } finally {
      h.reconfigure({});
    }
  });
});
