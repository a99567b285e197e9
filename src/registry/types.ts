// The session registry contract: small, protocol-free, implemented by every store
// (memory, redis, dynamodb). One contract test suite runs against all of them.

/** A media node as the registry knows it. Times are epoch milliseconds. */
export interface NodeRecord {
  id: string;
  /** base URL of the node's control API, e.g. http://127.0.0.1:9090 */
  controlUrl: string;
  /** maximum concurrent sessions */
  capacity: number;
  /** current sessions (reported with each heartbeat) */
  load: number;
  /** when the record stops counting as live unless heartbeated again */
  expiresAt: number;
  /** set when the node drains (SIGTERM): still live, but takes no new session */
  draining?: boolean;
  /**
   * The last part of the record's life, in ms, during which the node is live but not picked: a
   * node whose record has no more than this left missed a heartbeat. Its record (and so its
   * sessions) lives on until it expires — a slow registry write is not taken for a dead node —
   * but no new session is sent to it. The node sets it (TTL − 1.5 × its heartbeat interval);
   * unset: picked until it expires.
   */
  staleMarginMs?: number;
  /** until then (epoch ms) the node is not picked: the signaling could not reach it (markNodeSuspect) */
  suspectUntil?: number;
  /**
   * The node's own TURN server (coturn beside it, at its public address): turn:/turns: URLs without
   * credentials. The signaling hands them out, with a minted credential, to the client of each
   * session this node takes. Unset or empty: the node announces no TURN server.
   */
  turnUrls?: string[];
  /**
   * Set while the node cannot record (its recordings directory refuses a write: "disk-full" for
   * ENOSPC, EFBIG, EDQUOT; "unwritable" for anything else): it is still picked for sessions that
   * write no file (echo, bridge without record=1), never for those that do. Unset: it can record
   * (also what a node older than the field reports).
   */
  recordUnavailable?: string;
}

/** What a new session needs of its node beyond a free slot. */
export interface PickNeeds {
  /** the session writes a recording (record profile, bridge with record=1) */
  record?: boolean;
}

export type SessionState = "new" | "connecting" | "connected" | "disconnected" | "closed";
export type SessionKind = "whip" | "session" | "whep";

export interface SessionRecord {
  id: string;
  nodeId: string;
  kind: SessionKind;
  profile: string;
  /** SHA-256 (hex) of the per-session bearer secret; the secret itself is never stored */
  tokenHash: string;
  state: SessionState;
  /** opaque entity tag of the current ICE/SDP state (WHIP ETag) */
  etag: string;
  /** for WHEP listeners: the session they listen to */
  sourceSessionId?: string;
  createdAt: number;
  /** bumped by every successful update; the optimistic-concurrency token */
  version: number;
  expiresAt: number;
}

/** How a session ended; kept a short while after the session record is gone (tombstone). */
export interface SessionTombstone {
  id: string;
  nodeId: string;
  kind: SessionKind;
  /** the session's token hash: whoever could control the session can still ask about (and DELETE) it */
  tokenHash: string;
  /** why it ended: "deleted" (by its client), "peer-closed", "node-lost", "shutdown", … */
  reason: string;
  endedAt: number;
  expiresAt: number;
}

export interface SessionEnd {
  reason: string;
  /** how long the tombstone lives */
  ttlMs: number;
}

export interface NewSession extends Omit<SessionRecord, "version" | "createdAt" | "expiresAt"> {
  ttlMs: number;
}

export type SessionPatch = Partial<Pick<SessionRecord, "state" | "etag" | "nodeId" | "profile">> & {
  /** extend the record's life from now */
  ttlMs?: number;
};

export interface NodeHeartbeat {
  load: number;
  ttlMs: number;
  draining?: boolean;
  /** the node cannot record, and why (a reason as NodeRecord.recordUnavailable); null: it can
   *  again; left out: unchanged (what a node older than the field sends) */
  recordUnavailable?: string | null;
}

export interface Registry {
  /** store name, for logs and metrics: "memory" | "redis" | "dynamodb" */
  readonly kind: string;

  // nodes
  registerNode(node: Omit<NodeRecord, "expiresAt">, ttlMs: number): Promise<NodeRecord>;
  /** extends the TTL and records the load; NotFoundError if the node expired or was removed */
  heartbeatNode(id: string, hb: NodeHeartbeat): Promise<NodeRecord>;
  getNode(id: string): Promise<NodeRecord | undefined>;
  /** live (unexpired) nodes only */
  listNodes(): Promise<NodeRecord[]>;
  /** the least-loaded live, non-draining, non-stale, non-suspect node with load < capacity (and,
   *  for a session that records, one that can record), or undefined */
  pickNode(needs?: PickNeeds): Promise<NodeRecord | undefined>;
  removeNode(id: string): Promise<void>;
  /**
   * The node did not answer (refused, reset, timed out): it is not picked for ttlMs (its record
   * and sessions stay). No-op for an unknown or expired node. Registering again clears it.
   */
  markNodeSuspect(id: string, ttlMs: number): Promise<void>;

  // sessions
  /** ConflictError if a live session with that id exists (concurrent creates: exactly one wins) */
  createSession(s: NewSession): Promise<SessionRecord>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** applies the patch iff the stored version equals expectedVersion; else ConflictError (or NotFoundError) */
  updateSession(id: string, expectedVersion: number, patch: SessionPatch): Promise<SessionRecord>;
  /** idempotent: true if something was deleted */
  deleteSession(id: string): Promise<boolean>;
  /**
   * Ends a session: its live record is replaced by a tombstone (id, node, kind, token hash,
   * reason, time) that lives end.ttlMs. Idempotent: the first end wins, later calls return the
   * existing tombstone. No live record and no tombstone → undefined (nothing is written).
   */
  endSession(id: string, end: SessionEnd): Promise<SessionTombstone | undefined>;
  /** the tombstone of an ended session, while it lives */
  getTombstone(id: string): Promise<SessionTombstone | undefined>;
  /** live sessions owned by a node (also works after the node itself expired: orphans) */
  listSessionsByNode(nodeId: string): Promise<SessionRecord[]>;

  // single-use keys (the ids of short-lived client tokens: one session creation per token)
  /** true, and `key` is claimed for ttlMs, unless a live claim already holds it (false). Atomic:
   *  of concurrent claims of one key, exactly one gets true. */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** gives a claim back (a creation that failed before any session existed); idempotent */
  releaseClaim(key: string): Promise<void>;

  /** a cheap round trip to the store (health checks); throws RegistryUnavailableError */
  ping(): Promise<void>;
  close(): Promise<void>;
}
