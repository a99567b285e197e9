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
