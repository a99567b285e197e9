// One HTTP/1.1 request over node:http(s), bounded by one deadline (connect, answer and body), on
// keep-alive agents the caller keeps, so a function instance reuses its connections across
// invocations. Used by the signaling's control client (→ media nodes) and the DynamoDB store.
//
// Why not fetch: Node 20 loads its fetch (undici, with a WebAssembly HTTP parser) on first use,
// ~40 ms of a function's cold start; node:http is already loaded by the time our code runs.
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The deadline passed before the whole answer arrived. */
export class HttpTimeoutError extends Error {
  override name = "HttpTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
  }
}

export interface KeepAliveAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

/**
 * Idle pooled sockets are closed after this long: below the 5 s keep-alive timeout of Node's
 * HTTP server (the media node's control API), so we close an idle connection before the server does.
 */
const IDLE_SOCKET_MS = 4_000;

/** A pool for one client; idle sockets are unref'd by Node and never keep a process alive. */
export function keepAliveAgents(): KeepAliveAgents {
  return {
    http: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    https: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  };
}

export interface HttpRequestOptions {
  method: string;
  headers: OutgoingHttpHeaders;
  body?: string;
  timeoutMs: number;
  agents: KeepAliveAgents;
}

/**
 * The answer whatever its status; rejects with HttpTimeoutError after `timeoutMs`, or with the
 * socket's error. A pooled connection the server closed while it sat idle (a lambda frozen
 * between invocations wakes up to those) fails before anything was sent on it: such a request is
 * retried on another connection, as Node's documentation advises (`request.reusedSocket`).
 */
export async function request(url: URL, o: HttpRequestOptions): Promise<HttpResponse> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    try {
      return await once(url, o, Math.max(1, deadline - Date.now()));
    } catch (e) {
      if (!(e instanceof StaleConnection) || Date.now() >= deadline)
        throw e instanceof StaleConnection ? e.cause : e;
    }
  }
}

class StaleConnection extends Error {}

function once(url: URL, o: HttpRequestOptions, timeoutMs: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === "https:";
    const headers = { ...o.headers };
    if (o.body !== undefined && !hasHeader(headers, "content-length"))
      headers["content-length"] = String(Buffer.byteLength(o.body));
    let settled = false;
    let answered = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new HttpTimeoutError(o.timeoutMs);
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    };
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { method: o.method, headers, agent: https ? o.agents.https : o.agents.http },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
        res.on("error", (e) => fail(timedOut ? timeout : e));
        res.on("close", () => {
          if (!res.complete)
            fail(timedOut ? timeout : new Error("the connection closed before the answer was complete"));
        });
      },
    );
    timer = setTimeout(() => {
      timedOut = true;
      req.destroy(timeout);
    }, timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (timedOut) return fail(timeout);
      if (req.reusedSocket && !answered && (e.code === "ECONNRESET" || e.code === "EPIPE"))
        return fail(new StaleConnection("stale pooled connection", { cause: e }));
      fail(e);
    });
    req.end(o.body);
  });
}

const hasHeader = (h: OutgoingHttpHeaders, name: string) =>
  Object.keys(h).some((k) => k.toLowerCase() === name);
