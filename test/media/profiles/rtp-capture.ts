// What a profile sends, captured as parsed RTP: the `send` to hand the profile, and the packets it
// sent (a packet that does not parse fails the test on the spot).
import { parseRtp } from "../../../src/media/rtp/packet.js";

export interface Sent {
  seq: number;
  ts: number;
  marker: boolean;
  ssrc: number;
  pt: number;
  payload: Uint8Array;
}

export function capture(): { sent: Sent[]; send: (p: Uint8Array) => void } {
  const sent: Sent[] = [];
  return {
    sent,
    send: (p) => {
      const r = parseRtp(p);
      if (!r.ok) throw new Error(`the profile sent an unparseable packet: ${r.error.code}`);
      const k = r.packet;
      sent.push({
        seq: k.sequenceNumber,
        ts: k.timestamp,
        marker: k.marker,
        ssrc: k.ssrc,
        pt: k.payloadType,
        payload: Uint8Array.from(k.payload),
      });
    },
  };
}
