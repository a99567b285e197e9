// The bridge URL rules (here, beside the config that reads RTCGW_BRIDGE_ALLOW: every layer may read the config), shared by the three places that judge a bridge URL: the config (the
// operator's RTCGW_BRIDGE_ALLOW entries), the signaling (the client's ?bridge=) and the media node
// (the last word before it dials). The URL is the client's choice, so "allowed" must mean "the
// socket will dial exactly this scheme, host and port": compared on parsed URLs, never as text
// (a text prefix "ws://127.0.0.1:4394" also covers port 43947, and "ws://127.0.0.1:" every port).

/** the default port of each scheme the bridge dials (an entry may spell it or leave it out) */
const DEFAULT_PORT: Record<string, string> = { "ws:": "80", "wss:": "443" };

/** one RTCGW_BRIDGE_ALLOW entry, parsed */
export interface AllowEntry {
  /** "ws:" or "wss:" */
  protocol: string;
  /** lower-case host name or IP literal as WHATWG URL writes it ([::1] for IPv6) */
  hostname: string;
  /** always explicit: the scheme's default when the entry leaves it out */
  port: string;
  /** path prefix, starting with "/" */
  path: string;
}

/**
 * Why `url` cannot be a bridge URL at all (undefined: it can). These are the URLs the node's
 * socket could not dial as written, or would dial somewhere other than what a reader sees.
 */
export function bridgeUrlProblem(url: string): string | undefined {
  if (url.length > 2048) return "the bridge URL is longer than 2048 characters";
  // API gateways join a repeated query parameter with commas: "a,b" is two URLs, or one cut in half
  if (url.includes(","))
    return "the bridge URL contains a comma (or ?bridge= was given twice); percent-encode it as %2C";
  // URL parsers strip or re-encode whitespace, controls and non-ASCII (punycode): the URL checked
  // would not be the one written
  if (/[^!-~]/.test(url))
    return "the bridge URL must be printable ASCII without spaces (percent-encode the rest, punycode the host)";
  // WHATWG URL repairs "ws:/host" and "ws:\\host" into ws://host: ask for what a reader expects
  if (!/^wss?:\/\/[^/\\]/i.test(url)) return "the bridge URL must start with ws:// or wss:// and a host";
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "the bridge URL is not an absolute URL";
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") return "the bridge URL must be ws:// or wss://";
  if (u.username || u.password || authorityOf(url).includes("@"))
    return "the bridge URL must not carry credentials (user:pass@); put a token in the query string";
  // RFC 6455 §3: a WebSocket URI has no fragment, and ws refuses to dial one
  if (url.includes("#")) return "the bridge URL must not have a #fragment (WebSocket URIs have none)";
  if (!u.hostname) return "the bridge URL has no host";
  return undefined;
}

/** the text between "//" and the first "/", "?" or "#" (where userinfo and host are written) */
function authorityOf(url: string): string {
  const start = url.indexOf("//");
  if (start < 0) return "";
  const rest = url.slice(start + 2);
  const end = rest.search(/[/?#]/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Parse an RTCGW_BRIDGE_ALLOW entry; a string is the reason it is refused. */
export function parseAllowEntry(entry: string): AllowEntry | string {
  const problem = bridgeUrlProblem(entry);
  if (problem) return problem.replace("the bridge URL", "the entry");
  const u = new URL(entry);
  // "ws://127.0.0.1:" parses as port 80: the author meant "any port", which is exactly the leak
  if (/^wss?:\/\/[^/?]*:(\/|$)/i.test(entry))
    return "the entry ends its host with ':' but names no port (every entry names one host and one port, or none for the default)";
  if (u.search) return "the entry must not have a query string (it is a scheme, host, port and path prefix)";
  return {
    protocol: u.protocol,
    hostname: u.hostname,
    port: u.port || DEFAULT_PORT[u.protocol]!,
    path: u.pathname,
  };
}

/** does `path` lie under `prefix`? "/agent" covers "/agent" and "/agent/x", not "/agents" */
function underPath(path: string, prefix: string): boolean {
  if (prefix === "/" || path === prefix) return true;
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith("/") || path[prefix.length] === "/";
}

export type BridgeUrlVerdict =
  | { ok: true /** the normalized URL: what the node dials (exactly what was checked) */; url: string }
  | { ok: false; status: 400 | 403; reason: string };

/**
 * The node's check: a dialable URL (400 otherwise) whose scheme, host and port equal an entry's
 * and whose path lies under the entry's path (403 otherwise).
 */
export function checkBridgeUrl(url: string, allow: readonly (AllowEntry | string)[]): BridgeUrlVerdict {
  const problem = bridgeUrlProblem(url);
  if (problem) return { ok: false, status: 400, reason: problem };
  const u = new URL(url);
  const port = u.port || DEFAULT_PORT[u.protocol]!;
  for (const raw of allow) {
    const e = typeof raw === "string" ? parseAllowEntry(raw) : raw;
    if (typeof e === "string") continue; // config refuses these at start; never a match
    if (
      e.protocol === u.protocol &&
      e.hostname === u.hostname &&
      e.port === port &&
      underPath(u.pathname, e.path)
    )
      return { ok: true, url: u.href };
  }
  return {
    ok: false,
    status: 403,
    reason:
      "this media node does not dial that bridge URL (its scheme, host and port must equal an entry of RTCGW_BRIDGE_ALLOW and its path lie under the entry's)",
  };
}
