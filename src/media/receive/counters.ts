// What the receiver saw and did, for metrics and tests. All cumulative since construction.

export interface ReceiverCounters {
  /** RTP packets accepted for the active codec and SSRC */
  packets: number;
  /** sequence numbers never played: lost in the network or discarded as late */
  lost: number;
  /** arrived after their slot had been emitted (or behind a timestamp jump), or found their place
   *  taken by another packet (a repeated timestamp, a re-anchor onto what was still buffered),
   *  and were dropped */
  late: number;
  /** same sequence number seen twice: the copy was dropped */
  duplicate: number;
  /** arrived with a lower sequence number than one already seen (absorbed if not late) */
  reordered: number;
  /** ms synthesised by Opus PLC or in-band FEC (short losses, ≤ maxConcealMs per gap) */
  concealedMs: number;
  /** of concealedMs, ms rebuilt from in-band FEC attempts (libopus PLCs itself when no LBRR) */
  fecMs: number;
  /** ms of silence written for long gaps (beyond concealment) and before the first packet */
  silenceMs: number;
  /** ms of comfort silence during the sender's DTX pauses (not loss) */
  dtxMs: number;
  /** times the timeline was re-anchored to the wall clock after a timestamp jump */
  reanchors: number;
  /** SSRC changes followed (decoder reset) */
  ssrcChanges: number;
  /** packets from an SSRC we already switched away from, ignored: all but the previous source's
   *  stragglers that have a place on the timeline (those count as packets, late or played) */
  staleSsrc: number;
  /** RTCP packets seen on the muxed stream (RFC 5761), ignored here */
  rtcp: number;
  /** bytes that are not RTP (parse error) */
  invalid: number;
  /** RTP with a payload type other than the negotiated codec (e.g. telephone-event) */
  otherPayloadType: number;
  /** packets refused because the jitter buffer was full (a flood far ahead of the playhead) */
  overflow: number;
  /** payloads the decoder rejected (concealed instead) */
  decodeErrors: number;
  /** frames emitted (at the end of the call: up to the end of the last packet) */
  frames: number;
  /** ms filled after the last packet and cut at the end of the call: concealment of packets
   *  that never came and silence that no audio followed are not part of the call */
  trailingMs: number;
  /** ms of silence from the track's start (startMs) to the first packet, cut the same way */
  leadingMs: number;
}

export function emptyCounters(): ReceiverCounters {
  return {
    packets: 0,
    lost: 0,
    late: 0,
    duplicate: 0,
    reordered: 0,
    concealedMs: 0,
    fecMs: 0,
    silenceMs: 0,
    dtxMs: 0,
    reanchors: 0,
    ssrcChanges: 0,
    staleSsrc: 0,
    rtcp: 0,
    invalid: 0,
    otherPayloadType: 0,
    overflow: 0,
    decodeErrors: 0,
    frames: 0,
    trailingMs: 0,
    leadingMs: 0,
  };
}
