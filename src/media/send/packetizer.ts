// RTP packetizer for one outgoing stream (RFC 3550 §5.1): random initial sequence number and
// timestamp (§5.1: "SHOULD be random"), the SSRC from the SDP, the negotiated payload type, the
// timestamp advancing by each frame's duration in clock-rate ticks — also across frames not sent
// (DTX) — and the marker bit on the first packet of each talkspurt (RFC 3551 §4.1).
import { randomInt } from "node:crypto";
import { buildRtp } from "../rtp/packet.js";

export interface PacketizerOptions {
  payloadType: number;
  ssrc: number;
  /** RTP clock rate (48000 for Opus, 8000 for G.711) */
  clockRate: number;
  initialSequence?: number;
  initialTimestamp?: number;
}

export interface PacketizerStats {
  packets: number;
  bytes: number;
  /** frames skipped (DTX / nothing to send): timestamp advanced, nothing sent */
  skipped: number;
  talkspurts: number;
  sequence: number;
  timestamp: number;
}

export class RtpPacketizer {
  readonly payloadType: number;
  readonly ssrc: number;
  readonly clockRate: number;
  #seq: number;
  #ts: number;
  #talkspurt = true; // the first packet starts a talkspurt
  #packets = 0;
  #bytes = 0;
  #skipped = 0;
  #talkspurts = 0;

  constructor(o: PacketizerOptions) {
    this.payloadType = o.payloadType;
    this.ssrc = o.ssrc >>> 0;
    this.clockRate = o.clockRate;
    this.#seq = (o.initialSequence ?? randomInt(0, 0x10000)) & 0xffff;
    this.#ts = (o.initialTimestamp ?? randomInt(0, 0xffff_ffff)) >>> 0;
  }

  /** one RTP packet carrying `payload`, which covers `samples` ticks of the clock rate */
  packetize(payload: Uint8Array, samples: number): Uint8Array {
    const marker = this.#talkspurt;
    if (marker) this.#talkspurts++;
    this.#talkspurt = false;
    const packet = buildRtp({
      payloadType: this.payloadType,
      sequenceNumber: this.#seq,
      timestamp: this.#ts,
      ssrc: this.ssrc,
      marker,
      payload,
    });
    this.#seq = (this.#seq + 1) & 0xffff; // 16-bit wrap
    this.#ts = (this.#ts + samples) >>> 0; // 32-bit wrap
    this.#packets++;
    this.#bytes += packet.length;
    return packet;
  }

  /** a frame's worth of time passes with nothing sent; the next packet starts a talkspurt */
  skip(samples: number): void {
    this.#ts = (this.#ts + samples) >>> 0;
    this.#talkspurt = true;
    this.#skipped++;
  }

  stats(): PacketizerStats {
    return {
      packets: this.#packets,
      bytes: this.#bytes,
      skipped: this.#skipped,
      talkspurts: this.#talkspurts,
      sequence: this.#seq,
      timestamp: this.#ts,
    };
  }
}
