// Session ids and per-session secrets, all from the CSPRNG (node:crypto randomBytes).
//
// A session can be read, patched, deleted or listened to (WHEP) only by whoever created it. Two
// credentials prove that, and only one hash is stored (SessionRecord.tokenHash):
//  - the per-session secret: 256 random bits returned once at creation (Rtcgw-Session-Token
//    header); only its SHA-256 is stored;
//  - the Bearer token the creator used: RFC 9725 §4.5 clients reuse the creation token for the
//    session URL. The session id binds it without storing it: id = nonce ‖ HMAC(token, nonce),
//    each 128 bits, so only that exact token re-derives the tag. Sessions created without a
//    token get a random tag (then only the per-session secret works).
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const PART = 16; // bytes = 128 bits
const PART_CHARS = 22; // base64url of 16 bytes, no padding

export interface SessionCredentials {
  id: string;
  /** handed to the creator once; never stored or logged */
  secret: string;
  tokenHash: string;
}

export const sha256hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

const tagFor = (token: string, nonce: Buffer) =>
  createHmac("sha256", token).update(nonce).digest().subarray(0, PART);

export function newSessionCredentials(creatorToken: string | undefined): SessionCredentials {
  const nonce = randomBytes(PART);
  const tag = creatorToken ? tagFor(creatorToken, nonce) : randomBytes(PART);
  const secret = randomBytes(32).toString("base64url");
  return {
    id: nonce.toString("base64url") + tag.toString("base64url"),
    secret,
    tokenHash: sha256hex(secret),
  };
}

/** True if `bearer` is the session's secret or the token that created it. Constant-time compares. */
export function bearerOwnsSession(bearer: string, id: string, tokenHash: string): boolean {
  const a = Buffer.from(sha256hex(bearer), "hex");
  const b = Buffer.from(tokenHash, "hex");
  if (a.length === b.length && timingSafeEqual(a, b)) return true;
  return bearerCreatedId(bearer, id);
}

/** True if `bearer` is the token this id was created with (the id's tag re-derives); no record needed. */
export function bearerCreatedId(bearer: string, id: string): boolean {
  if (id.length !== 2 * PART_CHARS) return false;
  const nonce = Buffer.from(id.slice(0, PART_CHARS), "base64url");
  const tag = Buffer.from(id.slice(PART_CHARS), "base64url");
  if (nonce.length !== PART || tag.length !== PART) return false;
  return timingSafeEqual(tagFor(bearer, nonce), tag);
}
