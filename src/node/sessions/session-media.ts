// What a session does with its audio, seen from the peer: RTP packets go in, RTP packets may come
// out. The pipeline (src/media) implements the profiles; until a profile's assembly exists the
// session still consumes every packet (DESIGN.md rule 2: a black hole from the first packet).

import type { BridgeLegStats } from "../../control/contract.js";
import type { Logger } from "../../log/index.js";
import type { MediaStats } from "../../media/index.js";
import type { BridgeContext } from "../bridge/agent-bridge.js";
import type { SharedTicker } from "../process/ticker.js";
import type { NegotiatedCodec } from "./offer.js";

export type { BridgeLegStats, MediaStats };

/** a session's media figures as the node reports them */
export interface SessionMediaStats extends MediaStats {
  bridge?: BridgeLegStats;
}

export interface SessionMedia {
  /** one whole decrypted RTP packet (RTCP already filtered out) */
  onRtp(packet: Buffer): void;
  stats(): SessionMediaStats;
  /** the caller's datachannel text (a profile without it: the peer echoes the text) */
  onText?(text: string): void;
  /** stop producing and release everything; resolves when files are flushed */
  close(): Promise<{ wav?: string; ogg?: string } | undefined>;
}

export interface MediaContext {
  sessionId: string;
  profile: string;
  codec: NegotiatedCodec;
  /** our SSRC on the outgoing track (undefined when we do not send) */
  ssrc?: number;
  /** send one RTP packet to the client (undefined when we do not send) */
  send?: (rtp: Uint8Array) => void;
  log: Logger;
  ticker: SharedTicker;
  recordingsDir: string;
  recordRate?: number;
  /** the echo's Opus encoder complexity (RTCGW_ECHO_COMPLEXITY) */
  echoComplexity?: number;
  /** bridge profile: the agent's socket (URL already checked against RTCGW_BRIDGE_ALLOW), protocol, rate */
  bridge?: BridgeContext;
}

export const ZERO_STATS: MediaStats = {
  lost: 0,
  late: 0,
  duplicates: 0,
  reordered: 0,
  concealedMs: 0,
  silenceFilledMs: 0,
};

/** Consumes and drops every packet. */
export class BlackHole implements SessionMedia {
  onRtp(_packet: Buffer): void {}
  stats(): MediaStats {
    return { ...ZERO_STATS };
  }
  async close() {
    return undefined;
  }
}

/**
 * RTP-level echo: the client's packets sent straight back under our SSRC and payload type.
 * No decode, no repair: the stand-in for the echo profile until the pipeline's assembly is used,
 * and the cheapest way to prove media flows both ways.
 */
export class RtpReflector implements SessionMedia {
  constructor(private readonly ctx: MediaContext) {}
  onRtp(packet: Buffer): void {
    const { send, ssrc, codec } = this.ctx;
    if (!send || ssrc === undefined || packet.length < 12) return;
    const out = Buffer.from(packet);
    out[1] = (out[1]! & 0x80) | codec.payloadType;
    out.writeUInt32BE(ssrc, 8);
    send(out);
  }
  stats(): MediaStats {
    return { ...ZERO_STATS };
  }
  async close() {
    return undefined;
  }
}
