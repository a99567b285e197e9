// RFC 9725 §4.6: the server MAY announce STUN/TURN servers in Link headers,
// `Link: <stun:stun.example.net>; rel="ice-server"`. RTCGW_ICE_SERVERS lists plain URLs; TURN
// credentials (§4.6.2 username/credential attributes) are not configured statically here.

/** One Link value per ICE server, comma-joined into one field as RFC 9110 §5.3 allows. */
export function iceServerLinks(urls: readonly string[]): Record<string, string> {
  if (urls.length === 0) return {};
  return { link: urls.map((u) => `<${u}>; rel="ice-server"`).join(", ") };
}
