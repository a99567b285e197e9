// The embedded default store: two Maps in this process. Correct without timers: expiry is
// checked on every read, and expired entries are purged lazily (when met, and by an occasional
// sweep on writes so a long-lived process does not accumulate dead records).
import { ConflictError, NotFoundError, RegistryUnavailableError } from "./errors.js";
import { pickLeastLoaded } from "./pick.js";
import { newNodeRecord, newSessionRecord, newTombstone } from "./records.js";
import type {
  NewSession,
  NodeHeartbeat,
  NodeRecord,
  PickNeeds,
  Registry,
  SessionEnd,
  SessionPatch,
  SessionRecord,
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

export interface MemoryRegistryOptions {
  /** clock in epoch ms; injectable so tests can move time without waiting */
  now?: () => number;
  /** full sweep of expired entries after this many writes (default 1000) */
  sweepEvery?: number;
}

export class MemoryRegistry implements Registry {
  readonly kind = "memory";
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly sessions = new Map<string, SessionRecord>();
  /** single-use key → when its claim expires */
  private readonly claims = new Map<string, number>();
  private readonly tombstones = new Map<string, SessionTombstone>();
  /** nodeId → ids of sessions created on (or moved to) that node */
  private readonly byNode = new Map<string, Set<string>>();
  private readonly now: () => number;
  private readonly sweepEvery: number;
  private writes = 0;
  private closed = false;

  constructor(opts: MemoryRegistryOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.sweepEvery = opts.sweepEvery ?? 1000;
  }

  async registerNode(node: Omit<NodeRecord, "expiresAt">, ttlMs: number): Promise<NodeRecord> {
    this.open();
    validateNewNode(node, ttlMs);
    const rec = newNodeRecord(node, ttlMs, this.now());
    this.nodes.set(rec.id, rec);
    this.wrote();
    return { ...rec };
  }

  async heartbeatNode(id: string, hb: NodeHeartbeat): Promise<NodeRecord> {
    this.open();
    validateHeartbeat(id, hb);
    const cur = this.liveNode(id);
    if (!cur) throw new NotFoundError(`node ${id} is not registered (or its registration expired)`);
    const rec: NodeRecord = { ...cur, load: hb.load, expiresAt: this.now() + hb.ttlMs };
    if (hb.draining !== undefined) {
      if (hb.draining) rec.draining = true;
      else delete rec.draining;
    }
    if (hb.recordUnavailable !== undefined) {
      if (hb.recordUnavailable === null) delete rec.recordUnavailable;
      else rec.recordUnavailable = hb.recordUnavailable;
    }
    this.nodes.set(id, rec);
    this.wrote();
    return { ...rec };
  }

  async getNode(id: string): Promise<NodeRecord | undefined> {
    this.open();
    validateId("node id", id);
    const n = this.liveNode(id);
    return n && { ...n };
  }

  async listNodes(): Promise<NodeRecord[]> {
    this.open();
    const now = this.now();
    const out: NodeRecord[] = [];
    for (const n of this.nodes.values()) {
      if (n.expiresAt > now) out.push({ ...n });
      else this.nodes.delete(n.id);
    }
    return out;
  }

  async pickNode(needs: PickNeeds = {}): Promise<NodeRecord | undefined> {
    this.open();
    const n = pickLeastLoaded(this.nodes.values(), this.now(), Math.random, needs);
    return n && { ...n };
  }

  async removeNode(id: string): Promise<void> {
    this.open();
    validateId("node id", id);
    // Its sessions stay (and stay listed under it) until they expire: they are the orphans a
    // cleaner finds with listSessionsByNode.
    this.nodes.delete(id);
  }

  async markNodeSuspect(id: string, ttlMs: number): Promise<void> {
    this.open();
    validateSuspect(id, ttlMs);
    const n = this.liveNode(id);
    if (n) n.suspectUntil = this.now() + ttlMs;
  }

  async createSession(s: NewSession): Promise<SessionRecord> {
    this.open();
    validateNewSession(s);
    if (this.liveSession(s.id)) throw new ConflictError(`session ${s.id} already exists`);
    const now = this.now();
    const rec = newSessionRecord(s, now);
    this.sessions.set(rec.id, rec);
    this.index(rec.nodeId).add(rec.id);
    this.wrote();
    return { ...rec };
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    this.open();
    validateId("session id", id);
    const s = this.liveSession(id);
    return s && { ...s };
  }

  async updateSession(id: string, expectedVersion: number, patch: SessionPatch): Promise<SessionRecord> {
    this.open();
    validatePatch(id, expectedVersion, patch);
    const cur = this.liveSession(id);
    if (!cur) throw new NotFoundError(`session ${id} does not exist (or expired)`);
    if (cur.version !== expectedVersion)
      throw new ConflictError(`session ${id} is at version ${cur.version}, not ${expectedVersion}`);
    const { ttlMs, ...fields } = patch;
    const rec: SessionRecord = { ...cur, version: cur.version + 1 };
    // A key present with value undefined means "unchanged", as in the other stores.
    for (const [k, v] of Object.entries(fields))
      if (v !== undefined) (rec as unknown as Record<string, unknown>)[k] = v;
    if (ttlMs !== undefined) rec.expiresAt = this.now() + ttlMs;
    if (rec.nodeId !== cur.nodeId) {
      this.byNode.get(cur.nodeId)?.delete(id);
      this.index(rec.nodeId).add(id);
    }
    this.sessions.set(id, rec);
    this.wrote();
    return { ...rec };
  }

  async deleteSession(id: string): Promise<boolean> {
    this.open();
    validateId("session id", id);
    const cur = this.liveSession(id);
    if (!cur) return false;
    this.dropSession(cur);
    return true;
  }

  async endSession(id: string, end: SessionEnd): Promise<SessionTombstone | undefined> {
    this.open();
    validateEnd(id, end);
    const existing = this.liveTombstone(id);
    const cur = this.liveSession(id);
    if (cur) this.dropSession(cur);
    if (existing) return { ...existing };
    if (!cur) return undefined;
    const t = newTombstone(cur, end, this.now());
    this.tombstones.set(id, t);
    this.wrote();
    return { ...t };
  }

  async getTombstone(id: string): Promise<SessionTombstone | undefined> {
    this.open();
    validateId("session id", id);
    const t = this.liveTombstone(id);
    return t && { ...t };
  }

  async listSessionsByNode(nodeId: string): Promise<SessionRecord[]> {
    this.open();
    validateId("nodeId", nodeId);
    const ids = this.byNode.get(nodeId);
    if (!ids) return [];
    const out: SessionRecord[] = [];
    for (const id of ids) {
      const s = this.liveSession(id);
      if (s) out.push({ ...s });
    }
    return out;
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    this.open();
    validateId("claim key", key);
    validateTtl("ttlMs", ttlMs);
    const now = this.now();
    const held = this.claims.get(key);
    if (held !== undefined && held > now) return false;
    this.claims.set(key, now + ttlMs);
    this.wrote();
    return true;
  }

  async releaseClaim(key: string): Promise<void> {
    this.open();
    validateId("claim key", key);
    this.claims.delete(key);
  }

  async ping(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** live-record counts (tests and metrics) */
  size(): { nodes: number; sessions: number } {
    this.sweep();
    return { nodes: this.nodes.size, sessions: this.sessions.size };
  }

  private open(): void {
    if (this.closed) throw new RegistryUnavailableError("memory", new Error("registry was closed"));
  }

  private liveNode(id: string): NodeRecord | undefined {
    const n = this.nodes.get(id);
    if (n && n.expiresAt <= this.now()) {
      this.nodes.delete(id);
      return undefined;
    }
    return n;
  }

  private liveSession(id: string): SessionRecord | undefined {
    const s = this.sessions.get(id);
    if (s && s.expiresAt <= this.now()) {
      this.dropSession(s);
      return undefined;
    }
    return s;
  }

  private liveTombstone(id: string): SessionTombstone | undefined {
    const t = this.tombstones.get(id);
    if (t && t.expiresAt <= this.now()) {
      this.tombstones.delete(id);
      return undefined;
    }
    return t;
  }

  private dropSession(s: SessionRecord): void {
    this.sessions.delete(s.id);
    const ids = this.byNode.get(s.nodeId);
    ids?.delete(s.id);
    if (ids?.size === 0) this.byNode.delete(s.nodeId);
  }

  private index(nodeId: string): Set<string> {
    let ids = this.byNode.get(nodeId);
    if (!ids) {
      ids = new Set();
      this.byNode.set(nodeId, ids);
    }
    return ids;
  }

  private wrote(): void {
    if (++this.writes % this.sweepEvery === 0) this.sweep();
  }

  private sweep(): void {
    const now = this.now();
    for (const n of this.nodes.values()) if (n.expiresAt <= now) this.nodes.delete(n.id);
    for (const s of this.sessions.values()) if (s.expiresAt <= now) this.dropSession(s);
    for (const [k, exp] of this.claims) if (exp <= now) this.claims.delete(k);
    for (const t of this.tombstones.values()) if (t.expiresAt <= now) this.tombstones.delete(t.id);
  }
}

export function createMemoryRegistry(opts?: MemoryRegistryOptions): MemoryRegistry {
  return new MemoryRegistry(opts);
}
