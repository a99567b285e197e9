// node-datachannel peer configuration from the node's Config: one muxed UDP port for every
// peer (libjuice ICE UDP mux), the bind address, and the configured STUN/TURN servers.
import type { RtcConfig } from "node-datachannel";
import type { Config } from "../../config/index.js";

export function rtcConfigFor(config: Config, udpPort: number): RtcConfig {
  return {
    // libdatachannel parses "stun:host:port" and "turn:user:pass@host:port?transport=…" itself
    iceServers: [...config.RTCGW_ICE_SERVERS],
    bindAddress: config.MEDIA_BIND_ADDRESS,
    enableIceUdpMux: true,
    portRangeBegin: udpPort,
    portRangeEnd: udpPort,
    // we add our own track before answering (docs/design.md rule 1), so negotiation is ours to drive
    disableAutoNegotiation: true,
  };
}
