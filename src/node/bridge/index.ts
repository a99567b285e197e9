// The bridge protocols by name: `?bridge_protocol=` picks one per session. A third protocol is a
// file implementing BridgeProtocol (protocol.ts) and a line here.
import type { BridgeProtocol, BridgeProtocolName, ProtocolOptions } from "./protocol.js";
import { RtcgwProtocol } from "./rtcgw.js";
import { TwilioProtocol } from "./twilio.js";

export const PROTOCOLS: Record<BridgeProtocolName, (o: ProtocolOptions) => BridgeProtocol> = {
  rtcgw: (o) => new RtcgwProtocol(o),
  twilio: () => new TwilioProtocol(), // 8 kHz μ-law whatever the session asked
};

export function createProtocol(name: BridgeProtocolName, o: ProtocolOptions): BridgeProtocol {
  return PROTOCOLS[name](o);
}

export type { AgentCommand, BridgeProtocol, BridgeProtocolName, CallInfo, NodeEvent } from "./protocol.js";
