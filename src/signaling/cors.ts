// CORS for browser clients (WHIP §4.6 notes browsers need it): every response is readable from
// any origin. No cookies are used — Bearer tokens are sent explicitly — so "*" is safe.

/** Response headers a browser script must be able to read (Fetch standard: CORS-safelisted only by default). */
const EXPOSED = [
  "location",
  "etag",
  "link",
  "accept-post",
  "accept-patch",
  "retry-after",
  "www-authenticate",
  "rtcgw-session-token",
];

export function corsHeaders(): Record<string, string> {
  return {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": EXPOSED.join(", "),
  };
}

/** Preflight answer for a resource that allows `methods`. */
export function preflightHeaders(methods: string[]): Record<string, string> {
  return {
    ...corsHeaders(),
    "access-control-allow-methods": [...methods, "OPTIONS"].join(", "),
    "access-control-allow-headers": "authorization, content-type, if-match, if-none-match",
    "access-control-max-age": "86400",
  };
}
