// node-datachannel peer configuration from the node's Config: one muxed UDP port for every
// peer (libjuice ICE UDP mux), the bind address, and the configured STUN/TURN servers.
import type { RtcConfig } from "node-datachannel";
import type { Config } from "../config/index.js";

/** "stun:host:port" / "turn:user:pass@host:port?transport=tcp" → libdatachannel's URL form. */
export function toLibdatachannelIceServer(url: string): string {
  // libdatachannel parses "stun:host:port" and "turn:user:pass@host:port" itself; the
  // RFC 7065 "?transport=" query becomes its own "?transport=" — pass through unchanged.
  return url;
}

export function rtcConfigFor(config: Config, udpPort: number): RtcConfig {
  return {
    iceServers: config.RTCGW_ICE_SERVERS.map(toLibdatachannelIceServer),
    bindAddress: config.MEDIA_BIND_ADDRESS,
    enableIceUdpMux: true,
    portRangeBegin: udpPort,
    portRangeEnd: udpPort,
    // we add our own track before answering (DESIGN.md rule 1), so negotiation is ours to drive
    disableAutoNegotiation: true,
  };
}
