// Who may create a session, and what a client token lets that creation do.
//
// Creation is open only when neither RTCGW_API_TOKEN nor RTCGW_TOKEN_SECRET is set (`rtcgw dev`).
// Otherwise the Bearer must be the API token (a trusted backend: anything goes) or a client token
// minted with RTCGW_TOKEN_SECRET (client-token.ts), whose claims bind the call: its profile, its
// recording, the application URL a bridge dials. A client token creates one session: its `jti` is
// claimed in the registry (atomic in every store) until the token expires; a second offer with it
// is refused. The claim is given back only when no node took the session (all tried nodes
// refused or failed), so a client may retry after a 503/504 with the same token; a 201 spends it.
import { timingSafeEqual } from "node:crypto";
import type { Config } from "../config/index.js";
import { checkApiToken } from "./auth.js";
import {
  CLOCK_TOLERANCE_S,
  type ClientTokenClaims,
  looksLikeJwt,
  verifyClientToken,
} from "./client-token.js";
import { sha256hex } from "./credentials.js";
import type { SignalingDeps } from "./deps.js";
import { HttpError, unauthorized } from "./errors.js";
import type { ProfileChoice } from "./profile.js";

export type CreationGrant =
  | { by: "open" }
  | { by: "api-token" }
  | { by: "client-token"; claims: ClientTokenClaims };

type AuthConfig = Pick<Config, "RTCGW_API_TOKEN" | "RTCGW_TOKEN_SECRET">;

export async function authorizeCreation(
  config: AuthConfig,
  bearer: string | undefined,
  nowMs: number,
): Promise<CreationGrant> {
  const api = config.RTCGW_API_TOKEN;
  const secret = config.RTCGW_TOKEN_SECRET;
  if (!secret) {
    checkApiToken(api, bearer);
    return api ? { by: "api-token" } : { by: "open" };
  }
  if (!bearer)
    throw unauthorized("this gateway requires Authorization: Bearer <a client token from your backend>");
  if (api && sameToken(bearer, api)) return { by: "api-token" };
  if (!looksLikeJwt(bearer))
    throw unauthorized("the Bearer token is neither the API token nor a client token");
  return { by: "client-token", claims: await verifyClientToken(secret, bearer, nowMs) };
}

const forbidden = (code: string, reason: string) => new HttpError(403, code, reason);

/** The request's profile choice against the token's claims (403 with the reason otherwise). */
export function enforceClientToken(claims: ClientTokenClaims, choice: ProfileChoice): void {
  if (choice.profile === "record") {
    if (!claims.record) throw forbidden("record-not-allowed", "this client token does not allow recording");
    if (claims.recordRate !== undefined && choice.recordRate !== claims.recordRate)
      throw forbidden(
        "record-rate-mismatch",
        `this client token records at ${claims.recordRate} Hz, not ${choice.recordRate} (leave ?rate= out to use it)`,
      );
    return;
  }
  if (!(claims.profiles as string[]).includes(choice.profile)) {
    const allowed = [...claims.profiles, ...(claims.record ? ["record"] : [])].join(", ");
    throw forbidden(
      "profile-not-allowed",
      `this client token allows the profile${claims.profiles.length + (claims.record ? 1 : 0) === 1 ? "" : "s"} ${allowed}, not ${choice.profile}`,
    );
  }
  if (choice.profile === "bridge") {
    if (!claims.bridge)
      throw forbidden("bridge-url-not-in-token", "this client token names no application URL for the bridge");
    if (!choice.bridgeUrl || !sameUrl(choice.bridgeUrl, claims.bridge))
      throw forbidden(
        "bridge-url-mismatch",
        "the bridge URL must be the one in the client token (leave ?bridge= out to use it)",
      );
    // the start parameters are pinned as the URL is: the agent trusts what its start message says
    const differs = paramsDiffer(choice.bridgeParams ?? {}, claims.bridgeParams ?? {});
    if (differs)
      throw forbidden(
        "bridge-params-mismatch",
        claims.bridgeParams
          ? `the bridge parameters must be the client token's (${differs}); leave ?bridge_param_… out to use them`
          : `this client token allows no bridge parameters (${differs})`,
      );
    if (claims.bridgeProtocol && (choice.bridgeProtocol ?? "rtcgw") !== claims.bridgeProtocol)
      throw forbidden(
        "bridge-protocol-mismatch",
        `this client token's agent speaks ${claims.bridgeProtocol}, not ${choice.bridgeProtocol ?? "rtcgw"} (leave ?bridge_protocol= out)`,
      );
    // a recording of the call (record=1) is recording: the token's record claim allows it
    if (choice.bridgeRecord && !claims.record)
      throw forbidden("record-not-allowed", "this client token does not allow recording (record=1)");
  }
}

/** the first parameter that is not the same in both, said for the 403; undefined if equal */
function paramsDiffer(asked: Record<string, string>, pinned: Record<string, string>): string | undefined {
  for (const [k, v] of Object.entries(asked)) {
    if (!(k in pinned)) return `bridge_param_${k} is not in the token`;
    if (pinned[k] !== v) return `bridge_param_${k} differs`;
  }
  for (const k of Object.keys(pinned)) if (!(k in asked)) return `bridge_param_${k} is missing`;
  return undefined;
}

export interface SpentToken {
  /** gives the token back (no session came of it); never throws */
  giveBack(): Promise<void>;
}

/** Claims the token's one use (403 `client-token-used` if it already created a session). */
export async function spendClientToken(deps: SignalingDeps, claims: ClientTokenClaims): Promise<SpentToken> {
  const key = `jti:${claims.jti}`;
  // kept as long as the token could still verify (its expiry plus the clock tolerance)
  const ttlMs = Math.max(1_000, (claims.exp + CLOCK_TOLERANCE_S) * 1000 - deps.now());
  if (!(await deps.registry.claimOnce(key, ttlMs)))
    throw forbidden(
      "client-token-used",
      "this client token has already been used to create a session; ask your backend for a new one",
    );
  return {
    async giveBack() {
      try {
        await deps.registry.releaseClaim(key);
      } catch (e) {
        deps.logger.warn({ err: (e as Error).message }, "could not give back a client token's claim");
      }
    },
  };
}

function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(sha256hex(a), "hex"), Buffer.from(sha256hex(b), "hex"));
}

/** Equal as URLs (scheme and host case, default port), not only as strings. */
function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}
