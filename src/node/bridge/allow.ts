// The bridge URL is the client's choice: the node dials only what the operator allowed
// (RTCGW_BRIDGE_ALLOW), an SSRF guard checked before any session exists.

/**
 * Is `url` one the node may dial? The client chose it, so only URLs under an operator's prefix
 * (RTCGW_BRIDGE_ALLOW) pass. Compared on the parsed, normalized URL (lower-case host, default
 * port dropped), and never with credentials: "ws://127.0.0.1:80@evil.net/" starts with
 * "ws://127.0.0.1:" as text but dials evil.net.
 */
export function bridgeUrlAllowed(url: string, allow: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") return false;
  if (u.username || u.password) return false;
  return allow.some((prefix) => u.href.startsWith(prefix) || u.href.startsWith(prefix.toLowerCase()));
}
