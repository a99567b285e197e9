// Bearer authentication (RFC 6750). RTCGW_API_TOKEN, when set, guards session creation; each
// session is then guarded by its own credentials (see credentials.ts).
import { timingSafeEqual } from "node:crypto";
import type { SessionRecord } from "../registry/types.js";
import { bearerOwnsSession, sha256hex } from "./credentials.js";
import { forbidden, unauthorized } from "./errors.js";

/** Creation: the API token when one is configured; anyone otherwise. */
export function checkApiToken(apiToken: string | undefined, bearer: string | undefined): void {
  if (!apiToken) return;
  if (!bearer) throw unauthorized("this gateway requires Authorization: Bearer <API token>");
  const a = Buffer.from(sha256hex(bearer), "hex");
  const b = Buffer.from(sha256hex(apiToken), "hex");
  if (!timingSafeEqual(a, b)) throw unauthorized("the Bearer token is not valid for this gateway");
}

/** Access to an existing session: its secret or the token that created it. */
export function checkSessionAccess(
  record: Pick<SessionRecord, "id" | "tokenHash">,
  bearer: string | undefined,
): void {
  if (!bearer)
    throw unauthorized(
      "this session requires Authorization: Bearer <the token that created it, or its Rtcgw-Session-Token>",
    );
  if (!bearerOwnsSession(bearer, record.id, record.tokenHash))
    throw forbidden("this Bearer token does not own the session");
}
