// A two-node deployment as an operator runs it, for the fault suite: a real redis-server (or
// dynalite, a real DynamoDB implementation, for the DynamoDB store),
// `rtcgw signaling`, two `rtcgw node`s (one process each, RTCGW_WORKERS=1, so kill -9 kills the
// node itself), and live node-datachannel callers through the signaling's HTTP API. Every
// process started here is killed by `stop()`.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseRegistryUrl } from "../../src/config/index.js";
import { openRegistry } from "../../src/registry/open.js";
import type { Registry } from "../../src/registry/types.js";
import { ClientPeer } from "../support/client-peer.js";
import { type DynaliteServer, startDynaliteProcess } from "../support/dynalite.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

export type Store = "redis" | "dynamodb";

/** the registry's store, as the fault tests stop and start it */
export interface StoreServer {
  url: string;
  /** unreachable from now on (Redis: the process stops, its data gone; dynalite: its process is killed, its LevelDB data kept) */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Redis only: SIGSTOP / SIGCONT (connections stay open, nothing answers) */
  pause?(): void;
  resume?(): void;
}

async function startStore(kind: Store): Promise<StoreServer & { dispose(): Promise<void> }> {
  if (kind === "redis") {
    const r: RedisServer = await startRedisServer();
    return {
      url: r.url,
      stop: () => r.stop(),
      start: () => r.start(),
      pause: () => r.pause(),
      resume: () => r.resume(),
      dispose: () => r.stop(),
    };
  }
  const d: DynaliteServer = await startDynaliteProcess();
  const url = `dynamodb:rtcgw-faults@${d.endpoint}`;
  const r = await openRegistry(parseRegistryUrl(url), { ensureTable: true });
  await r.close();
  return { url, stop: () => d.stop(), start: () => d.start(), dispose: () => d.dispose() };
}

const BIN = fileURLToPath(new URL("../../bin/rtcgw.mjs", import.meta.url));
const SECRET = "faults-node-secret-0123456789";

export interface Proc {
  child: ChildProcess;
  exit: Promise<number | null>;
  out(): string;
}

/** what a node's recordings disk is made of: fsizeKb, a file size limit (`ulimit -f`, KiB) that
 *  stands for a full disk (the kernel answers a write past it with EFBIG, as a full disk answers
 *  ENOSPC; statfs still sees the machine's disk); tmpfsKb, a real small file system mounted on
 *  RECORDINGS_DIR in a user and mount namespace of the node's own (`unshare -rm`: no root needed
 *  where unprivileged user namespaces are allowed; the other processes still see the directory) */
export interface NodeDisk {
  fsizeKb?: number;
  tmpfsKb?: number;
}

/** whether this machine lets an unprivileged process mount a tmpfs in namespaces of its own */
export function canMountTmpfs(): boolean {
  const dir = mkdtempSync(join(tmpdir(), "rtcgw-unshare-"));
  try {
    return spawnSync("unshare", ["-rm", "sh", "-c", 'mount -t tmpfs -o size=64k t "$0"', dir]).status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function start(cmd: string, env: Record<string, string>, disk: NodeDisk = {}): Proc {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(RTCGW_|MEDIA_|PORT$|NODE_PORT$|LOG_LEVEL$)/.test(k)) base[k] = v;
  const opts = { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] as ("ignore" | "pipe")[] };
  const steps = [
    ...(disk.tmpfsKb !== undefined
      ? [`mount -t tmpfs -o size=${disk.tmpfsKb}k rtcgw-faults "$RECORDINGS_DIR"`]
      : []),
    ...(disk.fsizeKb !== undefined ? [`ulimit -f ${disk.fsizeKb}`] : []),
  ];
  const args = [...steps, 'exec "$0" "$1" "$2"'].join(" && ");
  // unshare without --fork execs its command, and sh execs the node: child.pid is the node's
  const child =
    steps.length === 0
      ? spawn(process.execPath, [BIN, cmd], opts)
      : disk.tmpfsKb !== undefined
        ? spawn("unshare", ["-rm", "bash", "-c", args, process.execPath, BIN, cmd], opts)
        : spawn("bash", ["-c", args, process.execPath, BIN, cmd], opts);
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, exit, out: () => out };
}

export interface Call {
  id: string;
  location: string;
  client: ClientPeer;
  nodeId: string;
  /** the Rtcgw-Session-Token returned at creation: the Bearer that controls the session */
  token: string;
}

export class Deployment {
  /** the registry's store (named for what it is in most tests) */
  redis!: StoreServer & { dispose(): Promise<void> };
  registry!: Registry;
  signaling!: Proc;
  url!: string;
  nodes: Proc[] = [];
  readonly recordings = mkdtempSync(join(tmpdir(), "rtcgw-faults-"));
  private readonly calls: Call[] = [];

  /** nodes: how many; fsizeKb: RLIMIT_FSIZE of the node processes (`ulimit -f`, KiB; a list: per
   *  node, undefined = no limit); tmpfsKb: a tmpfs of that size on each node's RECORDINGS_DIR
   *  (per node as fsizeKb; NodeDisk); nodeEnv: more environment for the nodes (RTCGW_WORKERS:
   *  workers per node, each registered as a node) */
  async up(
    o: {
      nodes?: number;
      fsizeKb?: number | (number | undefined)[];
      tmpfsKb?: (number | undefined)[];
      store?: Store;
      nodeEnv?: Record<string, string>;
    } = {},
  ): Promise<void> {
    const n = o.nodes ?? 2;
    this.redis = await startStore(o.store ?? "redis");
    this.registry = await openRegistry(parseRegistryUrl(this.redis.url));
    const shared = { RTCGW_REGISTRY: this.redis.url, RTCGW_NODE_SECRET: SECRET, LOG_LEVEL: "warn" };
    for (let i = 0; i < n; i++)
      this.nodes.push(
        this.startNode(
          { ...shared, ...o.nodeEnv },
          {
            fsizeKb: Array.isArray(o.fsizeKb) ? o.fsizeKb[i] : o.fsizeKb,
            tmpfsKb: o.tmpfsKb?.[i],
          },
        ),
      );
    this.signaling = start("signaling", { ...shared, PORT: "0" });
    this.url = await new Promise<string>((resolve, reject) => {
      // a start, not a figure under test: on a starved machine (load average 15 on 2 cores) the
      // signaling once printed nothing in 30 s while tsx compiled it
      const t = setTimeout(() => reject(new Error(`no signaling URL: ${this.signaling.out()}`)), 60_000);
      const check = () => {
        const m = /listening on (http:\/\/\S+)/.exec(this.signaling.out());
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        } else setTimeout(check, 50);
      };
      check();
    });
    await this.until(
      async () => (await this.registry.listNodes()).length === n * Number(o.nodeEnv?.RTCGW_WORKERS ?? 1),
      30_000,
      `${n} nodes' workers registered`,
    );
  }

  startNode(shared: Record<string, string>, disk: NodeDisk = {}): Proc {
    return start(
      "node",
      {
        RTCGW_WORKERS: "1",
        ...shared,
        NODE_PORT: "0",
        MEDIA_UDP_PORT: "0",
        MEDIA_BIND_ADDRESS: "127.0.0.1",
        RECORDINGS_DIR: this.recordings,
        RTCGW_DRAIN_TIMEOUT: "3",
      },
      disk,
    );
  }

  /** a live call through the signaling: offer, answer, connected */
  async call(profile = "echo"): Promise<Call> {
    const client = await ClientPeer.create({ decode: false, dataChannel: false });
    const res = await fetch(`${this.url}/v1/sessions?profile=${profile}`, {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: client.offer,
    });
    if (res.status !== 201) {
      await client.close();
      throw new Error(`offer answered ${res.status}: ${await res.text()}`);
    }
    client.accept(await res.text());
    await client.connected(10_000);
    const location = res.headers.get("location")!;
    const id = location.split("/").pop()!;
    const rec = await this.registry.getSession(id);
    const call = {
      id,
      location,
      client,
      nodeId: rec?.nodeId ?? "?",
      token: res.headers.get("rtcgw-session-token") ?? "",
    };
    this.calls.push(call);
    return call;
  }

  /** DELETE through the signaling with the session's own token */
  end(c: Call): Promise<Response> {
    return fetch(`${this.url}${c.location}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${c.token}` },
    });
  }

  /** an offer only (no connection): its status, Retry-After, how long the answer took, the
   *  node that took it (from the registry, before the session is deleted again), and for a
   *  refusal its error code and reason (which 503 it was: node-busy or no-media-node) */
  async offer(profile = "echo"): Promise<{
    status: number;
    retryAfter: string | null;
    ms: number;
    nodeId?: string;
    refusal?: string;
  }> {
    const client = await ClientPeer.create({ decode: false, dataChannel: false });
    const t0 = Date.now();
    try {
      const res = await fetch(`${this.url}/v1/sessions?profile=${profile}`, {
        method: "POST",
        headers: { "content-type": "application/sdp" },
        body: client.offer,
        signal: AbortSignal.timeout(15_000),
      });
      const ms = Date.now() - t0;
      let nodeId: string | undefined;
      let refusal: string | undefined;
      if (res.status !== 201) {
        const body = await res.text().catch(() => "");
        try {
          const j = JSON.parse(body) as { error?: string; reason?: string };
          refusal = `${j.error ?? "?"}: ${j.reason ?? ""}`;
        } catch {
          refusal = body.slice(0, 200);
        }
      }
      if (res.status === 201) {
        const id = res.headers.get("location")!.split("/").pop()!;
        nodeId = (await this.registry.getSession(id).catch(() => undefined))?.nodeId;
        await fetch(`${this.url}${res.headers.get("location")}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${res.headers.get("rtcgw-session-token")}` },
        }).catch(() => {});
      }
      return {
        status: res.status,
        retryAfter: res.headers.get("retry-after"),
        ms,
        ...(nodeId ? { nodeId } : {}),
        ...(refusal !== undefined ? { refusal } : {}),
      };
    } finally {
      await client.close();
    }
  }

  async until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async down(): Promise<void> {
    for (const c of this.calls) await c.client.close().catch(() => {});
    // SIGKILL ends a stopped (SIGSTOP) process too
    for (const p of [...this.nodes, this.signaling])
      if (p && p.child.exitCode === null) p.child.kill("SIGKILL");
    await this.registry?.close().catch(() => {});
    await this.redis?.dispose();
  }
}
