// Function-level test harness: a real media node (startLocalGateway without its emulator, free
// loopback ports) and a memory registry in the test process; the function handlers are invoked directly with events
// built by the emulator's event builder (the same events API Gateway sends).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { handler as health } from "../../functions/health/index.js";
import { handler as options } from "../../functions/options/index.js";
import { handler as sessions } from "../../functions/sessions/index.js";
import { handler as whep } from "../../functions/whep/index.js";
import { handler as whip } from "../../functions/whip/index.js";
import { startLocalGateway } from "../../src/cli/local-gateway.js";
import { type Config, loadConfig } from "../../src/config/index.js";
import { buildEvent } from "../../src/emulator/event.js";
import { createLogger } from "../../src/log/index.js";
import type { MediaNode } from "../../src/node/index.js";
import type { MemoryRegistry } from "../../src/registry/memory.js";
import type { Registry } from "../../src/registry/types.js";
import { makeSignalingDeps, type SignalingDepsInput, setSignalingDeps } from "../../src/signaling/deps.js";
import { type HandlerName, matchRoute, routeKey } from "../../src/signaling/routes.js";

const HANDLERS = { whip, sessions, whep, health, options };

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    RTCGW_NODE_SECRET: "fn-test-secret-0123456789abcdef",
    RTCGW_CONNECT_TIMEOUT: "5",
    RTCGW_DISCONNECT_TIMEOUT: "2",
    // sessions end when their peer does, as before resume existed; resume tests set a window
    RTCGW_RESUME_WINDOW: "0",
    RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-fn-rec-")),
    LOG_LEVEL: "debug",
    ...env,
  });
}

export interface Invocation {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields of the JSON body
  json(): any;
}

export interface FnHarness {
  config: Config;
  registry: MemoryRegistry;
  node: MediaNode;
  /** every log line written during the test file (to check no secret leaks) */
  logs(): string;
  invoke(i: Invocation): Promise<Response>;
  /** point the functions at other dependencies (another registry, a short timeout…) */
  reconfigure(o: Partial<SignalingDepsInput> & { registry?: Registry }): void;
  close(): Promise<void>;
}

export async function startFnHarness(env: Record<string, string> = {}): Promise<FnHarness> {
  const config = testConfig(env);
  const sink = new PassThrough();
  let logText = "";
  sink.on("data", (c: Buffer) => {
    logText += c.toString("utf8");
  });
  const logger = createLogger({ level: "debug", destination: sink });
  // functions invoked directly: no emulator in front
  const gateway = await startLocalGateway({ config, logger, emulator: false, controlTimeoutMs: 5_000 });
  const { registry, node, signaling: base } = gateway;
  return {
    config,
    registry,
    node,
    logs: () => logText,
    invoke: (i) => invoke(i),
    reconfigure(o) {
      setSignalingDeps(makeSignalingDeps({ ...base, ...o }));
    },
    close: () => gateway.close(),
  };
}

/** Build the gateway's event for a request and call the function that owns the route. */
export async function invoke(i: Invocation): Promise<Response> {
  const path = i.path.split("?")[0]!;
  const m = matchRoute(i.method, path);
  if (!m) throw new Error(`no route for ${i.method} ${path}`);
  const rawHeaders: string[] = ["host", "gw.example.test", "user-agent", "fn-test"];
  for (const [k, v] of Object.entries(i.headers ?? {})) rawHeaders.push(k, v);
  const body =
    i.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(i.body) ? i.body : Buffer.from(i.body);
  const event = buildEvent(
    { method: i.method, url: i.path, rawHeaders, body, sourceIp: "127.0.0.1", httpVersion: "1.1" },
    { routeKey: routeKey(m.route), pathParameters: m.pathParameters },
  );
  const fn = HANDLERS[m.route.handler as HandlerName];
  const r = (await fn(event)) as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
  const text =
    r.body === undefined ? "" : r.isBase64Encoded ? Buffer.from(r.body, "base64").toString() : r.body;
  return { status: r.statusCode ?? 200, headers, body: text, json: () => JSON.parse(text) };
}

export const sdpHeaders = (extra: Record<string, string> = {}) => ({
  "content-type": "application/sdp",
  ...extra,
});

/** The a=<direction> of the (first) audio m-line of an SDP. */
export function audioDirection(sdp: string): string | undefined {
  const audio = sdp.split(/\r?\nm=/).find((s) => s.startsWith("audio"));
  return /\r?\na=(sendrecv|sendonly|recvonly|inactive)/.exec(audio ?? "")?.[1];
}
