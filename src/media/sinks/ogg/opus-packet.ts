// The Ogg writer's stand-in for a missing stretch of the timeline. Packet durations come from the
// codec's TOC reader (src/audio/codecs/opus-toc.ts, RFC 6716 §3.1).
import { opusPacketSamples } from "../../../audio/codecs/opus-toc.js";

/** samples per channel at 48 kHz of one frame of this TOC configuration (RFC 6716 Table 2) */
function frameSamples(config: number): number {
  return opusPacketSamples(Uint8Array.of(config << 3)) ?? 0;
}

/** the frame sizes a lost frame can stand for (48 kHz samples): CELT's 20, 10, 5 and 2.5 ms */
export const LOST_FRAME_SAMPLES = [960, 480, 240, 120] as const;

/**
 * A 1-byte packet standing for one lost frame of `samples` (960, 480, 240 or 120 at 48 kHz): a
 * TOC with frame-count code 0 and no frame data. RFC 6716 §3.2.1: a zero-length frame is a
 * lost/DTX frame and the decoder conceals it; RFC 7845 §4: this is how a muxer keeps granule
 * positions true across a gap. The TOC repeats the last real packet's mode/bandwidth/stereo bits
 * when its frames have that duration, else it is CELT fullband of that duration (configurations
 * 28–31, the only mode with all four).
 */
export function lostFramePacket(lastToc: number | undefined, channels: 1 | 2, samples = 960): Uint8Array {
  if (lastToc !== undefined && frameSamples(lastToc >> 3) === samples) return Uint8Array.of(lastToc & 0xfc);
  const config = 28 + LOST_FRAME_SAMPLES.length - 1 - LOST_FRAME_SAMPLES.indexOf(samples as 960);
  return Uint8Array.of((config << 3) | (channels === 2 ? 0x04 : 0));
}
