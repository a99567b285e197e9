// The unit that flows through the pipeline: a block of PCM on a contiguous timeline.

export interface AudioFrame {
  /** presentation time of the first sample, in samples at `rate` since the track's start.
   *  Downstream of timestamp repair, frame n+1's pts === frame n's pts + frame n's sample count. */
  pts: number;
  /** samples per second per channel: 8000 | 16000 | 24000 | 32000 | 44100 | 48000 */
  rate: number;
  channels: 1 | 2;
  /** interleaved signed 16-bit PCM; length === samplesPerChannel * channels */
  samples: Int16Array;
  /**
   * true when no received packet contributed to this frame: concealment, silence or DTX filling
   * a gap. A gap is only part of the call when audio follows it, so a recorder holds filler
   * frames until the next real one and drops them at the end (see SpanGate, docs/timeline.md).
   */
  filler?: boolean;
  /**
   * samples per channel at the end of a frame with audio that no packet contributed to: the last
   * packet ends mid-frame (a 10 ms packet without its slot-mate). Like a filler frame, that tail
   * is part of the call only when audio follows it; a recorder cuts it off at the end (SpanGate),
   * so a recording ends where the last packet's audio ends. Absent = the audio reaches the end.
   */
  fillerTail?: number;
  /** how late (ms past its due time) the receive timeline emitted this frame, when it was late:
   *  after an event-loop stall the timeline catches up, and real-time senders skip frames later
   *  than STALE_FRAME_MS (src/media/profiles/inbound.ts). Absent = on time. */
  lateMs?: number;
}

export function samplesPerChannel(f: AudioFrame): number {
  return f.samples.length / f.channels;
}

export function frameDurationMs(f: AudioFrame): number {
  return (samplesPerChannel(f) * 1000) / f.rate;
}
