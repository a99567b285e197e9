// Minting client tokens (client-token.ts has the format and the verifier): what an application's
// backend runs, through `rtcgw token` or mintClientToken from "rtcgw/token". Kept apart from the
// verifier so the signaling functions' bundles carry no signing code.
import { randomBytes } from "node:crypto";
import { bridgeUrlProblem } from "../config/bridge-url.js";
import { BRIDGE_PARAM_MAX_VALUE, BRIDGE_PARAM_NAME_RE, BRIDGE_PARAMS_MAX } from "../control/contract.js";
import {
  CLIENT_TOKEN_AUDIENCE,
  type ClientTokenClaims,
  DEFAULT_CLIENT_TOKEN_TTL_S,
  MAX_CLIENT_TOKEN_TTL_S,
  MIN_CLIENT_TOKEN_SECRET_LENGTH,
  type MintProfile,
  RECORD_RATES,
  type RecordRate,
  secretKey,
  type TokenProfile,
} from "./client-token.js";

const MINT_PROFILES: readonly MintProfile[] = ["echo", "record", "bridge"];

export interface MintOptions {
  /** RTCGW_TOKEN_SECRET, at least 32 characters */
  secret: string;
  /** seconds until it expires (default 300, at most 900) */
  ttlSeconds?: number;
  /** profiles the call may use (default ["echo"]); "record" is the same as `record: true` */
  profiles?: readonly MintProfile[];
  /** the call may record (the record profile) */
  record?: boolean;
  /** the recording's WAV rate, pinned: a request with another ?rate= is refused, one without gets
   *  this (needs record) */
  recordRate?: number;
  /** the application the bridge profile dials: its URL and query parameters, fixed in the token
   *  ("bridge" is added to the profiles) */
  bridge?: {
    url: string;
    params?: Readonly<Record<string, string>>;
    /** the bridge_param_<name> parameters the agent gets in its start message (Twilio's
     *  customParameters): pinned — a request with others is refused; leave them out to use these */
    startParams?: Readonly<Record<string, string>>;
    /** the protocol the agent speaks (rtcgw or twilio): pinned when given */
    protocol?: "rtcgw" | "twilio";
  };
  /** epoch ms; tests only */
  now?: number;
}

export interface MintedClientToken {
  token: string;
  /** epoch seconds */
  expiresAt: number;
  claims: ClientTokenClaims;
}

/** A mint request that cannot make a usable token. */
export class ClientTokenOptionsError extends Error {
  override name = "ClientTokenOptionsError";
}

/** The bridge URL a token carries: ws:// or wss://, no credentials, `params` merged into its query. */
export function bridgeUrlOf(bridge: { url: string; params?: Readonly<Record<string, string>> }): string {
  // the signaling's own rules for ?bridge= (a #fragment, a comma, …): a token minted with a URL it
  // refuses could never be used
  const problem = bridgeUrlProblem(bridge.url);
  if (problem) throw new ClientTokenOptionsError(problem);
  let u: URL;
  try {
    u = new URL(bridge.url);
  } catch {
    throw new ClientTokenOptionsError(`bridge URL "${bridge.url}" is not a URL (expected ws://… or wss://…)`);
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:")
    throw new ClientTokenOptionsError(`bridge URL must be ws:// or wss:// (got ${u.protocol}//)`);
  if (u.username || u.password) throw new ClientTokenOptionsError("bridge URL must not carry credentials");
  for (const [k, v] of Object.entries(bridge.params ?? {})) u.searchParams.set(k, v);
  return u.href;
}

/** the start parameters as the signaling would accept them from ?bridge_param_<name>= */
function checkStartParams(p: Readonly<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(p);
  if (entries.length > BRIDGE_PARAMS_MAX)
    throw new ClientTokenOptionsError(`at most ${BRIDGE_PARAMS_MAX} bridge parameters`);
  for (const [k, v] of entries) {
    if (!BRIDGE_PARAM_NAME_RE.test(k))
      throw new ClientTokenOptionsError(
        `bridge parameter names are 1–64 letters, digits, _ or - (got "${k}")`,
      );
    if (typeof v !== "string" || v.length > BRIDGE_PARAM_MAX_VALUE)
      throw new ClientTokenOptionsError(
        `bridge parameter "${k}" must be a string of at most ${BRIDGE_PARAM_MAX_VALUE} characters`,
      );
  }
  return Object.fromEntries(entries);
}

export async function mintClientToken(o: MintOptions): Promise<MintedClientToken> {
  if (typeof o.secret !== "string" || o.secret.length < MIN_CLIENT_TOKEN_SECRET_LENGTH)
    throw new ClientTokenOptionsError(
      `the signing secret (RTCGW_TOKEN_SECRET) must be at least ${MIN_CLIENT_TOKEN_SECRET_LENGTH} characters`,
    );
  const ttl = o.ttlSeconds ?? DEFAULT_CLIENT_TOKEN_TTL_S;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_CLIENT_TOKEN_TTL_S)
    throw new ClientTokenOptionsError(
      `the token's lifetime must be a whole number of seconds, 1-${MAX_CLIENT_TOKEN_TTL_S} (got ${ttl})`,
    );
  const asked = o.profiles ?? (o.record || o.bridge ? [] : ["echo"]);
  for (const p of asked)
    if (!MINT_PROFILES.includes(p))
      throw new ClientTokenOptionsError(`profile must be one of ${MINT_PROFILES.join(", ")} (got ${p})`);
  const record = o.record === true || asked.includes("record");
  const profiles = new Set<TokenProfile>(asked.filter((p): p is TokenProfile => p !== "record"));
  const bridge = o.bridge ? bridgeUrlOf(o.bridge) : undefined;
  const startParams = o.bridge?.startParams ? checkStartParams(o.bridge.startParams) : undefined;
  const protocol = o.bridge?.protocol;
  if (protocol !== undefined && protocol !== "rtcgw" && protocol !== "twilio")
    throw new ClientTokenOptionsError(`bridge protocol must be rtcgw or twilio (got ${String(protocol)})`);
  if (bridge) profiles.add("bridge");
  if (profiles.has("bridge") && !bridge)
    throw new ClientTokenOptionsError(
      "a token for the bridge profile must name the application's URL: the client must not choose where the node dials",
    );
  if (profiles.size === 0 && !record) throw new ClientTokenOptionsError("the token allows no profile");
  const recordRate = o.recordRate;
  if (recordRate !== undefined && !(RECORD_RATES as readonly number[]).includes(recordRate))
    throw new ClientTokenOptionsError(
      `the record rate must be one of ${RECORD_RATES.join(", ")} (got ${recordRate})`,
    );
  if (recordRate !== undefined && !record)
    throw new ClientTokenOptionsError("a record rate needs a token that may record (record: true)");

  const iat = Math.floor((o.now ?? Date.now()) / 1000);
  const claims: ClientTokenClaims = {
    jti: randomBytes(16).toString("base64url"),
    iat,
    exp: iat + ttl,
    profiles: [...profiles].sort(),
    record,
    ...(recordRate !== undefined ? { recordRate: recordRate as RecordRate } : {}),
    ...(bridge ? { bridge } : {}),
    ...(startParams ? { bridgeParams: startParams } : {}),
    ...(protocol ? { bridgeProtocol: protocol } : {}),
  };
  const { SignJWT } = await import("jose/jwt/sign");
  const { jti, iat: _iat, exp, ...custom } = claims;
  const token = await new SignJWT(custom)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setAudience(CLIENT_TOKEN_AUDIENCE)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(secretKey(o.secret));
  return { token, expiresAt: exp, claims };
}
