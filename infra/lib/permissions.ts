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

/** the stack's Secrets Manager secrets a function may be given (by ARN, read at its first invocation) */
export type FunctionSecret = "node" | "apiToken" | "tokenSecret" | "turn";

/** the setting that names each secret's ARN in a function's environment */
export const SECRET_ARN_SETTING: Record<FunctionSecret, string> = {
  node: "RTCGW_NODE_SECRET_ARN",
  apiToken: "RTCGW_API_TOKEN_ARN",
  tokenSecret: "RTCGW_TOKEN_SECRET_ARN",
  turn: "RTCGW_TURN_SECRET_ARN",
};

/**
 * Which secrets each function reads — its environment names only those ARNs, its role may read
 * only those. node: it signs control requests to the nodes; apiToken + tokenSecret: it creates
 * sessions (the API token or a client token; src/signaling/client-token-policy.ts); turn: it
 * answers 201/200 with an SDP answer and so hands out a TURN credential (create, resume, WHEP).
 */
export const FUNCTION_SECRETS: Record<HandlerName, readonly FunctionSecret[]> = {
  whip: ["node", "apiToken", "tokenSecret", "turn"],
  sessions: ["node", "apiToken", "tokenSecret", "turn"],
  // a listener is authorised by the source session's token, never by the API token
  whep: ["node", "turn"],
  // the handler framework resolves the configuration (node secret included) before any route;
  // health reads but never uses it
  health: ["node"],
  options: [],
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
