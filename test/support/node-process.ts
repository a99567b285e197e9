// A media node (or the supervisor, or `rtcgw node`) as a real child process against a shared
// registry, and a signed control-API client for it. Every process started here is killed by
// `killNodeProcesses()` (an afterAll), so a failed test leaves nothing running.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";
import { parseRegistryUrl } from "../../src/config/index.js";
import { signRequest } from "../../src/control/hmac.js";
import { openRegistry } from "../../src/registry/open.js";
import type { NodeRecord, Registry } from "../../src/registry/types.js";
import { newSessionId, waitFor } from "../node/harness.js";
import { ClientPeer } from "./client-peer.js";
import { type RedisServer, startRedisServer } from "./redis-server.js";

export const NODE_SECRET = "node-process-test-secret-0123456789";
const RTCGW_BIN = fileURLToPath(new URL("../../bin/rtcgw.mjs", import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  exit: Promise<number | null>;
  /** what it wrote to stderr so far (with `capture`) */
  stderr(): string;
  /** what it wrote to stdout so far (with `capture`): its log lines */
  stdout(): string;
}

const started = new Set<ChildProcess>();

export function spawnNodeProcess(
  args: string[],
  env: Record<string, string>,
  /**
   * capture: keep stdout/stderr; ipc: a channel, as the supervisor forks its workers;
   * bin: `args` are for the `rtcgw` executable, run as a user runs it (no tsx flag on node)
   */
  opts: { capture?: boolean; ipc?: boolean; bin?: boolean } = {},
): NodeProcess {
  const argv = opts.bin ? [RTCGW_BIN, ...args] : ["--import", "tsx", ...args];
  const child = spawn(process.execPath, argv, {
    env: {
      ...process.env,
      RTCGW_NODE_SECRET: NODE_SECRET,
      RTCGW_DRAIN_TIMEOUT: "2",
      RTCGW_CONNECT_TIMEOUT: "5",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: [
      "ignore",
      ...(opts.capture ? (["pipe", "pipe"] as const) : (["inherit", "inherit"] as const)),
      ...(opts.ipc ? (["ipc"] as const) : []),
    ],
  });
  let stderr = "";
  let stdout = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  started.add(child);
  const exit = new Promise<number | null>((r) =>
    child.once("exit", (code) => {
      started.delete(child);
      r(code);
    }),
  );
  return { child, exit, stderr: () => stderr, stdout: () => stdout };
}

function killNodeProcesses(): void {
  for (const c of started) c.kill("SIGKILL");
}

/**
 * A test file's own redis-server and a registry client on it, started before its tests and, after
 * them, stopped with every node process the file started: the nodes registered there are the
 * file's own. Read the fields inside tests and hooks (they are set in beforeAll).
 */
export function nodeProcessFixture(): {
  readonly redis: RedisServer;
  readonly registry: Registry;
  /** the nodes in the file's registry once there are `n` of them (a node process registers itself) */
  nodesRegistered(n: number, timeoutMs?: number): Promise<NodeRecord[]>;
} {
  const fx = {
    async nodesRegistered(n: number, timeoutMs = 20_000): Promise<NodeRecord[]> {
      let nodes: NodeRecord[] = [];
      await waitFor(
        async () => {
          nodes = await fx.registry.listNodes();
          return nodes.length === n;
        },
        timeoutMs,
        `${n} node(s) to register`,
      );
      return nodes;
    },
  } as {
    redis: RedisServer;
    registry: Registry;
    nodesRegistered(n: number, timeoutMs?: number): Promise<NodeRecord[]>;
  };
  beforeAll(async () => {
    fx.redis = await startRedisServer();
    fx.registry = await openRegistry(parseRegistryUrl(fx.redis.url));
  });
  afterAll(async () => {
    killNodeProcesses();
    await fx.registry?.close();
    await fx.redis?.stop();
  });
  return fx;
}

/** the node a control request is for: its id is signed, its URL is where it goes */
export interface ControlTarget {
  id: string;
  controlUrl: string;
}

export async function control(node: ControlTarget, method: string, path: string, body?: unknown) {
  const text = body === undefined ? "" : JSON.stringify(body);
  const res = await fetch(node.controlUrl + path, {
    method,
    headers: signRequest(NODE_SECRET, node.id, method, path, text),
    ...(text ? { body: text } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields of the JSON body
  return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
}

/** a connected two-way echo session on the node at `url`, created over its control API */
export async function connectEchoSession(
  node: ControlTarget,
  id = newSessionId(),
): Promise<{ client: ClientPeer; id: string }> {
  const client = await ClientPeer.create({ decode: false });
  const r = await control(node, "POST", "/internal/sessions", {
    sessionId: id,
    kind: "session",
    profile: "echo",
    offer: client.offer,
  });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  client.accept(r.json.answer);
  await client.connected(5000);
  return { client, id };
}
