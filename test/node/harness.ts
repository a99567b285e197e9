// Test harness: a media node on free loopback ports with a memory registry, short timeouts, and
// a signed control-API client (what the signaling does over HTTP).
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalNode } from "../../src/cli/local-gateway.js";
import { type Config, loadConfig } from "../../src/config/index.js";
import { signRequest } from "../../src/control/hmac.js";
import { createLogger } from "../../src/log/index.js";
import type { MediaNode } from "../../src/node/index.js";
import type { MemoryRegistry } from "../../src/registry/memory.js";

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    RTCGW_NODE_SECRET: "test-secret-0123456789abcdef",
    RTCGW_CONNECT_TIMEOUT: "3",
    RTCGW_DISCONNECT_TIMEOUT: "2",
    // sessions end when their peer does, as before resume existed; resume tests set a window
    RTCGW_RESUME_WINDOW: "0",
    RTCGW_MEDIA_TIMEOUT: "5",
    RTCGW_DRAIN_TIMEOUT: "3",
    RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-rec-")),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    ...env,
  });
}

export interface Harness {
  node: MediaNode;
  registry: MemoryRegistry;
  config: Config;
  call(
    method: string,
    path: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields of the JSON body
  ): Promise<{ status: number; json: any; text: string; headers: Headers }>;
  createSession(
    offer: string,
    o?: {
      kind?: "whip" | "session" | "whep";
      profile?: string;
      sessionId?: string;
      sourceSessionId?: string;
      recordRate?: number;
      /** further fields of the node's create body (a bridge's bridgeUrl, bridgeRate, …) */
      body?: Record<string, unknown>;
    },
    // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields of the JSON body
  ): Promise<{ status: number; json: any; sessionId: string }>;
  close(): Promise<void>;
}

export const newSessionId = () => randomBytes(16).toString("base64url");

/** busyUtilization: the load guard's line; off in-process unless a test asks for it */
export async function startHarness(
  env: Record<string, string> = {},
  o: { busyUtilization?: number; busyLagMs?: number } = {},
): Promise<Harness> {
  const config = testConfig(env);
  const logger = createLogger({ level: config.LOG_LEVEL });
  // the node alone (no functions wired to it): the tests call its control API themselves
  const { registry, node } = await startLocalNode({ config, logger, ...o });
  const call: Harness["call"] = async (method, path, body) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    const res = await fetch(node.controlUrl + path, {
      method,
      headers: {
        ...signRequest(node.secret, node.id, method, path, text),
        ...(text ? { "content-type": "application/json" } : {}),
      },
      ...(text ? { body: text } : {}),
    });
    const t = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields of the JSON body
    let json: any;
    try {
      json = t ? JSON.parse(t) : undefined;
    } catch {}
    return { status: res.status, json, text: t, headers: res.headers };
  };
  return {
    node,
    registry,
    config,
    call,
    async createSession(offer, o = {}) {
      const sessionId = o.sessionId ?? newSessionId();
      const kind = o.kind ?? "session";
      // as the signaling does: the session record exists (state "new") before the node is called
      await registry.createSession({
        id: sessionId,
        nodeId: node.id,
        kind,
        profile: o.profile ?? "echo",
        tokenHash: "a".repeat(64),
        state: "new",
        etag: "e0",
        ttlMs: 60_000,
        ...(o.sourceSessionId ? { sourceSessionId: o.sourceSessionId } : {}),
      });
      const r = await call("POST", "/internal/sessions", {
        sessionId,
        kind,
        profile: o.profile ?? "echo",
        offer,
        ...(o.sourceSessionId ? { sourceSessionId: o.sourceSessionId } : {}),
        ...(o.recordRate ? { recordRate: o.recordRate } : {}),
        ...o.body,
      });
      return { status: r.status, json: r.json, sessionId };
    },
    async close() {
      await node.close();
      await registry.close();
    },
  };
}

export function waitFor(
  pred: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = async () => {
      // a predicate that throws ends the wait with its error (it used to be an unhandled
      // rejection, and the wait hung until the test's own timeout, hiding what went wrong)
      let ok: boolean;
      try {
        ok = await pred();
      } catch (e) {
        return reject(new Error(`while waiting for ${what}: ${(e as Error).message}`, { cause: e }));
      }
      if (ok) return resolve();
      if (Date.now() > deadline)
        return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(check, 25);
    };
    void check();
  });
}
