// Short-lived client tokens — their format and their verifier (minting: client-token-mint.ts).
// What a browser holds instead of the API token. The application's
// backend mints one per call (`rtcgw token`, or mintClientToken from "rtcgw/token") with the
// secret it shares with the signaling (RTCGW_TOKEN_SECRET); the browser sends it as
// `Authorization: Bearer <token>` with its offer; the signaling verifies it and holds the call to
// its claims (client-token-policy.ts). A JWT (RFC 7519) signed HS256 (RFC 7518 §3.2), made and
// checked with `jose`:
//
//   header   {"alg":"HS256","typ":"JWT"}
//   claims   aud "rtcgw"   jti  128 random bits (base64url): the token's one use is recorded under it
//            iat, exp      exp − iat ≤ MAX_CLIENT_TOKEN_TTL_S (900 s)
//            profiles      the profiles the call may use, of "echo" | "bridge"
//            record        whether the call may record (the record profile)
//            recordRate    for "record": the WAV's rate (8000 | 16000 | 24000 | 48000), pinned when
//                          present (a 48 kHz recording is 3× a 16 kHz one's storage)
//            bridge        for "bridge": the exact ws(s):// URL the node will dial, parameters
//                          included — the client cannot choose where the node connects
//            bridgeParams  for "bridge": the bridge_param_<name> parameters the agent gets in its
//                          start message, pinned as the URL is (absent: none may be sent)
//            bridgeProtocol for "bridge": rtcgw | twilio, pinned when present
//
// Verification accepts HS256 only (never "none", never an asymmetric algorithm keyed with the
// secret) and refuses a token that outlives the maximum even if its signature is good.
import * as z from "zod/mini";
import { HttpError } from "./errors.js";

export const CLIENT_TOKEN_AUDIENCE = "rtcgw";
export const DEFAULT_CLIENT_TOKEN_TTL_S = 300;
export const MAX_CLIENT_TOKEN_TTL_S = 900;
export const MIN_CLIENT_TOKEN_SECRET_LENGTH = 32;
/** clock difference tolerated between the minting backend and the signaling */
export const CLOCK_TOLERANCE_S = 30;

/** A profile a token can allow; recording is its own claim (`record`). */
export type TokenProfile = "echo" | "bridge";
export type MintProfile = TokenProfile | "record";
export const RECORD_RATES = [8000, 16000, 24000, 48000] as const;
export type RecordRate = (typeof RECORD_RATES)[number];

export interface ClientTokenClaims {
  jti: string;
  iat: number;
  exp: number;
  profiles: TokenProfile[];
  record: boolean;
  recordRate?: RecordRate;
  bridge?: string;
  bridgeParams?: Record<string, string>;
  bridgeProtocol?: "rtcgw" | "twilio";
}

/** HS256's key: the secret's UTF-8 bytes */
export const secretKey = (secret: string) => new TextEncoder().encode(secret);

/** Three base64url segments: what a JWS compact serialisation looks like (RFC 7515 §7.1). */
export const looksLikeJwt = (t: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(t);

const ClaimsSchema = z.object({
  jti: z.string().check(z.regex(/^[A-Za-z0-9_-]{16,64}$/)),
  iat: z.number().check(z.int()),
  exp: z.number().check(z.int()),
  profiles: z.array(z.enum(["echo", "bridge"])),
  record: z.boolean(),
  recordRate: z.optional(z.union(RECORD_RATES.map((r) => z.literal(r)))),
  bridge: z.optional(z.string().check(z.regex(/^wss?:\/\/\S+$/))),
  bridgeParams: z.optional(z.record(z.string(), z.string())),
  bridgeProtocol: z.optional(z.enum(["rtcgw", "twilio"])),
});

const invalid = (reason: string) =>
  new HttpError(401, "invalid-client-token", reason, {
    "www-authenticate": 'Bearer realm="rtcgw", error="invalid_token"',
  });

/** The token's claims, or a 401 `invalid-client-token` saying what is wrong with it. */
export async function verifyClientToken(
  secret: string,
  token: string,
  nowMs: number,
): Promise<ClientTokenClaims> {
  // loaded on first use, and only the verifying part of jose: a function that never meets a
  // client token neither parses nor evaluates it (cold start, docs/signaling.md)
  const [{ jwtVerify }, { decodeProtectedHeader }, errors] = await Promise.all([
    import("jose/jwt/verify"),
    import("jose/decode/protected_header"),
    import("jose/errors"),
  ]);
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, secretKey(secret), {
      algorithms: ["HS256"],
      audience: CLIENT_TOKEN_AUDIENCE,
      requiredClaims: ["jti", "iat", "exp"],
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(nowMs),
    }));
  } catch (e) {
    if (e instanceof errors.JWTExpired)
      throw invalid("the client token has expired: ask your backend for a new one");
    if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) {
      let alg = "?";
      try {
        alg = String(decodeProtectedHeader(token).alg);
      } catch {}
      throw invalid(
        `the client token must be signed with HS256 (its header says ${JSON.stringify(alg).slice(0, 40)})`,
      );
    }
    if (e instanceof errors.JWSSignatureVerificationFailed)
      throw invalid("the client token's signature is not valid for this gateway (RTCGW_TOKEN_SECRET)");
    if (e instanceof errors.JWTClaimValidationFailed && e.reason !== "missing") {
      const claims = e.payload as Record<string, unknown>;
      if (e.claim === "nbf" && typeof claims.nbf === "number")
        throw invalid(
          `the client token is not valid before ${new Date(claims.nbf * 1000).toISOString()} (its "nbf"); ` +
            "mint it without a future nbf, or check the minting backend's clock",
        );
      if (e.claim === "aud")
        throw invalid(
          `the client token's "aud" claim is ${JSON.stringify(claims.aud).slice(0, 80)}, not "${CLIENT_TOKEN_AUDIENCE}": ` +
            "a token minted for another service (mint it with rtcgw token or mintClientToken)",
        );
    }
    if (e instanceof errors.JWTClaimValidationFailed)
      throw invalid(
        `the client token's "${e.claim}" claim is ${e.reason === "missing" ? "missing" : "not valid here"}`,
      );
    throw invalid("the Bearer token is neither the API token nor a well-formed client token");
  }
  const r = ClaimsSchema.safeParse(payload);
  if (!r.success)
    throw invalid(`the client token's claims are malformed (${String(r.error.issues[0]?.path[0] ?? "?")})`);
  const c = r.data;
  if (c.exp - c.iat > MAX_CLIENT_TOKEN_TTL_S)
    throw invalid(`the client token lives longer than ${MAX_CLIENT_TOKEN_TTL_S} s; mint short-lived tokens`);
  if (c.iat > nowMs / 1000 + CLOCK_TOLERANCE_S) throw invalid("the client token was issued in the future");
  // exactOptionalPropertyTypes: no `bridge: undefined` key
  const { bridge, bridgeParams, bridgeProtocol, ...rest } = c;
  return {
    ...rest,
    ...(bridge !== undefined ? { bridge } : {}),
    ...(bridgeParams !== undefined ? { bridgeParams } : {}),
    ...(bridgeProtocol !== undefined ? { bridgeProtocol } : {}),
  };
}
