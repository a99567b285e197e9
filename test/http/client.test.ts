// The node:http client under the control client and the DynamoDB store, against real loopback
// servers: keep-alive reuse, one deadline over connect + answer + body, and the retry of a request
// that met a pooled connection the server had dropped.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpTimeoutError, keepAliveAgents, request } from "../../src/http/client.js";

const servers: Server[] = [];
async function closeServers() {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}
afterEach(closeServers);

/** A loopback server; counts the connections it accepted and the requests on each. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse, nth: number) => void) {
  const perSocket = new WeakMap<Socket, number>();
  const stats = { connections: 0, requests: 0 };
  const server = createServer((req, res) => {
    const nth = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, nth);
    stats.requests++;
    handle(req, res, nth);
  });
  server.on("connection", () => stats.connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x?y=1`), stats };
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let b = "";
    req.on("data", (c) => {
      b += c;
    });
    req.on("end", () => resolve(b));
  });

describe("request", () => {
  it("sends method, headers and a sized body; returns status, headers and body; reuses the connection", async () => {
    const seen: { method?: string; url?: string; length?: string; type?: string; body: string }[] = [];
    const s = await serve(async (req, res) => {
      seen.push({
        method: req.method,
        url: req.url,
        length: req.headers["content-length"],
        type: req.headers["content-type"],
        body: await readBody(req),
      });
      res.writeHead(201, { "retry-after": "7", "content-type": "application/json" }).end('{"ok":"ü"}');
    });
    const agents = keepAliveAgents();
    const body = JSON.stringify({ a: "é" });
    const r = await request(s.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      timeoutMs: 1000,
      agents,
    });
    expect(r.status).toBe(201);
    expect(r.headers["retry-after"]).toBe("7");
    expect(JSON.parse(r.body)).toEqual({ ok: "ü" });
    expect(seen[0]).toEqual({
      method: "POST",
      url: "/x?y=1",
      length: String(Buffer.byteLength(body)),
      type: "application/json",
      body,
    });
    const again = await request(s.url, { method: "GET", headers: {}, timeoutMs: 1000, agents });
    expect(again.status).toBe(201);
    expect(s.stats).toEqual({ connections: 1, requests: 2 });
    agents.http.destroy();
  });

  it("a server that never answers: HttpTimeoutError at the deadline", async () => {
    const s = await serve(() => {});
    const t0 = performance.now();
    const err = await request(s.url, {
      method: "GET",
      headers: {},
      timeoutMs: 150,
      agents: keepAliveAgents(),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(HttpTimeoutError);
    expect((err as HttpTimeoutError).timeoutMs).toBe(150);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(performance.now() - t0).toBeLessThan(600);
  });

  it("an answer whose body stalls: the same deadline covers the body", async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
    });
    const err = await request(s.url, {
      method: "GET",
      headers: {},
      timeoutMs: 150,
      agents: keepAliveAgents(),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(HttpTimeoutError);
  });

  it("a pooled connection the server dropped: retried once on a new connection", async () => {
    // the second request on any connection finds it closed, as after a server's idle timeout
    const s = await serve((req, res, nth) => {
      if (nth > 1) return req.socket.destroy();
      res.end(`answer ${s.stats.connections}`);
    });
    const agents = keepAliveAgents();
    const opts = { method: "DELETE", headers: {}, timeoutMs: 1000, agents };
    expect((await request(s.url, opts)).body).toBe("answer 1");
    expect((await request(s.url, opts)).body).toBe("answer 2");
    expect(s.stats).toEqual({ connections: 2, requests: 3 });
    agents.http.destroy();
  });

  it("a new connection reset by the server is an error, not retried", async () => {
    const s = await serve((req) => req.socket.destroy());
    const err = await request(s.url, {
      method: "POST",
      headers: {},
      body: "x",
      timeoutMs: 1000,
      agents: keepAliveAgents(),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(HttpTimeoutError);
    expect((err as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    expect(s.stats).toEqual({ connections: 1, requests: 1 });
  });

  it("nothing listening: the connection error, fast", async () => {
    const s = await serve(() => {});
    const url = s.url;
    await closeServers();
    const err = await request(url, {
      method: "GET",
      headers: {},
      timeoutMs: 1000,
      agents: keepAliveAgents(),
    }).catch((e) => e);
    expect((err as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });
});
