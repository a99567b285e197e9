// Short-lived TURN credentials from a secret shared with the TURN server — the "TURN REST API"
// convention (draft-uberti-behave-turn-rest-00 §2.2), which coturn implements as
// `use-auth-secret` + `static-auth-secret`:
//   username   = "<expiry, unix seconds>:<id>"
//   credential = base64(HMAC-SHA1(secret, username))
// The TURN server recomputes the credential from the username and refuses it once the expiry has
// passed, so nothing is stored on either side and a leaked credential dies by itself.
import { createHmac } from "node:crypto";

export interface TurnCredential {
  username: string;
  credential: string;
  /** unix seconds after which the TURN server refuses it */
  expiresAt: number;
}

/** `id` names whose credential it is in the TURN server's log (the session id). */
export function turnCredential(secret: string, id: string, ttlS: number, nowMs: number): TurnCredential {
  const expiresAt = Math.floor(nowMs / 1000) + ttlS;
  const username = `${expiresAt}:${id}`;
  const credential = createHmac("sha1", secret).update(username).digest("base64");
  return { username, credential, expiresAt };
}
