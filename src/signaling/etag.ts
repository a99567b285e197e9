// Entity tags of the session's ICE state (RFC 9725 §4.3, RFC 9110 §8.8.3). The registry stores
// the bare opaque value; on the wire it is a strong quoted-string.

export const quoteEtag = (raw: string) => `"${raw}"`;

/** RFC 9110 §13.1.1: If-Match is "*" or a list of entity tags; true if it matches `raw`. */
export function ifMatchMatches(ifMatch: string, raw: string): boolean {
  const v = ifMatch.trim();
  if (v === "*") return true;
  return v
    .split(",")
    .map((t) => t.trim())
    .some((t) => t === quoteEtag(raw) || t === raw); // strong comparison; bare tags tolerated
}
