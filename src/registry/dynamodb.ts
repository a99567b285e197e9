// DynamoDB store over plain HTTP (dynamodb-http.ts: the JSON protocol, SigV4 via aws4, node:http; no
// AWS SDK, whose import dominated a function's cold start), single table (see dynamodb-table.ts
// for the key schema). Uniqueness and optimistic concurrency are conditional writes
// (attribute_not_exists / version = :v); expiry is checked on every read and in every condition,
// because DynamoDB's TTL deletion is late and dynalite has none. No transactions are used
// (dynalite has none).
//
// Availability: each attempt is bounded by `timeoutMs` (connect and response), at most
// `maxAttempts` attempts, and an overall deadline; all failures to reach the service become
// RegistryUnavailableError.
import { type CredentialSource, defaultCredentialSource } from "./dynamodb-credentials.js";
import { DynamoHttp, DynamoServiceError } from "./dynamodb-http.js";
import { registryTableDefinition, REGISTRY_TABLE_SCHEMA as T } from "./dynamodb-table.js";
import { ConflictError, NotFoundError, RegistryError, RegistryUnavailableError } from "./errors.js";
import { pickLeastLoaded } from "./pick.js";
import { newNodeRecord, newSessionRecord, newTombstone } from "./records.js";
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

export { REGISTRY_TABLE_SCHEMA, registryTableDefinition } from "./dynamodb-table.js";

export interface DynamoRegistryOptions {
  table: string;
  /** e.g. http://127.0.0.1:4567 for dynalite; unset = the AWS endpoint of the region */
  endpoint?: string;
  region?: string;
  /** per-attempt bound (connect, and waiting for the response) in ms (default 1000) */
  timeoutMs?: number;
  /** attempts per request, the first included (default 2) */
  maxAttempts?: number;
  /** clock in epoch ms (injectable for tests) */
  now?: () => number;
  /** where signing credentials come from (default: env, dummy for http:// endpoints, EC2 IMDS) */
  credentials?: CredentialSource;
}

/** DynamoDB's JSON attribute value, for the types this store writes (exactly one field set). */
export interface AttributeValue {
  S?: string;
  N?: string;
  BOOL?: boolean;
  L?: AttributeValue[];
}
type Item = Record<string, AttributeValue>;

type QueryInput = Record<string, unknown>;

const S = (v: string): AttributeValue => ({ S: v });
const N = (v: number): AttributeValue => ({ N: String(v) });

export class DynamoRegistry implements Registry {
  readonly kind = "dynamodb";
  /** the transport; tests read raw items through it */
  readonly http: DynamoHttp;
  readonly table: string;
  private readonly now: () => number;
  private readonly deadlineMs: number;
  private readonly where: string;
  private closed = false;

  constructor(opts: DynamoRegistryOptions) {
    this.table = opts.table;
    this.now = opts.now ?? Date.now;
    const timeoutMs = opts.timeoutMs ?? 1000;
    const maxAttempts = opts.maxAttempts ?? 2;
    this.deadlineMs = timeoutMs * maxAttempts + 200;
    this.where = `${opts.table}${opts.endpoint ? ` at ${opts.endpoint}` : process.env.AWS_ENDPOINT_URL_DYNAMODB ? ` at ${process.env.AWS_ENDPOINT_URL_DYNAMODB}` : ""}`;
    const endpoint = opts.endpoint ? new URL(opts.endpoint) : undefined;
    const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!endpoint && !region)
      throw new RegistryError(
        `dynamodb registry (${opts.table}): no region — set AWS_REGION (or AWS_DEFAULT_REGION), or give an endpoint (dynamodb:TABLE@http://host:port)`,
      );
    // AWS_ENDPOINT_URL_DYNAMODB (as the SDKs read it) points a deployed node elsewhere — the deploy
    // rehearsal's dynalite — without waiving the region nor the credential chain it needs on EC2
    const override = process.env.AWS_ENDPOINT_URL_DYNAMODB?.trim() || undefined;
    this.http = new DynamoHttp({
      endpoint: opts.endpoint ?? override ?? `https://dynamodb.${region}.amazonaws.com`,
      // a local endpoint (dynalite) checks no signature, but SigV4 still needs a region to sign for
      region: region ?? "us-east-1",
      credentials: opts.credentials ?? defaultCredentialSource(endpoint),
      timeoutMs,
      maxAttempts,
      deadlineMs: this.deadlineMs,
    });
  }

  // ---- nodes ----

  async registerNode(node: Omit<NodeRecord, "expiresAt">, ttlMs: number): Promise<NodeRecord> {
    validateNewNode(node, ttlMs);
    const rec = newNodeRecord(node, ttlMs, this.now());
    const item: Item = {
      ...nodeKey(rec.id),
      id: S(rec.id),
      controlUrl: S(rec.controlUrl),
      capacity: N(rec.capacity),
      load: N(rec.load),
      ...expiry(rec.expiresAt),
    };
    if (rec.draining) item.draining = { BOOL: true };
    if (rec.staleMarginMs !== undefined) item.staleMarginMs = N(rec.staleMarginMs);
    // a list (L), not a string set (SS): the node's order (UDP first) is the order handed out
    if (rec.turnUrls) item.turnUrls = { L: rec.turnUrls.map(S) };
    if (rec.recordUnavailable !== undefined) item.recordUnavailable = S(rec.recordUnavailable);
    await this.send("PutItem", { TableName: this.table, Item: item });
    return rec;
  }

  async heartbeatNode(id: string, hb: NodeHeartbeat): Promise<NodeRecord> {
    validateHeartbeat(id, hb);
    const now = this.now();
    const exp = now + hb.ttlMs;
    const set = ["#load = :load", "#exp = :exp", "#expMs = :expMs"];
    const remove: string[] = [];
    const names: Record<string, string> = { "#pk": T.partitionKey, "#load": "load", ...EXP_NAMES };
    const values: Item = {
      ":load": N(hb.load),
      ":exp": N(ttlSeconds(exp)),
      ":expMs": N(exp),
      ":now": N(now),
    };
    if (hb.draining !== undefined) {
      names["#dr"] = "draining";
      if (hb.draining) {
        set.push("#dr = :dr");
        values[":dr"] = { BOOL: true };
      } else remove.push("#dr");
    }
    if (hb.recordUnavailable !== undefined) {
      names["#nr"] = "recordUnavailable";
      if (hb.recordUnavailable !== null) {
        set.push("#nr = :nr");
        values[":nr"] = S(hb.recordUnavailable);
      } else remove.push("#nr");
    }
    const update = `SET ${set.join(", ")}${remove.length ? ` REMOVE ${remove.join(", ")}` : ""}`;
    try {
      const r = await this.send("UpdateItem", {
        TableName: this.table,
        Key: nodeKey(id),
        UpdateExpression: update,
        ConditionExpression: "attribute_exists(#pk) AND #expMs > :now",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      });
      return toNode(r.Attributes!);
    } catch (e) {
      if (isConditionFailed(e))
        throw new NotFoundError(`node ${id} is not registered (or its registration expired)`);
      throw e;
    }
  }

  async getNode(id: string): Promise<NodeRecord | undefined> {
    validateId("node id", id);
    const r = await this.send("GetItem", { TableName: this.table, Key: nodeKey(id), ConsistentRead: true });
    return r.Item && live(r.Item, this.now()) ? toNode(r.Item) : undefined;
  }

  async listNodes(): Promise<NodeRecord[]> {
    const now = this.now();
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": T.partitionKey },
      ExpressionAttributeValues: { ":pk": S(T.nodesPartition) },
      ConsistentRead: true,
    });
    return items.filter((i) => live(i, now)).map(toNode);
  }

  async pickNode(needs: PickNeeds = {}): Promise<NodeRecord | undefined> {
    return pickLeastLoaded(await this.listNodes(), this.now(), Math.random, needs);
  }

  async removeNode(id: string): Promise<void> {
    validateId("node id", id);
    await this.send("DeleteItem", { TableName: this.table, Key: nodeKey(id) });
  }

  async markNodeSuspect(id: string, ttlMs: number): Promise<void> {
    validateSuspect(id, ttlMs);
    const now = this.now();
    try {
      await this.send("UpdateItem", {
        TableName: this.table,
        Key: nodeKey(id),
        UpdateExpression: "SET #su = :su",
        ConditionExpression: "attribute_exists(#pk) AND #expMs > :now",
        ExpressionAttributeNames: {
          "#pk": T.partitionKey,
          "#su": "suspectUntil",
          "#expMs": T.expiresAtMsAttribute,
        },
        ExpressionAttributeValues: { ":su": N(now + ttlMs), ":now": N(now) },
      });
    } catch (e) {
      if (!isConditionFailed(e)) throw e; // an unknown or expired node: nothing to mark
    }
  }

  // ---- sessions ----

  async createSession(s: NewSession): Promise<SessionRecord> {
    validateNewSession(s);
    const now = this.now();
    const rec = newSessionRecord(s, now);
    try {
      await this.send("PutItem", {
        TableName: this.table,
        Item: sessionItem(rec),
        // An expired item that DynamoDB has not deleted yet does not hold the id.
        ConditionExpression: "attribute_not_exists(#pk) OR #expMs <= :now",
        ExpressionAttributeNames: { "#pk": T.partitionKey, "#expMs": T.expiresAtMsAttribute },
        ExpressionAttributeValues: { ":now": N(now) },
      });
    } catch (e) {
      if (isConditionFailed(e)) throw new ConflictError(`session ${s.id} already exists`);
      throw e;
    }
    return rec;
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    validateId("session id", id);
    const r = await this.send("GetItem", {
      TableName: this.table,
      Key: sessionKey(id),
      ConsistentRead: true,
    });
    return r.Item && live(r.Item, this.now()) ? toSession(r.Item) : undefined;
  }

  async updateSession(id: string, expectedVersion: number, patch: SessionPatch): Promise<SessionRecord> {
    validatePatch(id, expectedVersion, patch);
    const now = this.now();
    const sets = ["#ver = :next"];
    const names: Record<string, string> = {
      "#pk": T.partitionKey,
      "#ver": "version",
      "#expMs": T.expiresAtMsAttribute,
    };
    const values: Item = { ":v": N(expectedVersion), ":next": N(expectedVersion + 1), ":now": N(now) };
    const { ttlMs, ...changes } = patch;
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) continue;
      names[`#${k}`] = k;
      values[`:${k}`] = S(String(v));
      sets.push(`#${k} = :${k}`);
    }
    if (changes.nodeId !== undefined) {
      names["#g"] = T.byNodeIndex.partitionKey;
      values[":g"] = S(`NODE#${changes.nodeId}`);
      sets.push("#g = :g");
    }
    if (ttlMs !== undefined) {
      const exp = now + ttlMs;
      names["#exp"] = T.ttlAttribute;
      values[":exp"] = N(ttlSeconds(exp));
      values[":expMs"] = N(exp);
      sets.push("#exp = :exp", "#expMs = :expMs");
    }
    try {
      const r = await this.send("UpdateItem", {
        TableName: this.table,
        Key: sessionKey(id),
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: "attribute_exists(#pk) AND #expMs > :now AND #ver = :v",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      });
      return toSession(r.Attributes!);
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      // Which condition failed? One read tells missing/expired from a stale version.
      const cur = await this.getSession(id);
      if (!cur) throw new NotFoundError(`session ${id} does not exist (or expired)`);
      throw new ConflictError(`session ${id} is at version ${cur.version}, not ${expectedVersion}`);
    }
  }

  async deleteSession(id: string): Promise<boolean> {
    validateId("session id", id);
    const r = await this.send("DeleteItem", {
      TableName: this.table,
      Key: sessionKey(id),
      ReturnValues: "ALL_OLD",
    });
    return r.Attributes !== undefined && live(r.Attributes, this.now());
  }

  /**
   * The tombstone is its own item beside the session's (same partition, sort key ENDED), written
   * before the session item is deleted: no transactions (dynalite has none), and at every moment
   * either the session or its tombstone exists. A conditional put makes the first end win.
   */
  async endSession(id: string, end: SessionEnd): Promise<SessionTombstone | undefined> {
    validateEnd(id, end);
    const now = this.now();
    const cur = await this.getSession(id);
    if (!cur) return this.getTombstone(id);
    const t = newTombstone(cur, end, now);
    try {
      await this.send("PutItem", {
        TableName: this.table,
        Item: tombstoneItem(t),
        ConditionExpression: "attribute_not_exists(#pk) OR #expMs <= :now",
        ExpressionAttributeNames: { "#pk": T.partitionKey, "#expMs": T.expiresAtMsAttribute },
        ExpressionAttributeValues: { ":now": N(now) },
      });
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      await this.deleteSession(id);
      return this.getTombstone(id);
    }
    await this.deleteSession(id);
    return t;
  }

  async getTombstone(id: string): Promise<SessionTombstone | undefined> {
    validateId("session id", id);
    const r = await this.send("GetItem", {
      TableName: this.table,
      Key: tombstoneKey(id),
      ConsistentRead: true,
    });
    return r.Item && live(r.Item, this.now()) ? toTombstone(r.Item) : undefined;
  }

  async listSessionsByNode(nodeId: string): Promise<SessionRecord[]> {
    validateId("nodeId", nodeId);
    const now = this.now();
    // GSI reads are eventually consistent on DynamoDB (a just-created session may show up a
    // moment later); callers use this for sweeps, where that is fine.
    const items = await this.queryAll({
      TableName: this.table,
      IndexName: T.byNodeIndex.name,
      KeyConditionExpression: "#g = :g",
      FilterExpression: "#expMs > :now",
      ExpressionAttributeNames: { "#g": T.byNodeIndex.partitionKey, "#expMs": T.expiresAtMsAttribute },
      ExpressionAttributeValues: { ":g": S(`NODE#${nodeId}`), ":now": N(now) },
    });
    return items.map(toSession);
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    validateId("claim key", key);
    validateTtl("ttlMs", ttlMs);
    const now = this.now();
    try {
      await this.send("PutItem", {
        TableName: this.table,
        Item: { ...claimKey(key), ...expiry(now + ttlMs) },
        // an expired claim DynamoDB has not deleted yet does not hold the key
        ConditionExpression: "attribute_not_exists(#pk) OR #expMs <= :now",
        ExpressionAttributeNames: { "#pk": T.partitionKey, "#expMs": T.expiresAtMsAttribute },
        ExpressionAttributeValues: { ":now": N(now) },
      });
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async releaseClaim(key: string): Promise<void> {
    validateId("claim key", key);
    await this.send("DeleteItem", { TableName: this.table, Key: claimKey(key) });
  }

  async ping(): Promise<void> {
    await this.send("GetItem", {
      TableName: this.table,
      Key: { [T.partitionKey]: S("PING"), [T.sortKey]: S("PING") },
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.http.close();
  }

  /**
   * Create the table if it does not exist and wait until it is ACTIVE (dev and tests; production
   * tables come from infra/). Turns on TTL where the endpoint supports it (dynalite does not).
   */
  async ensureTable(waitMs = 30_000): Promise<void> {
    try {
      await this.send("DescribeTable", { TableName: this.table }, false);
    } catch (e) {
      if (!(e instanceof DynamoServiceError && e.type === "ResourceNotFoundException"))
        throw this.translate(e);
      try {
        await this.send("CreateTable", registryTableDefinition(this.table), false);
      } catch (e2) {
        // created meanwhile
        if (!(e2 instanceof DynamoServiceError && e2.type === "ResourceInUseException"))
          throw this.translate(e2);
      }
    }
    const until = Date.now() + waitMs;
    for (;;) {
      const d = await this.send("DescribeTable", { TableName: this.table });
      if (d.Table?.TableStatus === "ACTIVE") break;
      if (Date.now() > until) throw new RegistryError(`table ${this.table} not ACTIVE after ${waitMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      await this.send(
        "UpdateTimeToLive",
        {
          TableName: this.table,
          TimeToLiveSpecification: { AttributeName: T.ttlAttribute, Enabled: true },
        },
        false,
      );
    } catch {
      // already enabled, or not supported by the endpoint (dynalite): reads filter expiry anyway
    }
  }

  // ---- plumbing ----

  private async queryAll(input: QueryInput): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const r = await this.send("Query", { ...input, ...(start ? { ExclusiveStartKey: start } : {}) });
      out.push(...(r.Items ?? []));
      start = r.LastEvaluatedKey;
    } while (start);
    return out;
  }

  // biome-ignore lint/suspicious/noExplicitAny: DynamoDB's JSON answers are read field by field
  private async send(op: string, input: unknown, translate = true): Promise<any> {
    if (this.closed)
      throw new RegistryUnavailableError(`dynamodb (${this.where})`, new Error("registry was closed"));
    try {
      return await this.http.call(op, input);
    } catch (e) {
      if (!translate || isConditionFailed(e)) throw e;
      throw this.translate(e);
    }
  }

  private translate(e: unknown): Error {
    if (e instanceof RegistryError) return e;
    if (e instanceof DynamoServiceError && e.type === "ResourceNotFoundException")
      return new RegistryUnavailableError(
        `dynamodb (${this.where})`,
        new Error(
          `table ${this.table} does not exist (create it with infra/ or ensureTable()): ${e.message}`,
        ),
      );
    // A request the service refuses for what it is (validation, access denied): retrying won't help.
    if (e instanceof DynamoServiceError && !e.transient)
      return new RegistryError(`dynamodb registry (${this.where}) refused a request: ${e.message}`, {
        cause: e,
      });
    return new RegistryUnavailableError(`dynamodb (${this.where})`, e);
  }
}

const isConditionFailed = (e: unknown) =>
  e instanceof DynamoServiceError && e.type === "ConditionalCheckFailedException";

export function createDynamoRegistry(opts: DynamoRegistryOptions): DynamoRegistry {
  return new DynamoRegistry(opts);
}

const EXP_NAMES = { "#exp": T.ttlAttribute, "#expMs": T.expiresAtMsAttribute };

const nodeKey = (id: string): Item => ({
  [T.partitionKey]: S(T.nodesPartition),
  [T.sortKey]: S(`${T.nodeSortPrefix}${id}`),
});
const tombstoneKey = (id: string): Item => ({
  [T.partitionKey]: S(`${T.sessionPartitionPrefix}${id}`),
  [T.sortKey]: S(T.tombstoneSortKey),
});

function tombstoneItem(t: SessionTombstone): Item {
  return {
    ...tombstoneKey(t.id),
    id: S(t.id),
    nodeId: S(t.nodeId),
    kind: S(t.kind),
    tokenHash: S(t.tokenHash),
    reason: S(t.reason),
    endedAt: N(t.endedAt),
    ...expiry(t.expiresAt),
  };
}

function toTombstone(i: Item): SessionTombstone {
  return {
    id: i.id!.S!,
    nodeId: i.nodeId!.S!,
    kind: i.kind!.S! as SessionKind,
    tokenHash: i.tokenHash!.S!,
    reason: i.reason!.S!,
    endedAt: Number(i.endedAt!.N),
    expiresAt: Number(i[T.expiresAtMsAttribute]!.N),
  };
}

const sessionKey = (id: string): Item => ({
  [T.partitionKey]: S(`${T.sessionPartitionPrefix}${id}`),
  [T.sortKey]: S(T.sessionSortKey),
});

const claimKey = (key: string): Item => ({
  [T.partitionKey]: S(`${T.claimPartitionPrefix}${key}`),
  [T.sortKey]: S(T.claimSortKey),
});

/** DynamoDB TTL wants epoch seconds; round up so the item is never deleted before it expires. */
const ttlSeconds = (ms: number) => Math.ceil(ms / 1000);
const expiry = (ms: number): Item => ({
  [T.ttlAttribute]: N(ttlSeconds(ms)),
  [T.expiresAtMsAttribute]: N(ms),
});
const live = (i: Item, now: number) => Number(i[T.expiresAtMsAttribute]?.N ?? 0) > now;

function sessionItem(r: SessionRecord): Item {
  const item: Item = {
    ...sessionKey(r.id),
    [T.byNodeIndex.partitionKey]: S(`NODE#${r.nodeId}`),
    [T.byNodeIndex.sortKey]: S(`SESSION#${r.id}`),
    id: S(r.id),
    nodeId: S(r.nodeId),
    kind: S(r.kind),
    profile: S(r.profile),
    tokenHash: S(r.tokenHash),
    state: S(r.state),
    etag: S(r.etag),
    createdAt: N(r.createdAt),
    version: N(r.version),
    ...expiry(r.expiresAt),
  };
  if (r.sourceSessionId !== undefined) item.sourceSessionId = S(r.sourceSessionId);
  return item;
}

function toNode(i: Item): NodeRecord {
  const n: NodeRecord = {
    id: i.id!.S!,
    controlUrl: i.controlUrl!.S!,
    capacity: Number(i.capacity!.N),
    load: Number(i.load!.N),
    expiresAt: Number(i[T.expiresAtMsAttribute]!.N),
  };
  if (i.draining?.BOOL) n.draining = true;
  if (i.staleMarginMs?.N !== undefined) n.staleMarginMs = Number(i.staleMarginMs.N);
  if (i.suspectUntil?.N !== undefined) n.suspectUntil = Number(i.suspectUntil.N);
  if (i.turnUrls?.L) n.turnUrls = i.turnUrls.L.map((u) => u.S!);
  if (i.recordUnavailable?.S !== undefined) n.recordUnavailable = i.recordUnavailable.S;
  return n;
}

function toSession(i: Item): SessionRecord {
  const s: SessionRecord = {
    id: i.id!.S!,
    nodeId: i.nodeId!.S!,
    kind: i.kind!.S! as SessionKind,
    profile: i.profile!.S!,
    tokenHash: i.tokenHash!.S!,
    state: i.state!.S! as SessionState,
    etag: i.etag!.S!,
    createdAt: Number(i.createdAt!.N),
    version: Number(i.version!.N),
    expiresAt: Number(i[T.expiresAtMsAttribute]!.N),
  };
  if (i.sourceSessionId?.S !== undefined) s.sourceSessionId = i.sourceSessionId.S;
  return s;
}
