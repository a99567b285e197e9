// The local API Gateway: an HTTP server that matches the shared route table, builds a payload-2.0
// event, invokes the route's function handler and maps its result back. Gateway behaviours kept:
// 404 {"message":"Not Found"} for unmatched routes, 10 MB request limit (413), a thrown handler
// is a 500, an integration slower than 30 s is a 503.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { clientAborted, readBody } from "../http/read-body.js";
import type { Logger } from "../log/index.js";
import type { LambdaHandler } from "../signaling/dispatch.js";
import { type HandlerName, matchRoute, routeKey } from "../signaling/routes.js";
import { buildEvent } from "./event.js";
import { gatewayError, writeResult } from "./result.js";

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const INTEGRATION_TIMEOUT_MS = 30_000;

export interface EmulatorOptions {
  handlers: Partial<Record<HandlerName, LambdaHandler>>;
  logger: Logger;
  port?: number;
  host?: string;
  /** dev-only extras served before the routes (the demo page, recordings); true if handled */
  extra?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** runs each request's handling (a local gateway scopes its signaling deps to its requests) */
  scope?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface Emulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmulator(o: EmulatorOptions): Promise<Emulator> {
  const log = o.logger.child({ component: "emulator" });
  const scope = o.scope ?? ((fn) => fn());
  const server: Server = createServer((req, res) => {
    scope(() => handle(req, res)).catch((e) => {
      // a client that hangs up mid-upload is not a server error: nobody is left to answer
      if (clientAborted(req, e)) {
        log.info(
          { method: req.method, path: req.url?.split("?")[0] },
          "client closed the request before its body was read",
        );
        res.destroy();
        return;
      }
      log.error({ err: (e as Error).message }, "emulator request failed");
      if (!res.headersSent) gatewayError(res, 500);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (o.extra && (await o.extra(req, res))) return;
    const url = req.url ?? "/";
    const path = url.split("?")[0]!;
    const m = matchRoute(req.method ?? "GET", path);
    const handler = m ? o.handlers[m.route.handler] : undefined;
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === "too-large") return gatewayError(res, 413);
    if (!m || !handler) return gatewayError(res, 404);
    const event = buildEvent(
      {
        method: req.method ?? "GET",
        url,
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
        httpVersion: req.httpVersion,
      },
      { routeKey: routeKey(m.route), pathParameters: m.pathParameters },
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), INTEGRATION_TIMEOUT_MS);
    });
    try {
      const r = await Promise.race([handler(event), timeout]);
      if (r === "timeout") return gatewayError(res, 503);
      writeResult(res, r);
    } catch (e) {
      log.error({ err: (e as Error).message, routeKey: event.routeKey }, "function threw");
      gatewayError(res, 500);
    } finally {
      clearTimeout(timer);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 8080, o.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
