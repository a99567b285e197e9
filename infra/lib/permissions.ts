// What each principal may do, action by action: the functions only the table actions their routes
// use (read from src/signaling: which registry calls each handler makes, and which DynamoDB
// operations each registry call is — src/registry/dynamodb.ts), the media node what the node and
// its agent call. The deploy rehearsal (test/infra/rehearsal.test.ts) records every call each
// principal actually makes against the stand-ins and fails if the template does not grant it.
import type { HandlerName } from "../../src/signaling/routes.js";

/** createSession/getSession/updateSession/deleteSession (GetItem, PutItem, UpdateItem, DeleteItem),
 *  getNode (GetItem), listNodes/pickNode (Query on the node partition) */
const SESSION_ROUTES = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
] as const;

export const FUNCTION_TABLE_ACTIONS: Record<HandlerName, readonly string[]> = {
  whip: SESSION_ROUTES,
  sessions: SESSION_ROUTES,
  whep: SESSION_ROUTES,
  // GET /v1/health: listNodes only — it cannot write
  health: ["dynamodb:Query"],
  // CORS preflight: no registry at all
  options: [],
};

/** handlers that sign control requests to the nodes (and so read the node secret) */
export const FUNCTION_READS_NODE_SECRET: Record<HandlerName, boolean> = {
  whip: true,
  sessions: true,
  whep: true,
  // the handler framework resolves the whole configuration (secret included) before any route;
  // health reads but never uses it
  health: true,
  options: false,
};

/** the node: register/heartbeat/remove itself (PutItem, UpdateItem, GetItem, DeleteItem), its
 *  sessions' records, listSessionsByNode (Query on the by-node index); the agent: listNodes (Query) */
export const NODE_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
] as const;

/** recordings: lib-storage's Upload (PutObject, or Create/UploadPart/Complete/AbortMultipartUpload) */
export const NODE_BUCKET_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload"] as const;
