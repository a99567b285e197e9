// The control API (signaling → node, never public): plain node:http, every route but /metrics
// HMAC-verified (src/control/hmac.ts), bodies validated with zod, errors as JSON ControlError.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type ControlError,
  CreateSessionRequestSchema,
  type CreateSessionResponse,
  MAX_SDP_BYTES,
  PatchSessionRequestSchema,
  ResumeSessionRequestSchema,
  type ResumeSessionResponse,
  SESSION_ID_RE,
} from "../control/contract.js";
import { RequestVerifier } from "../control/hmac.js";
import { clientAborted, readBody } from "../http/read-body.js";
import type { Logger } from "../log/index.js";
import type { NodeMetrics } from "./metrics.js";
import { MediaNodeError } from "./sessions/errors.js";
import type { SessionTable } from "./sessions/session-table.js";

/** JSON of a 64 KB offer stays well under this; anything bigger is not a control request */
const MAX_BODY_BYTES = 256 * 1024;
const RETRY_AFTER_S = 5;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export interface ControlServerOptions {
  nodeId: string;
  secret: string;
  host: string;
  port: number;
  sessions: SessionTable;
  metrics: NodeMetrics;
  log: Logger;
}

/** how long a caller may take to send its whole request (headers and body) */
export const CONTROL_REQUEST_TIMEOUT_MS = 5_000;

export interface ControlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  const verifier = new RequestVerifier(o.secret, o.nodeId);
  // A request is whole within CONTROL_REQUEST_TIMEOUT_MS (the signaling's take milliseconds; a
  // body is ≤ 64 KB) or answered 408 and closed: Node's defaults (60 s for headers, 300 s for the
  // whole request, checked every 30 s) let anyone who reaches the port hold connections open by
  // sending slowly, before the signature could be checked.
  const server: Server = createServer(
    {
      requestTimeout: CONTROL_REQUEST_TIMEOUT_MS,
      headersTimeout: CONTROL_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      handle(req, res).catch((e) => {
        // the signaling gave up mid-upload (its control timeout): its side logs that, not an error here
        if (clientAborted(req, e)) {
          o.log.info({ method: req.method }, "control request closed by the caller before its body was read");
          res.destroy();
          return;
        }
        o.log.error({ err: (e as Error).message }, "control request failed");
        if (!res.headersSent) sendError(res, 500, "internal", "the media node failed to handle the request");
      });
    },
  );
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const path = url.split("?")[0]!;
    try {
      if (method === "GET" && path === "/metrics") {
        // ?format=json: the same figures as prom-client's JSON, which the supervisor merges
        if (new URLSearchParams(url.slice(path.length + 1)).get("format") === "json") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(await o.metrics.json()));
          return;
        }
        res.writeHead(200, { "content-type": o.metrics.registry.contentType });
        res.end(await o.metrics.text());
        return;
      }
      const body = await readControlBody(req);
      const v = verifier.verify(method, url, req.headers, body);
      if (!v.ok) throw new HttpError(401, "unauthorized", v.reason);
      await route(method, path, body, res);
    } catch (e) {
      if (e instanceof HttpError) return sendError(res, e.status, e.code, e.reason);
      if (e instanceof MediaNodeError) {
        if (e.status === 503) res.setHeader("retry-after", String(RETRY_AFTER_S));
        return sendError(res, e.status, e.code, e.reason);
      }
      throw e;
    }
  }

  async function route(method: string, path: string, body: Buffer, res: ServerResponse) {
    if (path === "/internal/health" && method === "GET") return sendJson(res, 200, o.sessions.health());
    if (path === "/internal/sessions" && method === "POST") {
      const json = parseJson(body) as { offer?: unknown };
      // the contract caps offers at 64 KB; say so with 413 rather than a generic schema error
      if (typeof json?.offer === "string" && Buffer.byteLength(json.offer) > MAX_SDP_BYTES)
        throw new HttpError(413, "sdp-too-large", `the offer is larger than ${MAX_SDP_BYTES} bytes`);
      const req = CreateSessionRequestSchema.safeParse(json);
      if (!req.success) throw new HttpError(400, "bad-request", zodReason(req.error));
      const { answer, etag } = await o.sessions.create(req.data);
      const out: CreateSessionResponse = { sessionId: req.data.sessionId, nodeId: o.nodeId, answer, etag };
      return sendJson(res, 201, out);
    }
    const r = /^\/internal\/sessions\/([^/]+)\/resume$/.exec(path);
    if (r) {
      const id = decodeId(r[1]!);
      if (!SESSION_ID_RE.test(id)) throw new HttpError(400, "bad-session-id", "not a session id");
      if (method !== "POST")
        throw new HttpError(405, "method-not-allowed", `${method} is not allowed on resume`);
      const json = parseJson(body) as { offer?: unknown };
      if (typeof json?.offer === "string" && Buffer.byteLength(json.offer) > MAX_SDP_BYTES)
        throw new HttpError(413, "sdp-too-large", `the offer is larger than ${MAX_SDP_BYTES} bytes`);
      const req = ResumeSessionRequestSchema.safeParse(json);
      if (!req.success) throw new HttpError(400, "bad-request", zodReason(req.error));
      const { answer, etag } = await o.sessions.resume(id, req.data);
      const out: ResumeSessionResponse = { sessionId: id, nodeId: o.nodeId, answer, etag };
      return sendJson(res, 200, out);
    }
    const m = /^\/internal\/sessions\/([^/]+)$/.exec(path);
    if (m) {
      const id = decodeId(m[1]!);
      if (!SESSION_ID_RE.test(id)) throw new HttpError(400, "bad-session-id", "not a session id");
      if (method === "GET") return sendJson(res, 200, o.sessions.status(id));
      if (method === "DELETE") {
        await o.sessions.remove(id);
        res.writeHead(204).end();
        return;
      }
      if (method === "PATCH") {
        const p = PatchSessionRequestSchema.safeParse(parseJson(body));
        if (!p.success) throw new HttpError(400, "bad-request", zodReason(p.error));
        o.sessions.patch(id, p.data.sdpfrag);
        res.writeHead(204).end();
        return;
      }
      throw new HttpError(405, "method-not-allowed", `${method} is not allowed on a session`);
    }
    throw new HttpError(404, "not-found", `no route ${method} ${path}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host.includes(":") ? `[${o.host}]` : o.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readControlBody(req: IncomingMessage): Promise<Buffer> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === "too-large")
    throw new HttpError(413, "body-too-large", `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
  return body;
}

/** a bad percent-escape is a bad id, not a 500 (decodeURIComponent throws; found by fuzzing) */
function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return "";
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "bad-json", "the request body is not JSON");
  }
}

function zodReason(e: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return e.issues.map((i) => `${i.path.map(String).join(".") || "body"}: ${i.message}`).join("; ");
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, error: string, reason: string) {
  const body: ControlError = { error, reason };
  sendJson(res, status, body);
}
