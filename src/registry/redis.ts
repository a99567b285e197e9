// Redis store (ioredis). Records are hashes with key TTLs; every multi-step operation is one Lua
// script (see redis-scripts.ts), so it is atomic without WATCH/MULTI retry loops.
//
// Availability: no offline queue (a command never waits for a server that is not there), every
// command and connect attempt bounded by `timeoutMs`, in-flight commands rejected when the
// connection drops; all of that surfaces as RegistryUnavailableError within ~timeoutMs. The client
// keeps reconnecting in the background, so the store works again once the server is back.
import { createHash } from "node:crypto";
import { Redis, ReplyError } from "ioredis";
import type { Logger } from "../log/index.js";
import { ConflictError, NotFoundError, RegistryError, RegistryUnavailableError } from "./errors.js";
import { pickLeastLoaded } from "./pick.js";
import * as lua from "./redis-scripts.js";
import type {
  NewSession,
  NodeHeartbeat,
  NodeRecord,
  PickNeeds,
  Registry,
  SessionEnd,
  SessionKind,
  SessionPatch,
  SessionRecord,
  SessionState,
  SessionTombstone,
} from "./types.js";
import {
  validateEnd,
  validateHeartbeat,
  validateId,
  validateNewNode,
  validateNewSession,
  validatePatch,
  validateSuspect,
  validateTtl,
} from "./validate.js";

export interface RedisRegistryOptions {
  /** bound on connecting and on each command, in ms (default 1000) */
  timeoutMs?: number;
  /** prefix of every key (default "rtcgw:"), so several deployments can share one Redis */
  keyPrefix?: string;
  logger?: Logger;
}

type Hash = Record<string, string>;

/** Replies that mean "the server is there but cannot serve now" rather than a bug of ours. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|BUSY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

export class RedisRegistry implements Registry {
  readonly kind = "redis";
  readonly client: Redis;
  private readonly timeoutMs: number;
  private readonly p: string;
  private readonly where: string;
  private readonly log: Logger | undefined;
  private lastError = "";
  private closed = false;
  private waiting: Promise<void> | undefined;

  constructor(url: string, opts: RedisRegistryOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.p = opts.keyPrefix ?? "rtcgw:";
    this.where = redactUrl(url);
    this.log = opts.logger;
    this.client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: this.timeoutMs,
      commandTimeout: this.timeoutMs,
      // Fail now rather than queue: a function instance must answer 503 quickly, not hang.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Keep trying forever, at most every 500 ms: the server may come back.
      retryStrategy: (times) => Math.min(50 * times, 500),
      // commands issued in the same event-loop turn leave in one write: a burst of offers (each
      // a pick and a create) costs one syscall per turn, not one per command
      enableAutoPipelining: true,
    });
    // Without a listener ioredis prints every connection error; we log each new one once.
    this.client.on("error", (e: Error) => {
      if (e.message !== this.lastError)
        this.log?.warn({ err: e.message, redis: this.where }, "redis registry error");
      this.lastError = e.message;
    });
    this.client.on("ready", () => {
      if (this.lastError) this.log?.info({ redis: this.where }, "redis registry reconnected");
      this.lastError = "";
    });
  }

  /** Connect now (optional: every operation connects on demand). */
  async connect(): Promise<void> {
    await this.run(async () => undefined);
  }

  // ---- nodes ----

  async registerNode(node: Omit<NodeRecord, "expiresAt">, ttlMs: number): Promise<NodeRecord> {
    validateNewNode(node, ttlMs);
    const fields = [
      "id",
      node.id,
      "controlUrl",
      node.controlUrl,
      "capacity",
      node.capacity,
      "load",
      node.load,
    ];
    if (node.draining) fields.push("draining", "1");
    if (node.staleMarginMs !== undefined) fields.push("staleMarginMs", node.staleMarginMs);
    // one field: URLs hold no "," (validated), the node's order is kept
    if (node.turnUrls && node.turnUrls.length > 0) fields.push("turnUrls", node.turnUrls.join(","));
    if (node.recordUnavailable !== undefined) fields.push("recordUnavailable", node.recordUnavailable);
    const h = await this.script(
      lua.REGISTER_NODE,
      [this.nodeKey(node.id), this.nodesKey()],
      [ttlMs, node.id, ...fields],
    );
    return toNode(pairs(h));
  }

  async heartbeatNode(id: string, hb: NodeHeartbeat): Promise<NodeRecord> {
    validateHeartbeat(id, hb);
    const draining = hb.draining === undefined ? "" : hb.draining ? "1" : "0";
    // '' unchanged, '-' cleared (no reason starts with '-'), else the reason
    const noRecord = hb.recordUnavailable === undefined ? "" : (hb.recordUnavailable ?? "-");
    const h = await this.script(
      lua.HEARTBEAT_NODE,
      [this.nodeKey(id), this.nodesKey()],
      [hb.ttlMs, id, hb.load, draining, noRecord],
    );
    if (h === null) throw new NotFoundError(`node ${id} is not registered (or its registration expired)`);
    return toNode(pairs(h));
  }

  async getNode(id: string): Promise<NodeRecord | undefined> {
    validateId("node id", id);
    const h = await this.run((c) => c.hgetall(this.nodeKey(id)));
    return Object.keys(h).length ? toNode(h) : undefined;
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (await this.liveNodes()).nodes;
  }

  async pickNode(needs: PickNeeds = {}): Promise<NodeRecord | undefined> {
    // One script call = one consistent snapshot, judged against the server's clock.
    const { now, nodes } = await this.liveNodes();
    return pickLeastLoaded(nodes, now, Math.random, needs);
  }

  async removeNode(id: string): Promise<void> {
    validateId("node id", id);
    await this.script(lua.REMOVE_NODE, [this.nodeKey(id), this.nodesKey()], [id]);
  }

  async markNodeSuspect(id: string, ttlMs: number): Promise<void> {
    validateSuspect(id, ttlMs);
    await this.script(lua.MARK_NODE_SUSPECT, [this.nodeKey(id)], [ttlMs]);
  }

  // ---- sessions ----

  async createSession(s: NewSession): Promise<SessionRecord> {
    validateNewSession(s);
    const fields: (string | number)[] = [
      "id",
      s.id,
      "nodeId",
      s.nodeId,
      "kind",
      s.kind,
      "profile",
      s.profile,
      "tokenHash",
      s.tokenHash,
      "state",
      s.state,
      "etag",
      s.etag,
    ];
    if (s.sourceSessionId !== undefined) fields.push("sourceSessionId", s.sourceSessionId);
    const h = await this.script(
      lua.CREATE_SESSION,
      [this.sessionKey(s.id), this.indexKey(s.nodeId)],
      [s.ttlMs, s.id, ...fields],
    );
    if (h === null) throw new ConflictError(`session ${s.id} already exists`);
    return toSession(pairs(h));
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    validateId("session id", id);
    const h = await this.run((c) => c.hgetall(this.sessionKey(id)));
    return Object.keys(h).length ? toSession(h) : undefined;
  }

  async updateSession(id: string, expectedVersion: number, patch: SessionPatch): Promise<SessionRecord> {
    validatePatch(id, expectedVersion, patch);
    const { ttlMs, ...changes } = patch;
    const fields: string[] = [];
    for (const [k, v] of Object.entries(changes)) if (v !== undefined) fields.push(k, String(v));
    const r = (await this.script(
      lua.UPDATE_SESSION,
      [this.sessionKey(id)],
      [expectedVersion, ttlMs ?? "", this.indexKey(""), id, ...fields],
    )) as [number, unknown];
    if (r[0] === 0) throw new NotFoundError(`session ${id} does not exist (or expired)`);
    if (r[0] === 1) throw new ConflictError(`session ${id} is at version ${r[1]}, not ${expectedVersion}`);
    return toSession(pairs(r[1] as string[]));
  }

  async deleteSession(id: string): Promise<boolean> {
    validateId("session id", id);
    const n = await this.script(lua.DELETE_SESSION, [this.sessionKey(id)], [this.indexKey(""), id]);
    return n === 1;
  }

  async endSession(id: string, end: SessionEnd): Promise<SessionTombstone | undefined> {
    validateEnd(id, end);
    const h = await this.script(
      lua.END_SESSION,
      [this.sessionKey(id), this.tombstoneKey(id)],
      [end.ttlMs, end.reason, this.indexKey(""), id],
    );
    return h === null ? undefined : toTombstone(pairs(h));
  }

  async getTombstone(id: string): Promise<SessionTombstone | undefined> {
    validateId("session id", id);
    const h = await this.run((c) => c.hgetall(this.tombstoneKey(id)));
    return Object.keys(h).length ? toTombstone(h) : undefined;
  }

  async listSessionsByNode(nodeId: string): Promise<SessionRecord[]> {
    validateId("nodeId", nodeId);
    const hs = (await this.script(
      lua.LIST_SESSIONS_BY_NODE,
      [this.indexKey(nodeId)],
      [this.sessionKey("")],
    )) as string[][];
    return hs.map((h) => toSession(pairs(h)));
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    validateId("claim key", key);
    validateTtl("ttlMs", ttlMs);
    // SET NX PX: one atomic command, the key expires with the claim
    const r = await this.run((c) => c.set(this.claimKey(key), "1", "PX", ttlMs, "NX"));
    return r === "OK";
  }

  async releaseClaim(key: string): Promise<void> {
    validateId("claim key", key);
    await this.run((c) => c.del(this.claimKey(key)));
  }

  async ping(): Promise<void> {
    await this.run((c) => c.ping());
  }

  async close(): Promise<void> {
    this.closed = true;
    // quit() waits for the server; when it is gone, disconnect() is the only way out.
    if (this.client.status === "ready") await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  // ---- plumbing ----

  private nodesKey = () => `${this.p}nodes`;
  private claimKey = (key: string) => `${this.p}claim:${key}`;
  private nodeKey = (id: string) => `${this.p}node:${id}`;
  private sessionKey = (id: string) => `${this.p}session:${id}`;
  private indexKey = (nodeId: string) => `${this.p}node-sessions:${nodeId}`;
  private tombstoneKey = (id: string) => `${this.p}ended:${id}`;

  private async liveNodes(): Promise<{ now: number; nodes: NodeRecord[] }> {
    const [now, ...hs] = (await this.script(lua.LIST_NODES, [this.nodesKey()], [this.nodeKey("")])) as [
      string,
      ...string[][],
    ];
    return { now: Number(now), nodes: hs.map((h) => toNode(pairs(h))) };
  }

  /** EVALSHA, falling back to EVAL once when the server does not know the script (new or restarted server). */
  private async script(src: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const sha = sha1(src);
    return this.run(async (c) => {
      try {
        return await c.evalsha(sha, keys.length, ...keys, ...args);
      } catch (e) {
        if (e instanceof ReplyError && /^NOSCRIPT/.test((e as Error).message))
          return await c.eval(src, keys.length, ...keys, ...args);
        throw e;
      }
    });
  }

  private async run<T>(op: (c: Redis) => Promise<T>): Promise<T> {
    try {
      await this.whenReady();
      return await op(this.client);
    } catch (e) {
      throw this.translate(e);
    }
  }

  /**
   * Wait for a usable connection (the offline queue is off, so commands need one): resolves on
   * 'ready'; rejects on the next connection error (the server refused: fail fast) or after
   * timeoutMs (the server does not answer at all). Concurrent callers share one wait.
   */
  private whenReady(): Promise<void> {
    const c = this.client;
    if (this.closed) return Promise.reject(new Error("registry was closed"));
    if (c.status === "ready") return Promise.resolve();
    if (c.status === "end") return Promise.reject(new Error("connection closed"));
    if (c.status === "wait") c.connect().catch(() => {}); // failures arrive as 'error' events
    this.waiting ??= new Promise<void>((resolve, reject) => {
      const done = (e?: Error) => {
        clearTimeout(timer);
        c.off("ready", onReady);
        c.off("error", onError);
        c.off("end", onEnd);
        this.waiting = undefined;
        if (e) reject(e);
        else resolve();
      };
      const onReady = () => done();
      const onError = (e: Error) => done(e);
      const onEnd = () => done(new Error("connection closed"));
      const timer = setTimeout(() => {
        done(
          new Error(
            `no connection within ${this.timeoutMs} ms${this.lastError ? ` (${this.lastError})` : ""}`,
          ),
        );
      }, this.timeoutMs);
      c.on("ready", onReady);
      c.on("error", onError);
      c.on("end", onEnd);
    });
    return this.waiting;
  }

  private translate(e: unknown): Error {
    if (e instanceof RegistryError) return e;
    if (e instanceof ReplyError && !TRANSIENT_REPLY.test((e as Error).message)) {
      return new RegistryError(`redis registry (${this.where}) refused a command: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return new RegistryUnavailableError(`redis (${this.where})`, e);
  }
}

export function createRedisRegistry(url: string, opts?: RedisRegistryOptions): RedisRegistry {
  return new RedisRegistry(url, opts);
}

/** EVALSHA names a script by its SHA-1; the few scripts are hashed once, not per call */
const shas = new Map<string, string>();
function sha1(src: string): string {
  let sha = shas.get(src);
  if (!sha) {
    sha = createHash("sha1").update(src).digest("hex");
    shas.set(src, sha);
  }
  return sha;
}

/** Lua returns a hash as a flat [field, value, …] array. */
function pairs(flat: unknown): Hash {
  const a = flat as string[];
  const h: Hash = {};
  for (let i = 0; i + 1 < a.length; i += 2) h[a[i]!] = a[i + 1]!;
  return h;
}

function toNode(h: Hash): NodeRecord {
  const n: NodeRecord = {
    id: h.id!,
    controlUrl: h.controlUrl!,
    capacity: Number(h.capacity),
    load: Number(h.load),
    expiresAt: Number(h.expiresAt),
  };
  if (h.draining === "1") n.draining = true;
  if (h.staleMarginMs !== undefined) n.staleMarginMs = Number(h.staleMarginMs);
  if (h.suspectUntil !== undefined) n.suspectUntil = Number(h.suspectUntil);
  if (h.turnUrls) n.turnUrls = h.turnUrls.split(",");
  if (h.recordUnavailable) n.recordUnavailable = h.recordUnavailable;
  return n;
}

function toTombstone(h: Hash): SessionTombstone {
  return {
    id: h.id!,
    nodeId: h.nodeId!,
    kind: h.kind as SessionKind,
    tokenHash: h.tokenHash!,
    reason: h.reason!,
    endedAt: Number(h.endedAt),
    expiresAt: Number(h.expiresAt),
  };
}

function toSession(h: Hash): SessionRecord {
  const s: SessionRecord = {
    id: h.id!,
    nodeId: h.nodeId!,
    kind: h.kind as SessionKind,
    profile: h.profile!,
    tokenHash: h.tokenHash!,
    state: h.state as SessionState,
    etag: h.etag!,
    createdAt: Number(h.createdAt),
    version: Number(h.version),
    expiresAt: Number(h.expiresAt),
  };
  if (h.sourceSessionId !== undefined) s.sourceSessionId = h.sourceSessionId;
  return s;
}

/** The URL without its password, for messages and logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "redis";
  }
}
