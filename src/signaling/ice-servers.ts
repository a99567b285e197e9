// RFC 9725 §4.6: the server MAY announce STUN/TURN servers in Link headers,
//   Link: <stun:stun.example.net>; rel="ice-server"
//   Link: <turn:turn.example.net?transport=udp>; rel="ice-server"; username="…";
//         credential="…"; credential-type="password"
// RTCGW_ICE_SERVERS lists plain URLs as they are. TURN URLs get a credential minted for this session
// from RTCGW_TURN_SECRET (turn-credentials.ts), valid RTCGW_TURN_TTL seconds: the TURN server of
// the node that took the session (its registry record's turnUrls — in the cloud each media node
// runs coturn at its own public address, sharing the one secret), then any static RTCGW_TURN_URLS.
// The media node never uses the TURN servers: a relayed client sends to the node's host candidate
// through its relay, and the node answers the relay's address as any peer's.
import type { Config } from "../config/index.js";
import type { NodeRecord } from "../registry/types.js";
import { turnCredential } from "./turn-credentials.js";

type IceConfig = Pick<
  Config,
  "RTCGW_ICE_SERVERS" | "RTCGW_TURN_URLS" | "RTCGW_TURN_SECRET" | "RTCGW_TURN_TTL"
>;

/** One Link value per ICE server, comma-joined into one field as RFC 9110 §5.3 allows. */
export function iceServerLinks(
  config: IceConfig,
  node: Pick<NodeRecord, "turnUrls"> | undefined,
  sessionId: string,
  nowMs: number,
): Record<string, string> {
  const links = config.RTCGW_ICE_SERVERS.map((u) => `<${u}>; rel="ice-server"`);
  const turnUrls = [...new Set([...(node?.turnUrls ?? []), ...config.RTCGW_TURN_URLS])];
  // a node announcing TURN while the signaling has no secret for it: nothing to hand out (a TURN
  // URL without a credential is useless to a client); the deployment gives both or neither
  if (config.RTCGW_TURN_SECRET && turnUrls.length > 0) {
    const c = turnCredential(config.RTCGW_TURN_SECRET, sessionId, config.RTCGW_TURN_TTL, nowMs);
    // quoted-strings (RFC 8288 §3): the username is digits, ":" and base64url; the credential base64
    for (const u of turnUrls)
      links.push(
        `<${u}>; rel="ice-server"; username="${c.username}"; credential="${c.credential}"; credential-type="password"`,
      );
  }
  return links.length === 0 ? {} : { link: links.join(", ") };
}
